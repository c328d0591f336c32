"""SLA clocks on a case: starting, stopping, pausing and moving deadlines as actions require.

A clock's `next_check_at` is the next instant the sweeper (workflows/sweeper.py) must look
at it: its warning instant while the warning is still pending (then `next_check_at <
due_at`), its deadline once the warning is recorded, NULL once the breach is recorded or
while the clock is paused or stopped. Every function that moves a deadline resets it here,
so the sweeper never has to guess.

A new deadline *decision* (an extension granted, a policy re-applied, a fresh clock) gets
its own warning and breach rows: `sla_events` is unique per (case, step, kind, due_at).
A pause only shifts the deadline; what was already recorded before the pause is not
recorded again after it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, object_session

from reports_app.models import Case, CaseClock, SlaEvent, SlaPolicy, User
from workflows.calendar import WorkingCalendar
from workflows.machine import ClockEffect
from workflows.sla_clock import due_at as compute_due
from workflows.sla_clock import elapsed, remaining, resume_deadline
from workflows.sla_clock import warn_at as compute_warn
from workflows.states import Priority, Track

log = logging.getLogger(__name__)

STEPS = ("triage", "accept", "resolve")
STEP_LABELS: dict[str, dict[str, str]] = {
    "triage": {"vi": "phân loại", "en": "triage"},
    "accept": {"vi": "tiếp nhận", "en": "acceptance"},
    "resolve": {"vi": "xử lý", "en": "resolution"},
}
"""How a step is named in notification titles ("Hồ sơ … đã quá hạn (xử lý)")."""

_START = {ClockEffect.START_TRIAGE: "triage", ClockEffect.START_ACCEPT: "accept",
          ClockEffect.START_RESOLVE: "resolve", ClockEffect.RESTART_RESOLVE: "resolve"}
_STOP = {ClockEffect.STOP_TRIAGE: "triage", ClockEffect.STOP_ACCEPT: "accept",
         ClockEffect.STOP_RESOLVE: "resolve"}


def find_policy(session: Session, category_id: int, priority: Priority) -> SlaPolicy | None:
    """The active policy for the category and priority, else the default for the priority,
    else the category's normal policy, else the default normal policy.

    The policy's own track decides how its minutes count (working or clock time): the
    admin API parses its durations on that track, so the two never disagree.
    """
    candidates = [(category_id, priority), (None, priority)]
    if priority != Priority.NORMAL:
        candidates += [(category_id, Priority.NORMAL), (None, Priority.NORMAL)]
    for cat, prio in candidates:
        stmt = sa.select(SlaPolicy).where(
            SlaPolicy.is_active.is_(True), SlaPolicy.priority == prio,
            SlaPolicy.category_id.is_(None) if cat is None else SlaPolicy.category_id == cat)
        policy = session.scalar(stmt.order_by(SlaPolicy.id).limit(1))
        if policy is not None:
            return policy
    return None


def _allowed(policy: SlaPolicy, step: str) -> int:
    return {"triage": policy.triage_minutes, "accept": policy.accept_minutes,
            "resolve": policy.resolve_minutes}[step]


def running_clocks(session: Session, case: Case) -> list[CaseClock]:
    """Clocks of the case that have not stopped (paused ones included)."""
    return list(session.scalars(sa.select(CaseClock).where(
        CaseClock.case_id == case.id, CaseClock.stopped_at.is_(None)).order_by(CaseClock.id)))


def _before(calendar: WorkingCalendar, track: Track, instant: datetime, span: timedelta) -> datetime:
    """The instant `span` of the track's time before `instant` (working time counts backwards)."""
    if Track(track) is Track.DEADLINE:
        return calendar.add(instant, -span)
    return (instant.astimezone(UTC) - span).astimezone(instant.tzinfo)


def _next_check(clock: CaseClock) -> datetime | None:
    """Warning first, then the deadline; nothing while paused or stopped."""
    if clock.paused_at is not None or clock.stopped_at is not None:
        return None
    return min(clock.warn_at, clock.due_at)


def _set_times(clock: CaseClock, calendar: WorkingCalendar, start: datetime) -> None:
    duration = timedelta(minutes=clock.allowed_minutes)
    clock.due_at = compute_due(calendar, Track(clock.track), start, duration)
    clock.warn_at = compute_warn(calendar, Track(clock.track), start, duration, clock.warn_ratio)
    clock.next_check_at = _next_check(clock)


def start_clock(session: Session, case: Case, step: str, policy: SlaPolicy,
                calendar: WorkingCalendar, now: datetime) -> CaseClock:
    """A fresh clock for `step` from now (replacing a running one of the same step)."""
    for clock in running_clocks(session, case):
        if clock.step == step:
            clock.stopped_at = now
            clock.next_check_at = None
    clock = CaseClock(case_id=case.id, step=step, round=max(case.resolution_round, 0) + 1,
                      track=Track(policy.track), allowed_minutes=_allowed(policy, step),
                      warn_ratio=policy.warn_ratio, started_at=now)
    _set_times(clock, calendar, now)
    clock.original_due_at = clock.due_at
    session.add(clock)
    return clock


def apply_clock_effects(session: Session, case: Case, effects: Iterable[ClockEffect],
                        calendar: WorkingCalendar, now: datetime,
                        new_deadline: datetime | None = None) -> None:
    """Carry out an action's clock effects, then refresh the case's deadline columns."""
    effects = tuple(effects)
    policy = None
    if any(e in _START or e is ClockEffect.REAPPLY_POLICY for e in effects):
        policy = find_policy(session, case.category_id, Priority(case.priority))
        if policy is not None:
            case.track = Track(policy.track)
        else:
            log.warning("case %s: no SLA policy for category %s, priority %s; no clock runs",
                        case.id, case.category_id, case.priority)
    for effect in effects:
        if effect in _STOP:
            for clock in running_clocks(session, case):
                if clock.step == _STOP[effect]:
                    clock.stopped_at, clock.next_check_at = now, None
        elif effect in _START and policy is not None:
            clock = start_clock(session, case, _START[effect], policy, calendar, now)
            if clock.step == "resolve":
                case.extension_granted = False
            if effect is ClockEffect.RESTART_RESOLVE and new_deadline is not None:
                _set_deadline(clock, calendar, new_deadline)
        elif effect is ClockEffect.PAUSE:
            for clock in running_clocks(session, case):
                if clock.paused_at is None:
                    clock.paused_at, clock.next_check_at = now, None
        elif effect is ClockEffect.RESUME:
            for clock in running_clocks(session, case):
                if clock.paused_at is not None:
                    _resume(session, clock, calendar, now)
        elif effect is ClockEffect.MOVE_DEADLINE and new_deadline is not None:
            moved = [c for c in running_clocks(session, case) if c.step == "resolve"]
            for clock in moved:
                _move(clock, calendar, now, new_deadline)
            if moved:
                case.extension_granted = True
        elif effect is ClockEffect.REAPPLY_POLICY and policy is not None:
            for clock in running_clocks(session, case):
                _reapply(clock, policy, calendar)
    session.flush()
    sync_case_deadlines(session, case)


def _resume(session: Session, clock: CaseClock, calendar: WorkingCalendar, now: datetime) -> None:
    """Shift every instant of the clock by the time the pause used, keeping the time left."""
    track = Track(clock.track)
    paused_at = clock.paused_at
    assert paused_at is not None
    old_due = clock.due_at
    clock.due_at = resume_deadline(calendar, track, paused_at, now, clock.due_at)
    clock.warn_at = resume_deadline(calendar, track, paused_at, now, clock.warn_at)
    # The deadline without extension moves too: a pause is not an extension.
    clock.original_due_at = resume_deadline(calendar, track, paused_at, now,
                                            clock.original_due_at)
    clock.paused_at = None
    # What the sweeper already recorded for this deadline stays recorded: a case that was
    # warned (or late) before the pause is not warned (or counted late) a second time.
    recorded = set(session.scalars(sa.select(SlaEvent.kind).where(
        SlaEvent.clock_id == clock.id, SlaEvent.due_at == old_due)))
    if "breach" in recorded:
        clock.next_check_at = None
    elif "warning" in recorded:
        clock.next_check_at = clock.due_at
    else:
        clock.next_check_at = _next_check(clock)


def _move(clock: CaseClock, calendar: WorkingCalendar, now: datetime, deadline: datetime) -> None:
    """A granted extension: the new deadline, warned the same lead time ahead as the policy."""
    track = Track(clock.track)
    if clock.paused_at is not None:
        # Granted while waiting on the citizen: the pause so far moves the original deadline
        # now, and the granted deadline starts its own pause from this instant, so the rest
        # of the wait moves both when the clock resumes.
        clock.original_due_at = resume_deadline(calendar, track, clock.paused_at, now,
                                                clock.original_due_at)
        clock.paused_at = now
    lead = timedelta(minutes=clock.allowed_minutes) * (1 - clock.warn_ratio)
    clock.due_at = deadline
    clock.warn_at = _before(calendar, track, deadline, lead)
    clock.next_check_at = _next_check(clock)


def _set_deadline(clock: CaseClock, calendar: WorkingCalendar, deadline: datetime) -> None:
    """A deadline a supervisor set on reopening: it is the new round's original deadline."""
    _move(clock, calendar, clock.started_at, deadline)
    clock.original_due_at = deadline


def _reapply(clock: CaseClock, policy: SlaPolicy, calendar: WorkingCalendar) -> None:
    """New time allowed (priority raised), counted from the clock's start, pauses kept."""
    old_track = Track(clock.track)
    old_span = timedelta(minutes=clock.allowed_minutes)
    # Time the pauses added so far: how far the original deadline sits past the allowance.
    paused_for = max(elapsed(calendar, old_track, clock.started_at, clock.original_due_at)
                     - old_span, timedelta(0))
    extended = clock.due_at != clock.original_due_at
    clock.track, clock.warn_ratio = Track(policy.track), policy.warn_ratio
    clock.allowed_minutes = _allowed(policy, clock.step)
    span = timedelta(minutes=clock.allowed_minutes)
    clock.original_due_at = compute_due(calendar, clock.track, clock.started_at, span + paused_for)
    if not extended:
        # A granted extension is a supervisor's explicit date and stays; otherwise the
        # new policy's deadline and warning apply.
        clock.due_at = clock.original_due_at
        clock.warn_at = compute_due(calendar, clock.track, clock.started_at,
                                    span * clock.warn_ratio + paused_for)
    clock.next_check_at = _next_check(clock)


def sync_case_deadlines(session: Session, case: Case) -> None:
    """Copy the running clocks' deadlines onto the case for queues, filters and figures."""
    clocks = running_clocks(session, case)
    active = [c for c in clocks if c.paused_at is None]
    current = min(active, key=lambda c: c.due_at, default=None)
    case.due_at = current.due_at if current else None
    case.due_step = current.step if current else None
    latest_resolve = session.scalar(
        sa.select(CaseClock).where(CaseClock.case_id == case.id, CaseClock.step == "resolve")
        .order_by(CaseClock.id.desc()).limit(1))
    if latest_resolve is not None:
        case.resolve_due_at = latest_resolve.due_at
        case.resolve_original_due_at = latest_resolve.original_due_at


# --------------------------------------------------------------------------- what a case shows


class ClockState(StrEnum):
    """How a clock stands now."""

    RUNNING = "running"
    LATE = "late"  # running, and its deadline has passed
    PAUSED = "paused"  # waiting on the citizen (need_info)
    STOPPED = "stopped"  # its step is done, or the case left the step


@dataclass(frozen=True)
class StepClock:
    """One clock as the case shows it: its deadlines and the time left (negative: late)."""

    id: int
    step: str
    round: int
    track: Track
    state: ClockState
    started_at: datetime
    warn_at: datetime
    due_at: datetime
    original_due_at: datetime
    paused_at: datetime | None
    stopped_at: datetime | None
    remaining: timedelta

    @property
    def extended(self) -> bool:
        """Whether a granted extension moved this deadline."""
        return self.due_at != self.original_due_at

    @property
    def is_late(self) -> bool:
        """Whether the deadline passed before the step was done (or before now)."""
        end = self.stopped_at or self.paused_at
        return self.due_at < end if end is not None else self.state is ClockState.LATE

    @property
    def remaining_minutes(self) -> int:
        """Time left in whole minutes (working minutes on the deadline track), rounded."""
        return round(self.remaining.total_seconds() / 60)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready; instants as aware datetimes for the API schema to render."""
        return {"id": self.id, "step": self.step, "round": self.round,
                "track": self.track.value, "state": self.state.value,
                "started_at": self.started_at, "warn_at": self.warn_at,
                "due_at": self.due_at, "original_due_at": self.original_due_at,
                "paused_at": self.paused_at, "stopped_at": self.stopped_at,
                "remaining_minutes": self.remaining_minutes, "is_late": self.is_late,
                "extended": self.extended}


@dataclass(frozen=True)
class CaseClockStatus:
    """The case's current deadline and every step's latest clock."""

    now: datetime
    current: StepClock | None  # the running clock that falls due first (case.due_at)
    steps: list[StepClock]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, for GET /cases/{id} and the supervisor's views."""
        current = self.current
        return {"due_at": current.due_at if current else None,
                "due_step": current.step if current else None,
                "state": current.state.value if current else None,
                "remaining_minutes": current.remaining_minutes if current else None,
                "steps": [c.as_dict() for c in self.steps]}


def step_clock(clock: CaseClock, calendar: WorkingCalendar, now: datetime) -> StepClock:
    """How one clock stands at `now`: time left is frozen while paused or once stopped."""
    track = Track(clock.track)
    if clock.stopped_at is not None:
        state, at = ClockState.STOPPED, clock.stopped_at
    elif clock.paused_at is not None:
        state, at = ClockState.PAUSED, clock.paused_at
    else:
        state = ClockState.LATE if clock.due_at <= now else ClockState.RUNNING
        at = now
    return StepClock(id=clock.id, step=clock.step, round=clock.round, track=track, state=state,
                     started_at=clock.started_at, warn_at=clock.warn_at, due_at=clock.due_at,
                     original_due_at=clock.original_due_at, paused_at=clock.paused_at,
                     stopped_at=clock.stopped_at,
                     remaining=remaining(calendar, track, at, clock.due_at))


def clock_status(case: Case, calendar: WorkingCalendar, now: datetime, *,
                 session: Session | None = None) -> CaseClockStatus:
    """Each step's latest clock with its deadline and time left, and the current deadline."""
    session = session or object_session(case)
    if session is None:
        raise ValueError("the case is not attached to a session")
    clocks = session.scalars(sa.select(CaseClock).where(CaseClock.case_id == case.id)
                             .order_by(CaseClock.id)).all()
    latest: dict[str, CaseClock] = {}
    for clock in clocks:
        latest[clock.step] = clock
    steps = [step_clock(latest[s], calendar, now) for s in STEPS if s in latest]
    active = [c for c in steps if c.state in (ClockState.RUNNING, ClockState.LATE)]
    current = min(active, key=lambda c: c.due_at, default=None)
    return CaseClockStatus(now=now, current=current, steps=steps)


# --------------------------------------------------------------------------- breaches


@dataclass(frozen=True)
class Lateness:
    """How late a step was: in working time (the calendar) and in clock time."""

    working: timedelta
    clock: timedelta
    until: datetime  # when the step was done (or paused), else now


def lateness(calendar: WorkingCalendar, due_at: datetime, clock: CaseClock,
             now: datetime) -> Lateness:
    """Lateness against `due_at` until the step was done; a paused clock stops counting."""
    until = clock.stopped_at or clock.paused_at or now
    return Lateness(working=max(calendar.between(due_at, until), timedelta(0)),
                    clock=max(until - due_at, timedelta(0)), until=until)


class SlaEventError(Exception):
    """A warning or breach cannot be acknowledged; `code` is not_found or already_acknowledged."""

    def __init__(self, code: str, text: str) -> None:
        self.code = code
        super().__init__(text)


def acknowledge_sla_event(session: Session, event_id: int, user: User, note: str,
                          now: datetime) -> SlaEvent:
    """A supervisor notes they have seen a breach or warning; once only, first one wins."""
    result = session.execute(
        sa.update(SlaEvent)
        .where(SlaEvent.id == event_id, SlaEvent.acknowledged_at.is_(None))
        .values(acknowledged_at=now, acknowledged_by_id=user.id, acknowledgement_note=note)
        .execution_options(synchronize_session=False))
    event = session.get(SlaEvent, event_id, populate_existing=True)
    if event is None:
        raise SlaEventError("not_found", "No such warning or breach.")
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise SlaEventError("already_acknowledged",
                            "This warning or breach was already acknowledged.")
    log.info("sla event %s (%s, case %s) acknowledged by %s", event.id, event.kind,
             event.case_id, user.id)
    return event
