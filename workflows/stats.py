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

How: one aggregate query gives, per breakdown key, the count of cases in each of 16
mutually exclusive classes (outcome x rating for handled cases, open, open and overdue,
rejected, excluded); the figures are sums of those counts. A second query gives the
histogram of working minutes of the handled cases, from which the percentiles are exact.
No loop ever runs over cases. Breakdown rows (per agency, per category, per area: a case
counts for the agency that holds it now, and for its own area) carry every count and rate
but not the percentiles, which need the ordered values of each group: filter by that agency
for them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.models import Agency, Area, Case, Category
from workflows.calendar import WorkingCalendar
from workflows.states import DONE_STATES, CaseState, Rating, RejectReason

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
"""Bumped when the shape of `Summary.as_dict()` changes (stored monthly summaries keep it)."""

EXCLUDED_REASONS = (RejectReason.SPAM, RejectReason.ABUSIVE, RejectReason.DUPLICATE)
"""Rejections that are not counted as received: nobody owes the sender an answer."""

BREAKDOWNS = ("agency", "category", "area")

COUNTS = ("received", "handled", "handled_on_time", "handled_late_with_extension",
          "handled_late", "open_overdue", "in_progress", "rejected", "excluded", "rated",
          "satisfied", "accepted", "dissatisfied")
RATES = ("handled_rate", "on_time_rate", "rating_rate", "satisfaction_rate")
HOURS = ("median_hours_to_resolve", "p90_hours_to_resolve")

# Classes: handled ones are outcome * 4 + rating; then the other four.
_ON_TIME, _LATE_WITH_EXTENSION, _LATE = 0, 1, 2
_RATING_CODES = {Rating.SATISFIED: 1, Rating.ACCEPTED: 2, Rating.DISSATISFIED: 3}
_OPEN, _OPEN_OVERDUE, _REJECTED, _EXCLUDED = 12, 13, 14, 15

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

    def __getattr__(self, name: str) -> int:
        try:
            return self.__dict__["counts"][name]
        except KeyError:
            raise AttributeError(name) from None

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


def class_expression(as_of: datetime) -> sa.ColumnElement[int]:
    """The class (0-15) of a case at `as_of`; mirrors sla_clock.classify_handling for outcomes."""
    original, current, resolved = (Case.resolve_original_due_at, Case.resolve_due_at,
                                   Case.resolved_at)
    outcome = sa.case(
        (sa.or_(original.is_(None), resolved <= original), _ON_TIME * 4),
        (sa.and_(current > original, resolved <= current), _LATE_WITH_EXTENSION * 4),
        else_=_LATE * 4)
    rating = sa.case(*((Case.latest_rating == r.value, code) for r, code in _RATING_CODES.items()),
                     else_=0)
    return sa.case(
        (Case.state.in_([s.value for s in DONE_STATES]), outcome + rating),
        (Case.state == CaseState.REJECTED.value,
         sa.case((Case.reject_reason.in_([r.value for r in EXCLUDED_REASONS]), _EXCLUDED),
                 else_=_REJECTED)),
        (sa.and_(Case.due_at.is_not(None), Case.due_at < as_of), _OPEN_OVERDUE),
        else_=_OPEN)


def counts_from_classes(classes: Mapping[int, int]) -> dict[str, int]:
    """The counted figures from the number of cases in each class."""
    def total(codes: Iterable[int]) -> int:
        return sum(classes.get(code, 0) for code in codes)

    handled = range(0, 12)
    counts = {
        "handled": total(handled),
        "handled_on_time": total(range(0, 4)),
        "handled_late_with_extension": total(range(4, 8)),
        "handled_late": total(range(8, 12)),
        "open_overdue": total([_OPEN_OVERDUE]),
        "in_progress": total([_OPEN, _OPEN_OVERDUE]),
        "rejected": total([_REJECTED]),
        "excluded": total([_EXCLUDED]),
        "rated": total(c for c in handled if c % 4),
        "satisfied": total(c for c in handled if c % 4 == 1),
        "accepted": total(c for c in handled if c % 4 == 2),
        "dissatisfied": total(c for c in handled if c % 4 == 3),
    }
    counts["received"] = counts["handled"] + counts["in_progress"] + counts["rejected"]
    return {name: counts[name] for name in COUNTS}


_DIMENSIONS = {"agency": Case.agency_id, "category": Case.category_id, "area": Case.area_id}


def _class_counts(session: Session, where: Sequence[sa.ColumnElement[bool]], as_of: datetime,
                  breakdowns: Sequence[str]) -> dict[str, dict[int | None, dict[int, int]]]:
    """{"total": {None: {class: n}}, "agency": {agency_id: {class: n}}, ...} in one statement.

    The inner query groups the window's cases by the breakdown keys and class (one pass over
    the cases); the outer branches add those groups up per breakdown.
    """
    dims = [_DIMENSIONS[name].label(name) for name in breakdowns]
    cls = class_expression(as_of).label("cls")
    # Grouping by the label, not the expression: its bound parameters would differ.
    fine = (sa.select(*dims, cls, sa.func.count().label("n")).where(*where)
            .group_by(*[d.element for d in dims], cls).cte("fine"))

    def branch(name: str, key: sa.ColumnElement[Any]) -> sa.Select[Any]:
        dim = sa.literal_column(f"'{name}'")  # one of our constant names, never input
        stmt = sa.select(dim.label("dim"), key.label("key"), fine.c.cls,
                         sa.func.sum(fine.c.n).label("n"))
        return stmt.group_by(fine.c.cls) if name == "total" else stmt.group_by(key, fine.c.cls)

    branches = [branch("total", sa.cast(sa.null(), sa.Integer))]
    branches += [branch(name, fine.c[name]) for name in breakdowns]
    stmt = branches[0] if len(branches) == 1 else sa.union_all(*branches)
    result: dict[str, dict[int | None, dict[int, int]]] = {"total": {None: {}}}
    result.update({name: {} for name in breakdowns})
    for dim, key, code, n in session.execute(stmt):
        result[dim].setdefault(key, {})[int(code)] = int(n)
    return result


def percentile(histogram: Sequence[tuple[int, int]], fraction: float) -> float | None:
    """percentile_cont over the values of a sorted (value, count) histogram; None if empty."""
    n = sum(count for _, count in histogram)
    if n == 0:
        return None
    position = fraction * (n - 1)
    low_rank = int(position)
    high_rank = min(low_rank + 1, n - 1)
    low = high = None
    seen = 0
    for value, count in histogram:
        if low is None and low_rank < seen + count:
            low = value
        if high_rank < seen + count:
            high = value
            break
        seen += count
    assert low is not None
    assert high is not None
    return low + (position - low_rank) * (high - low)


def _minutes_histogram(session: Session, where: Sequence[sa.ColumnElement[bool]]
                       ) -> list[tuple[int, int]]:
    """(working minutes, number of handled cases) in ascending order."""
    minutes = Case.resolve_working_minutes
    stmt = (sa.select(minutes, sa.func.count()).where(
        *where, Case.state.in_([s.value for s in DONE_STATES]), minutes.is_not(None))
        .group_by(minutes).order_by(minutes))
    return [(int(m), int(n)) for m, n in session.execute(stmt)]


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 2)


def _labels(session: Session, name: str, keys: Iterable[int | None]
            ) -> dict[int | None, tuple[str | None, dict[str, str]]]:
    """Code and names for the keys of one breakdown, in one query."""
    model = {"agency": Agency, "category": Category, "area": Area}[name]
    ids = [k for k in keys if k is not None]
    labels: dict[int | None, tuple[str | None, dict[str, str]]] = {
        None: (None, dict(_UNKNOWN_LABELS[name]))}
    if ids:
        for key, code, name_vi, name_en in session.execute(
                sa.select(model.id, model.code, model.name_vi, model.name_en)
                .where(model.id.in_(ids))):
            labels[key] = (code, {"vi": name_vi, "en": name_en})
    return labels


def compute_summary(session: Session, window: Window, as_of: datetime, *,
                    filters: Filters | None = None, breakdowns: Iterable[str] = ()) -> Summary:
    """The figures of the cases submitted in the window, as they stand at `as_of`."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    filters = filters or Filters()
    wanted = [name for name in BREAKDOWNS if name in set(breakdowns)]
    unknown = set(breakdowns) - set(BREAKDOWNS)
    if unknown:
        raise ValueError(f"unknown breakdowns: {', '.join(sorted(unknown))}")
    where = _conditions(session, window, filters)
    classes = _class_counts(session, where, as_of, wanted)
    histogram = _minutes_histogram(session, where)
    totals = Figures(counts_from_classes(classes["total"][None]),
                     median_hours_to_resolve=_hours(percentile(histogram, 0.5)),
                     p90_hours_to_resolve=_hours(percentile(histogram, 0.9)))
    breakdown_rows: dict[str, list[BreakdownRow]] = {}
    for name in wanted:
        groups = classes[name]
        labels = _labels(session, name, groups)
        rows = [BreakdownRow(key, *labels.get(key, (None, dict(_UNKNOWN_LABELS[name]))),
                             figures=Figures(counts_from_classes(per_class)))
                for key, per_class in groups.items()]
        rows.sort(key=lambda r: (-r.figures.counts["received"], r.code or "~", r.key or 0))
        breakdown_rows[name] = rows
    log.debug("figures for %s..%s as of %s: %s", window.start, window.end, as_of, totals.counts)
    return Summary(window=window, as_of=as_of, filters=filters, figures=totals,
                   breakdowns=breakdown_rows)
