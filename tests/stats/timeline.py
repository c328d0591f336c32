"""An independent count of the figures from the timeline, for the tests.

Replays every case's `case_events` up to a cut-off with the working calendar and the SLA
policies, to find what the figures need: the state, the latest resolution and its deadlines
(pauses and granted extensions included), the running deadline and the latest rating. It
shares no code with workflows/stats.py, workflows/sla.py or the engine: the counts, the
classification and the percentiles (Python's `statistics`) are written out again here.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.models import Case, CaseEvent, SlaPolicy
from workflows.calendar import WorkingCalendar

OPEN = {"submitted", "assigned", "in_progress", "need_info"}
NOT_RECEIVED = {"spam", "abusive", "duplicate"}


@dataclass
class Clock:
    current: datetime
    original: datetime
    paused_at: datetime | None = None


@dataclass
class Facts:
    """One case as the timeline says it stood at the cut-off."""

    case_id: int
    submitted_at: datetime
    category_id: int
    area_id: int | None
    agency_id: int | None = None
    state: str = ""
    reject_reason: str | None = None
    resolved_at: datetime | None = None
    deadline: Clock | None = None  # the latest resolve round's clock
    running_due: datetime | None = None
    rating: str | None = None
    clocks: dict[str, Clock] = field(default_factory=dict)


def _policies() -> dict[tuple[int | None, str], SlaPolicy]:
    rows = db.session.scalars(sa.select(SlaPolicy).where(SlaPolicy.is_active.is_(True))
                              .order_by(SlaPolicy.id))
    found: dict[tuple[int | None, str], SlaPolicy] = {}
    for row in rows:
        found.setdefault((row.category_id, str(row.priority)), row)
    return found


def _policy(policies: dict, category_id: int, priority: str) -> SlaPolicy | None:
    for key in ((category_id, priority), (None, priority), (category_id, "normal"),
                (None, "normal")):
        if key in policies:
            return policies[key]
    return None


def replay(calendar: WorkingCalendar, cutoff: datetime) -> list[Facts]:
    """Every case's facts at `cutoff`, from its events alone (plus its static columns)."""
    policies = _policies()
    cases = {c.id: c for c in db.session.scalars(sa.select(Case))}
    events: dict[int, list[CaseEvent]] = defaultdict(list)
    for event in db.session.scalars(sa.select(CaseEvent).where(CaseEvent.created_at <= cutoff)
                                    .order_by(CaseEvent.case_id, CaseEvent.created_at,
                                              CaseEvent.id)):
        events[event.case_id].append(event)
    return [_replay_case(cases[case_id], evs, calendar, policies)
            for case_id, evs in events.items()]


def _replay_case(case: Case, events: list[CaseEvent], calendar: WorkingCalendar,
                 policies: dict) -> Facts:
    policy = _policy(policies, case.category_id, str(case.priority))
    immediate = policy is not None and str(policy.track) == "immediate"

    def add(start: datetime, minutes: float) -> datetime:
        if immediate:
            return start + timedelta(minutes=minutes)
        return calendar.add(start, timedelta(minutes=minutes))

    def left(at: datetime, due: datetime) -> timedelta:
        return due - at if immediate else calendar.between(at, due)

    def later(at: datetime, span: timedelta) -> datetime:
        return at + span if immediate else calendar.add(at, span)

    facts = Facts(case.id, events[0].created_at, case.category_id, case.area_id)
    clocks = facts.clocks
    pending: datetime | None = None

    def start(step: str, at: datetime) -> None:
        if policy is None:
            return
        minutes = {"triage": policy.triage_minutes, "accept": policy.accept_minutes,
                   "resolve": policy.resolve_minutes}[step]
        due = add(at, minutes)
        clocks[step] = Clock(due, due)
        if step == "resolve":
            facts.deadline = clocks[step]

    def stop(*steps: str) -> None:
        for step in steps:
            clocks.pop(step, None)

    for event in events:
        at, data, action = event.created_at, event.data or {}, event.action
        if action == "submit":
            facts.agency_id = data.get("agency_id")
            if facts.agency_id:
                start("accept", at)
                start("resolve", at)
            else:
                start("triage", at)
        elif action == "assign":
            stop("triage")
            facts.agency_id = data["agency_id"]
            start("accept", at)
            start("resolve", at)
        elif action == "transfer":
            facts.agency_id = data.get("agency_id")
            if facts.agency_id:
                start("accept", at)
                start("resolve", at)
            else:
                stop("accept", "resolve")
                start("triage", at)
        elif action == "accept":
            stop("accept")
        elif action == "request_info":
            for clock in clocks.values():
                clock.paused_at = clock.paused_at or at
        elif action in ("provide_info", "resume"):
            for clock in clocks.values():
                if clock.paused_at is not None:
                    clock.current = later(at, left(clock.paused_at, clock.current))
                    clock.original = later(at, left(clock.paused_at, clock.original))
                    clock.paused_at = None
        elif action == "resolve":
            stop("resolve")
            facts.resolved_at = at
        elif action == "reopen":
            start("resolve", at)
        elif action == "reject":
            stop("triage", "accept", "resolve")
            facts.reject_reason = event.reason
        elif action == "request_extension":
            pending = datetime.fromisoformat(data["due_at"])
        elif action == "extend":
            if data.get("decision") == "grant" and "resolve" in clocks:
                clock = clocks["resolve"]
                if clock.paused_at is not None:
                    clock.original = later(at, left(clock.paused_at, clock.original))
                    clock.paused_at = at
                clock.current = datetime.fromisoformat(data["due_at"]) if data.get(
                    "due_at") else pending
            pending = None
        elif action == "prioritize":  # pragma: no cover - not in the histories replayed
            raise NotImplementedError("the replay does not re-apply policies")
        if data.get("rating"):
            facts.rating = data["rating"]
        facts.state = event.to_state
    running = [c.current for c in clocks.values() if c.paused_at is None]
    facts.running_due = min(running) if running else None
    return facts


# --------------------------------------------------------------------------- counting


def outcome(facts: Facts) -> str:
    """on_time, late_with_extension or late for a handled case."""
    clock = facts.deadline
    assert facts.resolved_at is not None
    if clock is None or facts.resolved_at <= clock.original:
        return "on_time"
    if clock.current > clock.original and facts.resolved_at <= clock.current:
        return "late_with_extension"
    return "late"


def count(facts: Iterable[Facts], cutoff: datetime) -> dict[str, int]:
    """The counted figures of a set of cases, in Python."""
    c: dict[str, int] = defaultdict(int)
    for f in facts:
        if f.state == "rejected" and f.reject_reason in NOT_RECEIVED:
            c["excluded"] += 1
            continue
        c["received"] += 1
        if f.state in ("resolved", "closed"):
            c["handled"] += 1
            c[{"on_time": "handled_on_time", "late_with_extension":
               "handled_late_with_extension", "late": "handled_late"}[outcome(f)]] += 1
            if f.rating:
                c["rated"] += 1
                c[f.rating] += 1
        elif f.state in OPEN:
            c["in_progress"] += 1
            if f.running_due is not None and f.running_due < cutoff:
                c["open_overdue"] += 1
        else:
            c["rejected"] += 1
    names = ("received", "handled", "handled_on_time", "handled_late_with_extension",
             "handled_late", "open_overdue", "in_progress", "rejected", "excluded", "rated",
             "satisfied", "accepted", "dissatisfied")
    return {name: c[name] for name in names}


def working_minutes(calendar: WorkingCalendar, facts: Iterable[Facts]) -> list[int]:
    """Working minutes from submission to the latest resolution of the handled cases."""
    return [int(calendar.between(f.submitted_at, f.resolved_at).total_seconds() // 60)
            for f in facts if f.state in ("resolved", "closed") and f.resolved_at is not None]


def hours_percentiles(minutes: list[int]) -> tuple[float | None, float | None]:
    """(median, 90th percentile) in hours to 2 decimals, interpolated like percentile_cont."""
    if not minutes:
        return None, None
    if len(minutes) == 1:
        return round(minutes[0] / 60, 2), round(minutes[0] / 60, 2)
    median = statistics.median(minutes)
    p90 = statistics.quantiles(minutes, n=10, method="inclusive")[8]
    return round(median / 60, 2), round(p90 / 60, 2)


def select(facts: list[Facts], start: datetime, end: datetime,
           where: Callable[[Facts], bool] = lambda f: True) -> list[Facts]:
    """The cases submitted in [start, end) that pass `where`."""
    return [f for f in facts if start <= f.submitted_at < end and where(f)]


def group(facts: list[Facts], key: Callable[[Facts], Any]) -> dict[Any, list[Facts]]:
    """Cases by a key."""
    groups: dict[Any, list[Facts]] = defaultdict(list)
    for f in facts:
        groups[key(f)].append(f)
    return groups


def utc(text: str) -> datetime:
    """An ISO instant with its offset, as UTC."""
    return datetime.fromisoformat(text).astimezone(UTC)
