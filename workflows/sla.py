"""SLA clocks on a case: starting, stopping, pausing and moving deadlines as actions require."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.models import Case, CaseClock, SlaPolicy
from workflows.calendar import WorkingCalendar
from workflows.machine import ClockEffect
from workflows.sla_clock import due_at as compute_due
from workflows.sla_clock import resume_deadline
from workflows.sla_clock import warn_at as compute_warn
from workflows.states import Priority, Track

STEPS = ("triage", "accept", "resolve")
_START = {ClockEffect.START_TRIAGE: "triage", ClockEffect.START_ACCEPT: "accept",
          ClockEffect.START_RESOLVE: "resolve", ClockEffect.RESTART_RESOLVE: "resolve"}
_STOP = {ClockEffect.STOP_TRIAGE: "triage", ClockEffect.STOP_ACCEPT: "accept",
         ClockEffect.STOP_RESOLVE: "resolve"}


def find_policy(session: Session, category_id: int, priority: Priority) -> SlaPolicy | None:
    """The active policy for the category and priority, else the default for the priority,
    else the category's normal policy, else the default normal policy."""
    candidates = [(category_id, priority), (None, priority)]
    if priority != Priority.NORMAL:
        candidates += [(category_id, Priority.NORMAL), (None, Priority.NORMAL)]
    for cat, prio in candidates:
        stmt = sa.select(SlaPolicy).where(
            SlaPolicy.is_active.is_(True), SlaPolicy.priority == prio,
            SlaPolicy.category_id.is_(None) if cat is None else SlaPolicy.category_id == cat)
        policy = session.scalar(stmt)
        if policy is not None:
            return policy
    return None


def running_clocks(session: Session, case: Case) -> list[CaseClock]:
    """Clocks of the case that have not stopped (paused ones included)."""
    return list(session.scalars(sa.select(CaseClock).where(
        CaseClock.case_id == case.id, CaseClock.stopped_at.is_(None)).order_by(CaseClock.id)))


def _set_times(clock: CaseClock, calendar: WorkingCalendar, start: datetime) -> None:
    duration = timedelta(minutes=clock.allowed_minutes)
    clock.due_at = compute_due(calendar, Track(clock.track), start, duration)
    clock.warn_at = compute_warn(calendar, Track(clock.track), start, duration, clock.warn_ratio)
    clock.next_check_at = min(clock.warn_at, clock.due_at)


def start_clock(session: Session, case: Case, step: str, policy: SlaPolicy,
                calendar: WorkingCalendar, now: datetime) -> CaseClock:
    """A fresh clock for `step` from now (replacing a running one of the same step)."""
    for clock in running_clocks(session, case):
        if clock.step == step:
            clock.stopped_at = now
            clock.next_check_at = None
    allowed = {"triage": policy.triage_minutes, "accept": policy.accept_minutes,
               "resolve": policy.resolve_minutes}[step]
    clock = CaseClock(case_id=case.id, step=step, round=max(case.resolution_round, 0) + 1,
                      track=Track(policy.track), allowed_minutes=allowed,
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
    for effect in effects:
        if effect in _STOP:
            for clock in running_clocks(session, case):
                if clock.step == _STOP[effect]:
                    clock.stopped_at, clock.next_check_at = now, None
        elif effect in _START and policy is not None:
            clock = start_clock(session, case, _START[effect], policy, calendar, now)
            if clock.step == "resolve":
                case.extension_granted = False
        elif effect is ClockEffect.PAUSE:
            for clock in running_clocks(session, case):
                clock.paused_at, clock.next_check_at = now, None
        elif effect is ClockEffect.RESUME:
            for clock in running_clocks(session, case):
                if clock.paused_at is not None:
                    _resume(clock, calendar, now)
        elif effect is ClockEffect.MOVE_DEADLINE and new_deadline is not None:
            for clock in running_clocks(session, case):
                if clock.step == "resolve":
                    clock.due_at = new_deadline
                    clock.next_check_at = None if clock.paused_at else (
                        min(clock.warn_at, new_deadline))
            case.extension_granted = True
        elif effect is ClockEffect.REAPPLY_POLICY and policy is not None:
            for clock in running_clocks(session, case):
                clock.allowed_minutes = {"triage": policy.triage_minutes,
                                         "accept": policy.accept_minutes,
                                         "resolve": policy.resolve_minutes}[clock.step]
                clock.track, clock.warn_ratio = Track(policy.track), policy.warn_ratio
                _set_times(clock, calendar, clock.started_at)
                clock.original_due_at = clock.due_at
    session.flush()
    sync_case_deadlines(session, case)


def _resume(clock: CaseClock, calendar: WorkingCalendar, now: datetime) -> None:
    track = Track(clock.track)
    paused_at = clock.paused_at
    assert paused_at is not None
    clock.due_at = resume_deadline(calendar, track, paused_at, now, clock.due_at)
    clock.warn_at = resume_deadline(calendar, track, paused_at, now, clock.warn_at)
    clock.paused_at = None
    clock.next_check_at = min(clock.warn_at, clock.due_at)


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
