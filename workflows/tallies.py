"""Running tallies of the figures, kept in step with the cases by every flush.

A summary of a year would otherwise read every case of the year. Instead each case adds its
class's counters (workflows/counting.py) to a few tally rows: per local day and per local
month of its submission, once under its agency, once under its category, once under its
area, and, once handled, once under its working minutes to resolve (the histogram of the
percentiles). The figures of whole days and months are then sums over a few thousand rows.

How the tallies stay exact:

* Every flush (reports_app/tallying.py installs the hooks) first sets `cases.figure_class`
  of the cases it writes (`classify_pending`), then, once written, compares how each
  inserted, changed or deleted case counted before (SQLAlchemy's attribute history) with how
  it counts now and inserts the difference as `case_tally_deltas` rows (`record_changes`):
  same transaction as the action, so a rollback takes the deltas with it.
* Deltas are only ever inserted, so concurrent actions never wait on a hot tally row.
  `compact_tallies` (a job, every minute) folds them into `case_tallies`, atomically and
  safely alongside other compactors; readers always add both tables, so the figures are
  exact whether or not the job has run.
* `rebuild_tallies` recomputes everything from the cases (after a bulk load, or a change of
  TIMEZONE: days and months are the province's, fixed when a delta is written).

Cases changed by bulk SQL that bypasses the ORM are not seen; nothing in the app does that.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.models import Case, CaseTally, CaseTallyDelta
from reports_app.models.tallies import ALL_ZERO
from workflows.counting import (
    CLASS_COUNTERS,
    HANDLED_CLASSES,
    TALLIED,
    class_of_case,
    classes_counting,
)
from workflows.jobs import JobContext

log = logging.getLogger(__name__)

DAY, MONTH = "day", "month"
BREAKDOWN_DIMENSIONS = ("agency", "category", "area")
MINUTES = "minutes"
NO_KEY = 0
"""The key of "no agency" and "no area" (ids start at 1)."""

COMPACT_BATCH = 50_000
"""Deltas folded per statement; a run repeats until none are left."""

TRACKED = ("submitted_at", "agency_id", "category_id", "area_id", "figure_class",
           "resolve_working_minutes")
"""The case columns a tally contribution is made of (reports_app/models/cases.py keeps
their previous values on change: `active_history`)."""

_HANDLED_ONLY = tuple(1 if name == "handled" else 0 for name in TALLIED)

TallyKey = tuple[str, date, str, int]


@dataclass(frozen=True)
class Standing:
    """How one case counts: where (submission, agency, category, area) and what (its class)."""

    submitted_at: datetime
    agency_id: int | None
    category_id: int
    area_id: int | None
    figure_class: str
    minutes: int | None

    def contributions(self, zone: ZoneInfo) -> Iterator[tuple[TallyKey, tuple[int, ...]]]:
        """The tally rows this case adds to, and the counters it adds to each."""
        local = self.submitted_at.astimezone(zone).date()
        counters = CLASS_COUNTERS[self.figure_class]
        vector = tuple(counters[name] for name in TALLIED)
        keys = (("agency", self.agency_id or NO_KEY), ("category", self.category_id),
                ("area", self.area_id or NO_KEY))
        for grain, period in ((DAY, local), (MONTH, local.replace(day=1))):
            for dimension, key in keys:
                yield (grain, period, dimension, key), vector
            if self.figure_class in HANDLED_CLASSES and self.minutes is not None:
                yield (grain, period, MINUTES, self.minutes), _HANDLED_ONLY


def _standing(values: Mapping[str, Any]) -> Standing | None:
    if values["submitted_at"] is None or values["figure_class"] is None:
        return None
    return Standing(values["submitted_at"], values["agency_id"], values["category_id"],
                    values["area_id"], values["figure_class"], values["resolve_working_minutes"])


def _current(case: Case) -> Standing | None:
    return _standing({name: getattr(case, name) for name in TRACKED})


def _previous(case: Case) -> Standing | None:
    """How the case counted at the last flush (before this transaction's pending changes)."""
    state = sa.inspect(case)
    values = {}
    for name in TRACKED:
        history = state.attrs[name].history
        values[name] = history.deleted[0] if history.deleted else getattr(case, name)
    return _standing(values)


class Deltas:
    """Counter differences per tally row, added up before anything is written."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.rows: dict[TallyKey, list[int]] = {}

    def add(self, standing: Standing | None, sign: int) -> None:
        """Count a case in (+1) or out (-1)."""
        if standing is None:
            return
        for key, vector in standing.contributions(self.zone):
            row = self.rows.setdefault(key, [0] * len(TALLIED))
            for i, value in enumerate(vector):
                row[i] += sign * value

    def nonzero(self) -> Iterator[dict[str, Any]]:
        """The rows to write: every key whose counters did not cancel out."""
        for (grain, period, dimension, key), counters in self.rows.items():
            if any(counters):
                yield {"grain": grain, "period": period, "dimension": dimension,
                       "key_id": key, **dict(zip(TALLIED, counters, strict=True))}


def classify_pending(session: Session) -> None:
    """Before a flush: set the figure class of every new or changed case from its columns."""
    for case in (*session.new, *session.dirty):
        if isinstance(case, Case):
            new_class = class_of_case(case)
            if case.figure_class != new_class:
                case.figure_class = new_class


def record_changes(session: Session, zone: ZoneInfo) -> int:
    """After a flush: write the tally deltas of the cases it wrote; returns rows written.

    After the flush the foreign keys and column defaults hold their written values, while
    the attribute history still holds the previous ones, whichever way they were set.
    """
    deltas = Deltas(zone)
    for case in session.new:
        if isinstance(case, Case):
            deltas.add(_current(case), +1)
    for case in session.dirty:
        if isinstance(case, Case):
            before, after = _previous(case), _current(case)
            if before != after:
                deltas.add(before, -1)
                deltas.add(after, +1)
    for case in session.deleted:
        if isinstance(case, Case):
            deltas.add(_previous(case), -1)
    rows = list(deltas.nonzero())
    if rows:
        session.connection().execute(sa.insert(CaseTallyDelta.__table__), rows)
    return len(rows)


# --------------------------------------------------------------------------- folding


_COUNTER_COLUMNS = ", ".join(TALLIED)
_KEY_COLUMNS = "grain, period, dimension, key_id"
_SUMS = ", ".join(f"sum({name})" for name in TALLIED)
_ADD = ", ".join(f"{name} = case_tallies.{name} + excluded.{name}" for name in TALLIED)

# One statement on PostgreSQL: the deltas it deletes are exactly the ones it adds, whatever
# other sessions commit meanwhile, and two compactors never fold the same delta.
_FOLD_POSTGRESQL = sa.text(f"""
WITH moved AS (
    DELETE FROM case_tally_deltas
    WHERE id IN (SELECT id FROM case_tally_deltas ORDER BY id LIMIT :batch)
    RETURNING {_KEY_COLUMNS}, {_COUNTER_COLUMNS}
), folded AS (
    INSERT INTO case_tallies ({_KEY_COLUMNS}, {_COUNTER_COLUMNS})
    SELECT {_KEY_COLUMNS}, {_SUMS} FROM moved
    GROUP BY {_KEY_COLUMNS} ORDER BY {_KEY_COLUMNS}
    ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET {_ADD}
)
SELECT count(*) FROM moved
""")  # noqa: S608 - built from our own column names only

# SQLite has one writer at a time, so two statements in one transaction see the same rows.
_FOLD_SQLITE = (
    sa.text(f"""
INSERT INTO case_tallies ({_KEY_COLUMNS}, {_COUNTER_COLUMNS})
SELECT {_KEY_COLUMNS}, {_SUMS} FROM case_tally_deltas WHERE id <= :last
GROUP BY {_KEY_COLUMNS}
ON CONFLICT ({_KEY_COLUMNS}) DO UPDATE SET {_ADD}
"""),  # noqa: S608 - built from our own column names only
    sa.text("DELETE FROM case_tally_deltas WHERE id <= :last"),
)

_DROP_EMPTY = sa.text(f"DELETE FROM case_tallies WHERE {ALL_ZERO}")  # noqa: S608


def fold_deltas(session: Session, batch: int = COMPACT_BATCH) -> int:
    """Fold up to `batch` of the oldest deltas into the tallies; returns how many."""
    if session.get_bind().dialect.name == "postgresql":
        return int(session.execute(_FOLD_POSTGRESQL, {"batch": batch}).scalar_one())
    last = session.scalar(sa.select(CaseTallyDelta.id).order_by(CaseTallyDelta.id)
                          .offset(batch - 1).limit(1))
    if last is None:
        last = session.scalar(sa.select(sa.func.max(CaseTallyDelta.id)))
    if last is None:
        return 0
    count = session.scalar(sa.select(sa.func.count()).where(CaseTallyDelta.id <= last))
    insert, delete = _FOLD_SQLITE
    session.execute(insert, {"last": last})
    session.execute(delete, {"last": last})
    return int(count or 0)


def compact_tallies(session: Session, ctx: JobContext | None = None, *,
                    batch: int = COMPACT_BATCH) -> int:
    """The job: fold every delta into the tallies, then drop rows that came to nothing."""
    folded = 0
    while True:
        n = fold_deltas(session, batch)
        folded += n
        if n < batch:
            break
    if folded:
        session.execute(_DROP_EMPTY)
    log.info("tallies: %s deltas folded", folded)
    return folded


def rebuild_tallies(db: Session | sa.Connection, zone: ZoneInfo, *, batch: int = 20_000) -> int:
    """Recompute every tally from the cases; returns the number of tally rows.

    PostgreSQL groups the cases itself, by the province's days and months (`timezone()`);
    elsewhere the cases are read in id order a batch at a time and added up with the same
    `Standing` the flush hook uses. Either way the counters come from the stored classes.
    """
    db.execute(sa.delete(CaseTallyDelta.__table__))
    db.execute(sa.delete(CaseTally.__table__))
    bind = db.get_bind() if hasattr(db, "get_bind") else db
    if bind.dialect.name == "postgresql":
        db.execute(sa.insert(CaseTally.__table__).from_select(
            ["grain", "period", "dimension", "key_id", *TALLIED], _grouped_in_sql(zone.key)))
        rows = db.execute(sa.select(sa.func.count()).select_from(CaseTally.__table__)).scalar()
        log.info("tallies rebuilt in SQL: %s rows", rows)
        return int(rows or 0)
    cases = Case.__table__
    deltas = Deltas(zone)
    last_id = 0
    while True:
        found = db.execute(sa.select(cases.c.id, *(cases.c[name] for name in TRACKED))
                           .where(cases.c.id > last_id).order_by(cases.c.id).limit(batch)).all()
        if not found:
            break
        for row in found:
            deltas.add(_standing(dict(zip(TRACKED, row[1:], strict=True))), +1)
        last_id = found[-1][0]
    values = list(deltas.nonzero())
    for start in range(0, len(values), batch):
        db.execute(sa.insert(CaseTally.__table__), values[start:start + batch])
    log.info("tallies rebuilt: %s rows", len(values))
    return len(values)


def _grouped_in_sql(zone: str) -> sa.Select[Any]:
    """Every tally row, grouped by PostgreSQL: one branch per grain and dimension."""
    cases = Case.__table__
    local = sa.func.timezone(zone, cases.c.submitted_at)
    periods = {DAY: sa.cast(local, sa.Date),
               MONTH: sa.cast(sa.func.date_trunc("month", local), sa.Date)}
    keys = {"agency": sa.func.coalesce(cases.c.agency_id, NO_KEY),
            "category": cases.c.category_id,
            "area": sa.func.coalesce(cases.c.area_id, NO_KEY)}
    counted = [sa.func.count().filter(cases.c.figure_class.in_(classes_counting(name)))
               .label(name) for name in TALLIED]
    handled = cases.c.figure_class.in_(sorted(HANDLED_CLASSES))
    branches = []
    for grain, period in periods.items():
        for dimension, key in keys.items():
            branches.append(sa.select(sa.literal(grain), period, sa.literal(dimension), key,
                                      *counted).group_by(period, key))
        minutes = cases.c.resolve_working_minutes
        branches.append(sa.select(sa.literal(grain), period, sa.literal(MINUTES), minutes,
                                  *(sa.func.count() if name == "handled" else sa.literal(0)
                                    for name in TALLIED))
                        .where(handled, minutes.is_not(None)).group_by(period, minutes))
    return sa.union_all(*branches)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class Span:
    """A window split into what the tallies hold and what must be read from the cases."""

    months: tuple[date, date] | None
    """[first, end) 1sts of the whole local months in the window."""
    days: tuple[tuple[date, date], ...]
    """[first, end) local dates of the whole days outside those months (at most two runs)."""
    partial: tuple[tuple[datetime, datetime], ...]
    """[start, end) instants not making up a whole local day (at most two)."""

    @property
    def tallied(self) -> bool:
        """Whether any whole day or month is in the window."""
        return self.months is not None or bool(self.days)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone)


def _next_first(day: date) -> date:
    return day if day.day == 1 else (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def split_window(start: datetime, end: datetime, zone: ZoneInfo) -> Span:
    """Whole months, whole days and the leftover instants of [start, end) in `zone`."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    first_day = local_start.date()
    if _midnight(first_day, zone) < start:
        first_day += timedelta(days=1)
    end_day = local_end.date()
    if first_day >= end_day:
        return Span(None, (), ((start, end),))
    partial = []
    if _midnight(first_day, zone) > start:
        partial.append((start, _midnight(first_day, zone)))
    if _midnight(end_day, zone) < end:
        partial.append((_midnight(end_day, zone), end))
    first_month, end_month = _next_first(first_day), end_day.replace(day=1)
    if first_month >= end_month:
        return Span(None, ((first_day, end_day),), tuple(partial))
    days = tuple(run for run in ((first_day, first_month), (end_month, end_day))
                 if run[0] < run[1])
    return Span((first_month, end_month), days, tuple(partial))


def _ranges(span: Span) -> list[tuple[str, date, date]]:
    ranges = [(MONTH, *span.months)] if span.months is not None else []
    return ranges + [(DAY, first, end) for first, end in span.days]


def _union(span: Span, dimensions: Sequence[str], columns: Sequence[str]) -> Any:
    """Both tables' rows of the span for these dimensions: one branch per (table, grain,
    range), each a range of the primary key, which carries the counters, so PostgreSQL
    answers from the index alone."""
    parts = []
    for model in (CaseTally, CaseTallyDelta):
        table = model.__table__
        for grain, first, end in _ranges(span):
            parts.append(sa.select(table.c.dimension, table.c.key_id,
                                   *(table.c[name] for name in columns))
                         .where(table.c.grain == grain, table.c.period >= first,
                                table.c.period < end, table.c.dimension.in_(dimensions)))
    return sa.union_all(*parts).subquery("tallied")


def read_tallies(session: Session, span: Span, dimensions: Iterable[str]
                 ) -> dict[str, dict[int | None, dict[str, int]]]:
    """Counters per key of each breakdown dimension over the span's whole days and months."""
    wanted = sorted(set(dimensions))
    result: dict[str, dict[int | None, dict[str, int]]] = {name: {} for name in wanted}
    if not span.tallied or not wanted:
        return result
    both = _union(span, wanted, TALLIED)
    stmt = (sa.select(both.c.dimension, both.c.key_id,
                      *(sa.func.sum(both.c[name]) for name in TALLIED))
            .group_by(both.c.dimension, both.c.key_id))
    for dimension, key, *sums in session.execute(stmt).all():
        if any(sums):
            result[dimension][None if key == NO_KEY else key] = dict(
                zip(TALLIED, sums, strict=True))
    return result


def histogram_rows(span: Span) -> sa.Select[Any] | None:
    """(key: working minutes to resolve, n: handled cases) over the span's whole days and
    months, one row per tally row (to be added up with the partial days' cases)."""
    if not span.tallied:
        return None
    both = _union(span, [MINUTES], ["handled"])
    return sa.select(both.c.key_id.label("key"), both.c.handled.label("n"))
