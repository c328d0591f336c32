"""The published figures (DESIGN.md, "The figures"), computed by SQL aggregation.

Every figure describes the cases *submitted* in a window ``[start, end)``, optionally only
those of one agency, one category or one area (an area includes its sub-areas: a province
includes its wards), **as they stand at the moment the figures are computed** (``as_of``).
Live queries compute at the present instant; a monthly summary is computed once by the job
on the 1st (its ``cutoff_at``) and then kept, so it no longer follows later changes. The
figures read the cases' current columns, so ``as_of`` must not be earlier than the latest
change to those cases: true for the live clock, for the monthly job and for the simulation,
which runs in time order.

Definitions, all over the cases submitted in the window that match the filters:

* ``excluded``: rejected as ``spam``, ``abusive`` (treated like spam: nobody owes an answer
  to abuse) or ``duplicate`` (merged: the surviving case is counted). Not received.
* ``received``: every other case.
* ``handled``: received and in state ``resolved`` or ``closed`` at ``as_of``. A case that
  was resolved, then reopened and is being worked on again is not handled (yet).
* ``handled_on_time`` / ``handled_late_with_extension`` / ``handled_late``: the handled
  cases split by their latest resolution against the deadline of the latest resolve round,
  exactly as ``workflows.sla_clock.classify_handling`` does: on time when resolved at or
  before the deadline without extensions (``resolve_original_due_at``; a pause waiting on
  the citizen moves it, an extension does not); late with extension when after it but at or
  before a later, granted deadline (``resolve_due_at``); late otherwise. A case that never
  had a resolve deadline (no SLA policy) counts as on time. The three add up to ``handled``.
* ``in_progress``: received and in an open state (submitted, assigned, in_progress,
  need_info); ``open_overdue``: those whose running step's deadline (``due_at``: triage,
  acceptance or resolution, whichever falls first) is before ``as_of``. A case waiting on
  the citizen has no running deadline and is not overdue.
* ``rejected``: received and rejected (out of scope, outside any jurisdiction, not enough
  information). ``received = handled + in_progress + rejected``.
* ``median_hours_to_resolve`` / ``p90_hours_to_resolve``: the 50th and 90th percentiles
  (linear interpolation, as PostgreSQL's ``percentile_cont``) of the handled cases' working
  time from submission to their latest resolution, counted on the office calendar
  (``resolve_working_minutes``, fixed when the case is resolved), in hours.
* ``rated``: handled cases with a rating; ``satisfied``, ``accepted``, ``dissatisfied``:
  by their latest rating (``cases.latest_rating``: a reopened and re-resolved case counts
  its latest rating, the earlier one until it is rated again).
* ``on_time_rate = handled_on_time / handled``, ``handled_rate = handled / received``,
  ``rating_rate = rated / handled``, ``satisfaction_rate = (satisfied + accepted) / rated``:
  fractions rounded to 4 decimals, ``None`` when the denominator is zero.
* ``headline``: ``398 of 439 handled, 95% satisfied`` / ``Đã xử lý 398/439 phản ánh, 95%
  hài lòng``. The percentage is the satisfaction rate rounded *down* to a whole percent, so
  a published claim never overstates (94.9% reads 94%); with no ratings it says so, and
  with nothing received it says that instead.

How: every base count (handled, on time, late within an extension, open, rejected,
excluded, one per rating level) is the number of cases of certain *figure classes*
(workflows/counting.py, the one statement of the rule above), and every other figure is a
sum or a difference of base counts. Without filters, the whole local days and months of the
window are read from the tallies (workflows/tallies.py: a few rows per day, agency,
category and area, kept exact by every flush), the partial days at its edges from the cases,
and `open_overdue` (which depends on `as_of`) from the open cases past a deadline, on their
own partial index. With filters, one statement groups the matching cases by the breakdown
keys together and counts the classes with aggregate FILTERs, and its outer branches add the
groups up per breakdown. The histogram of the handled cases' working minutes (a tally
dimension, or a GROUP BY) makes the percentiles exact. No loop ever runs over cases.
Breakdown rows (per agency, per category, per area: a case counts for the agency that
holds it now, and for its own area) carry every count and rate but not the percentiles,
which need the ordered values of each group: filter by that agency for them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.models import Agency, Area, Case, Category
from workflows.calendar import DEFAULT_TZ, WorkingCalendar
from workflows.counting import HANDLED_CLASSES, OPEN, TALLIED, classes_counting
from workflows.tallies import histogram_rows, read_tallies, split_window

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Bumped when the shape of `Summary.as_dict()` changes (stored monthly summaries keep it)."""

BREAKDOWNS = ("agency", "category", "area")

COUNTS = ("received", "handled", "handled_on_time", "handled_late_with_extension",
          "handled_late", "open_overdue", "in_progress", "rejected", "excluded", "rated",
          "satisfied", "accepted", "dissatisfied")

LOOKUP_BY_ID_MAX = 200
"""Breakdown rows up to this many get their names by id; more read the whole small table."""

_UNKNOWN_LABELS = {
    "agency": {"vi": "Chưa chuyển đơn vị xử lý", "en": "Not assigned to an agency"},
    "area": {"vi": "Ngoài các địa bàn", "en": "Outside every area"},
    "category": {"vi": "Không rõ lĩnh vực", "en": "Unknown category"},
}


def working_minutes(calendar: WorkingCalendar, start: datetime, end: datetime) -> int:
    """Whole working minutes on the office calendar between two instants (never negative)."""
    return max(int(calendar.between(start, end) // timedelta(minutes=1)), 0)


@dataclass(frozen=True)
class Window:
    """Cases submitted in [start, end)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")
        if self.start >= self.end:
            raise ValueError("the window must start before it ends")


@dataclass(frozen=True)
class Filters:
    """Optional restriction to one agency, one category, one area (with its sub-areas)."""

    agency_id: int | None = None
    category_id: int | None = None
    area_id: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        """JSON shape."""
        return {"agency": self.agency_id, "category": self.category_id, "area": self.area_id}


@dataclass(frozen=True)
class Figures:
    """Every figure of one set of cases (the totals, or one breakdown row)."""

    counts: Mapping[str, int]
    median_hours_to_resolve: float | None = None
    p90_hours_to_resolve: float | None = None

    @property
    def rates(self) -> dict[str, float | None]:
        """The four published rates; None when the denominator is zero."""
        c = self.counts
        return {
            "handled_rate": ratio(c["handled"], c["received"]),
            "on_time_rate": ratio(c["handled_on_time"], c["handled"]),
            "rating_rate": ratio(c["rated"], c["handled"]),
            "satisfaction_rate": ratio(c["satisfied"] + c["accepted"], c["rated"]),
        }

    def as_dict(self, *, with_hours: bool = True) -> dict[str, Any]:
        """Counts, rates and (for totals) the hours to resolve, in a stable order."""
        data: dict[str, Any] = {name: self.counts[name] for name in COUNTS}
        data.update(self.rates)
        if with_hours:
            data["median_hours_to_resolve"] = self.median_hours_to_resolve
            data["p90_hours_to_resolve"] = self.p90_hours_to_resolve
        return data


@dataclass(frozen=True)
class BreakdownRow:
    """The figures of the cases of one agency, category or area."""

    key: int | None
    code: str | None
    name: dict[str, str]
    figures: Figures

    def as_dict(self) -> dict[str, Any]:
        """JSON shape: the key, its code and names, then the figures."""
        return {"id": self.key, "code": self.code, "name_vi": self.name["vi"],
                "name_en": self.name["en"], **self.figures.as_dict(with_hours=False)}


@dataclass(frozen=True)
class Summary:
    """The figures of a window as of one instant, with the breakdowns asked for."""

    window: Window
    as_of: datetime
    filters: Filters
    figures: Figures
    breakdowns: dict[str, list[BreakdownRow]] = field(default_factory=dict)

    @property
    def headline(self) -> dict[str, str]:
        """The sentence a province publishes, in Vietnamese and English."""
        return headline(self.figures)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (instants as ISO 8601 strings): what the API sends and the job stores."""
        return {
            "schema_version": SCHEMA_VERSION,
            "window": {"from": self.window.start.isoformat(), "to": self.window.end.isoformat()},
            "as_of": self.as_of.isoformat(),
            "filters": self.filters.as_dict(),
            "figures": self.figures.as_dict(),
            "headline": self.headline,
            "breakdowns": {name: [row.as_dict() for row in rows]
                           for name, rows in self.breakdowns.items()},
        }


def ratio(numerator: int, denominator: int) -> float | None:
    """numerator / denominator to 4 decimals, or None when nothing is there to divide by."""
    return round(numerator / denominator, 4) if denominator else None


def floor_percent(numerator: int, denominator: int) -> int:
    """The share as a whole percent rounded down, in integers so 95/100 never reads 94."""
    return (100 * numerator) // denominator


def format_count(value: int, language: str) -> str:
    """1234567 as `1.234.567` in Vietnamese and `1,234,567` in English."""
    text = f"{value:,}"
    return text.replace(",", ".") if language == "vi" else text


def headline(figures: Figures) -> dict[str, str]:
    """`398 of 439 handled, 95% satisfied` / `Đã xử lý 398/439 phản ánh, 95% hài lòng`."""
    c = figures.counts
    if c["received"] == 0:
        return {"vi": "Chưa nhận được phản ánh nào", "en": "No reports received"}
    vi = f"Đã xử lý {format_count(c['handled'], 'vi')}/{format_count(c['received'], 'vi')} phản ánh"
    en = f"{format_count(c['handled'], 'en')} of {format_count(c['received'], 'en')} handled"
    if c["rated"] == 0:
        return {"vi": f"{vi}, chưa có đánh giá", "en": f"{en}, no ratings yet"}
    pct = floor_percent(c["satisfied"] + c["accepted"], c["rated"])
    return {"vi": f"{vi}, {pct}% hài lòng", "en": f"{en}, {pct}% satisfied"}


# --------------------------------------------------------------------------- SQL


def descendant_area_ids(session: Session, area_id: int) -> list[int]:
    """The area and every area below it (a province and its wards), in one recursive query."""
    tree = sa.select(Area.id).where(Area.id == area_id).cte("area_tree", recursive=True)
    tree = tree.union_all(sa.select(Area.id).where(Area.parent_id == tree.c.id))
    return list(session.scalars(sa.select(tree.c.id)))


def _conditions(session: Session, window: Window, filters: Filters) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Case.submitted_at >= window.start,
                                           Case.submitted_at < window.end]
    if filters.agency_id is not None:
        where.append(Case.agency_id == filters.agency_id)
    if filters.category_id is not None:
        where.append(Case.category_id == filters.category_id)
    if filters.area_id is not None:
        where.append(Case.area_id.in_(descendant_area_ids(session, filters.area_id)))
    return where


_DIMENSIONS = {"agency": Case.agency_id, "category": Case.category_id, "area": Case.area_id}

Groups = dict[str, dict[int | None, dict[str, int]]]
"""Base counts per key of each breakdown, and under "total" (key None) for all."""


def _overdue_condition(as_of: datetime) -> sa.ColumnElement[bool]:
    """Open, and the running step's deadline has passed (a case waiting on the citizen has
    no running deadline)."""
    return sa.and_(Case.figure_class == OPEN, Case.due_at < as_of)


def _base_conditions(as_of: datetime) -> dict[str, sa.ColumnElement[bool] | None]:
    """The conditions whose counts every other figure is a sum or difference of: which
    figure classes count for each (workflows/counting.py), and the overdue ones."""
    conditions: dict[str, sa.ColumnElement[bool] | None] = {
        name: Case.figure_class.in_(classes_counting(name)) for name in TALLIED}
    conditions["open_overdue"] = _overdue_condition(as_of)
    return conditions


def counts_from_base(base: Mapping[str, int]) -> dict[str, int]:
    """Every counted figure from the base counts (sums and differences only), in COUNTS order.

    Written out rather than looped: it runs once per breakdown row, thousands per summary.
    """
    get = base.get
    handled, on_time, extended = get("handled", 0), get("handled_on_time", 0), \
        get("handled_late_with_extension", 0)
    in_progress, rejected = get("in_progress", 0), get("rejected", 0)
    satisfied, accepted, dissatisfied = get("satisfied", 0), get("accepted", 0), \
        get("dissatisfied", 0)
    return {"received": handled + in_progress + rejected, "handled": handled,
            "handled_on_time": on_time, "handled_late_with_extension": extended,
            "handled_late": handled - on_time - extended, "open_overdue": get("open_overdue", 0),
            "in_progress": in_progress, "rejected": rejected, "excluded": get("excluded", 0),
            "rated": satisfied + accepted + dissatisfied, "satisfied": satisfied,
            "accepted": accepted, "dissatisfied": dissatisfied}


def _counted(session: Session, where: Sequence[sa.ColumnElement[bool]],
             conditions: Mapping[str, sa.ColumnElement[bool] | None],
             breakdowns: Sequence[str]) -> Groups:
    """Counts of each condition (None: every case) for the totals and per key of each
    breakdown, in one statement over the matching cases; rows come back per key, never per
    case.

    PostgreSQL groups each case into every breakdown at once (GROUPING SETS). Elsewhere an
    inner query groups the cases by the breakdown keys together (routing ties the agency to
    the category and area, so there are about as many groups as (category, area) pairs)
    and outer branches add those groups up per breakdown.
    """
    names = list(conditions)
    counts = [(sa.func.count() if conditions[name] is None
               else sa.func.count().filter(conditions[name])).label(name) for name in names]
    result: Groups = {name: {} for name in ("total", *breakdowns)}

    def keep(dim: str, key: int | None, values: Sequence[Any]) -> None:
        counted = dict(zip(names, (int(v or 0) for v in values), strict=True))
        if dim == "total" or any(counted.values()):
            result[dim][key] = counted

    if session.get_bind().dialect.name == "postgresql":
        columns = [_DIMENSIONS[name] for name in breakdowns]
        sets = [sa.tuple_()] + [sa.tuple_(column) for column in columns]
        stmt = (sa.select(*columns, *(sa.func.grouping(c) for c in columns), *counts)
                .where(*where).group_by(sa.func.grouping_sets(*sets)))
        width = len(columns)
        rows = session.execute(stmt).all()
        if not rows:
            keep("total", None, [0] * len(names))
        for row in rows:
            flags = row[width:2 * width]
            grouped = [name for name, flag in zip(breakdowns, flags, strict=True) if not flag]
            if grouped:
                keep(grouped[0], row[breakdowns.index(grouped[0])], row[2 * width:])
            else:
                keep("total", None, row[2 * width:])
        return result

    dims = [_DIMENSIONS[name].label(name) for name in breakdowns]
    fine = (sa.select(*dims, *counts).where(*where)
            .group_by(*(d.element for d in dims)).cte("fine"))
    sums = [sa.func.coalesce(sa.func.sum(fine.c[name]), 0) for name in names]

    def branch(name: str) -> sa.Select[Any]:
        dim = sa.literal_column(f"'{name}'")  # one of our constant names, never input
        if name == "total":
            return sa.select(dim.label("dim"), sa.cast(sa.null(), sa.Integer).label("key"),
                             *sums)
        key = fine.c[name]
        return sa.select(dim.label("dim"), key.label("key"), *sums).group_by(key)

    for row in session.execute(sa.union_all(*(branch(name) for name in ("total", *breakdowns)))):
        keep(row[0], row[1], row[2:])
    return result


def _add_groups(into: Groups, more: Groups) -> None:
    for name, per_key in more.items():
        target = into.setdefault(name, {})
        for key, counts in per_key.items():
            row = target.setdefault(key, {})
            for count_name, value in counts.items():
                row[count_name] = row.get(count_name, 0) + value


def _minutes_histogram(where: Sequence[sa.ColumnElement[bool]]) -> sa.Select[Any]:
    """(key: working minutes to resolve, n: handled cases) of the matching cases."""
    minutes = Case.resolve_working_minutes
    return (sa.select(minutes.label("key"), sa.func.count().label("n"))
            .where(*where, Case.figure_class.in_(sorted(HANDLED_CLASSES)), minutes.is_not(None))
            .group_by(minutes))


def _percentiles(session: Session, parts: Sequence[sa.Select[Any]],
                 fractions: Sequence[float]) -> list[float | None]:
    """percentile_cont of each fraction over the histogram the parts add up to.

    The database adds the parts up and ranks the buckets; only the few buckets holding the
    ranks the fractions need come back (a national history has tens of thousands of distinct
    minute values, and fetching them all cost more than the rest of the summary).
    """
    both = (sa.union_all(*parts) if len(parts) > 1 else parts[0]).subquery("parts")
    total_n = sa.func.sum(sa.cast(both.c.n, sa.Float))  # float8 sums: integers to 2**53, fast
    grouped = (sa.select(both.c.key, total_n.label("n")).group_by(both.c.key)
               .having(total_n != 0).subquery("grouped"))
    upto = sa.func.sum(grouped.c.n).over(order_by=grouped.c.key)
    ranked = sa.select(grouped.c.key, (upto - grouped.c.n).label("before"), upto.label("upto"),
                       sa.func.sum(grouped.c.n).over().label("total")).subquery("ranked")
    last = sa.cast(ranked.c.total, sa.Float) - 1
    wanted = [ranked.c.upto == ranked.c.total]
    for fraction in fractions:
        # The bucket of rank floor(p) and the next one's: with whole `before` and `upto`,
        # before <= floor(p) < upto is before <= p < upto.
        position = last * fraction
        wanted += [sa.and_(ranked.c.before <= position, position < ranked.c.upto),
                   sa.and_(ranked.c.before - 1 <= position, position < ranked.c.upto - 1)]
    buckets = [(int(key), int(before), int(upto)) for key, before, upto, _total in session.execute(
        sa.select(ranked).where(sa.or_(*wanted)).order_by(ranked.c.key)).all()]
    return [_percentile_of_buckets(buckets, fraction) for fraction in fractions]


def _percentile_of_buckets(buckets: Sequence[tuple[int, int, int]], fraction: float
                           ) -> float | None:
    """percentile_cont from (value, rank before it, rank up to it) buckets that hold the
    ranks needed (all of them, or the ones `_percentiles` kept)."""
    if not buckets:
        return None
    n = buckets[-1][2]
    position = fraction * (n - 1)
    low_rank = int(position)
    high_rank = min(low_rank + 1, n - 1)

    def value_at(rank: int) -> int:
        return next(value for value, before, upto in buckets if before <= rank < upto)

    low, high = value_at(low_rank), value_at(high_rank)
    return low + (position - low_rank) * (high - low)


def percentile(histogram: Sequence[tuple[int, int]], fraction: float) -> float | None:
    """percentile_cont over the values of a sorted (value, count) histogram; None if empty."""
    buckets, seen = [], 0
    for value, count in histogram:
        buckets.append((value, seen, seen + count))
        seen += count
    return _percentile_of_buckets(buckets, fraction) if seen else None


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 2)


def _labels(session: Session, name: str, keys: Iterable[int | None]
            ) -> dict[int | None, tuple[str | None, dict[str, str]]]:
    """Code and names for the keys of one breakdown, in one query."""
    model = {"agency": Agency, "category": Category, "area": Area}[name]
    ids = {k for k in keys if k is not None}
    labels: dict[int | None, tuple[str | None, dict[str, str]]] = {
        None: (None, dict(_UNKNOWN_LABELS[name]))}
    stmt = sa.select(model.id, model.code, model.name_vi, model.name_en)
    if len(ids) <= LOOKUP_BY_ID_MAX:
        # A short list is looked up by id; thousands of wards are cheaper read whole.
        stmt = stmt.where(model.id.in_(ids))
    for key, code, name_vi, name_en in session.execute(stmt):
        if key in ids:
            labels[key] = (code, {"vi": name_vi, "en": name_en})
    return labels


def _scanned(session: Session, where: Sequence[sa.ColumnElement[bool]], as_of: datetime,
             wanted: Sequence[str]) -> tuple[Groups, list[sa.Select[Any]]]:
    """Groups read from the matching cases themselves, and their histogram's query."""
    return (_counted(session, where, _base_conditions(as_of), wanted),
            [_minutes_histogram(where)])


def _tallied(session: Session, window: Window, as_of: datetime, zone: ZoneInfo,
             wanted: Sequence[str]) -> tuple[Groups, list[sa.Select[Any]]] | None:
    """Groups and the histogram's queries from the tallies, for the window's whole days and months, plus
    the cases of its partial days and the open cases past a deadline (which depends on
    `as_of`); None when the window holds no whole day."""
    span = split_window(window.start, window.end, zone)
    if not span.tallied:
        return None
    tallied = read_tallies(session, span, [*wanted, "category"])
    # Every case has exactly one category, so the categories add up to the total.
    groups: Groups = {"total": {None: {name: sum(per_key[name] for per_key in
                                                 tallied["category"].values())
                                       for name in TALLIED}}}
    groups.update({name: tallied[name] for name in wanted})
    histogram = [rows for rows in (histogram_rows(span),) if rows is not None]
    no_overdue = {name: c for name, c in _base_conditions(as_of).items()
                  if name != "open_overdue"}
    for start, end in span.partial:
        where = [Case.submitted_at >= start, Case.submitted_at < end]
        _add_groups(groups, _counted(session, where, no_overdue, wanted))
        histogram.append(_minutes_histogram(where))
    overdue = [Case.submitted_at >= window.start, Case.submitted_at < window.end,
               _overdue_condition(as_of)]
    _add_groups(groups, _counted(session, overdue, {"open_overdue": None}, wanted))
    return groups, histogram


def compute_summary(session: Session, window: Window, as_of: datetime, *,
                    filters: Filters | None = None, breakdowns: Iterable[str] = (),
                    tz: str = DEFAULT_TZ, use_tallies: bool = True) -> Summary:
    """The figures of the cases submitted in the window, as they stand at `as_of`.

    Without filters the whole days and months of the window come from the tallies
    (workflows/tallies.py), kept by the days and months of `tz`, the province's zone; with
    filters, for less than a day, or with `use_tallies=False` (for comparisons), they are
    counted from the matching cases.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    filters = filters or Filters()
    wanted = [name for name in BREAKDOWNS if name in set(breakdowns)]
    unknown = set(breakdowns) - set(BREAKDOWNS)
    if unknown:
        raise ValueError(f"unknown breakdowns: {', '.join(sorted(unknown))}")
    if session.get_bind().dialect.name == "postgresql":
        # For this transaction only: JIT compilation costs these aggregates more than it
        # saves, and grouping a national year in memory beats sorting it on disk.
        session.execute(sa.text("SET LOCAL jit = off"))
        session.execute(sa.text("SET LOCAL work_mem = '64MB'"))
    read = None
    if use_tallies and filters == Filters():
        read = _tallied(session, window, as_of, ZoneInfo(tz), wanted)
    if read is None:
        read = _scanned(session, _conditions(session, window, filters), as_of, wanted)
    groups, histogram = read
    median, p90 = _percentiles(session, histogram, (0.5, 0.9))
    totals = Figures(counts_from_base(groups["total"].get(None, {})),
                     median_hours_to_resolve=_hours(median), p90_hours_to_resolve=_hours(p90))
    breakdown_rows: dict[str, list[BreakdownRow]] = {}
    for name in wanted:
        per_key = groups.get(name, {})
        labels = _labels(session, name, per_key)
        rows = [BreakdownRow(key, *labels.get(key, (None, dict(_UNKNOWN_LABELS[name]))),
                             figures=Figures(counts_from_base(counts)))
                for key, counts in per_key.items()]
        rows.sort(key=lambda r: (-r.figures.counts["received"], r.code or "~", r.key or 0))
        breakdown_rows[name] = rows
    log.debug("figures for %s..%s as of %s: %s", window.start, window.end, as_of, totals.counts)
    return Summary(window=window, as_of=as_of, filters=filters, figures=totals,
                   breakdowns=breakdown_rows)
