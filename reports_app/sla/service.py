"""Queries behind the supervisor's SLA views; the rules (lateness, acknowledging) are in
workflows/sla.py."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from reports_app.common.pagination import paginate
from reports_app.extensions import db
from reports_app.models import Agency, Case, SlaEvent, User
from workflows.calendar import WorkingCalendar
from workflows.sla import lateness
from workflows.sla_clock import remaining
from workflows.states import OPEN_STATES, CaseState, Track

_OPEN = sorted(s.value for s in OPEN_STATES)


def _instant(value: date | datetime, calendar: WorkingCalendar) -> datetime:
    """A date is its midnight in the office's time zone."""
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0), tzinfo=calendar.zone)


def _hours(span: timedelta) -> float:
    return round(span.total_seconds() / 3600, 2)


def _agency_ref(agency: Agency | None) -> dict[str, Any] | None:
    if agency is None:
        return None
    return {"id": agency.id, "code": agency.code, "name_vi": agency.name_vi,
            "name_en": agency.name_en}


def list_sla_events(args: dict[str, Any], calendar: WorkingCalendar, now: datetime
                    ) -> dict[str, Any]:
    """One page of warnings and breaches, newest first, each with how late its step was."""
    stmt = (sa.select(SlaEvent).join(Case, Case.id == SlaEvent.case_id)
            .options(selectinload(SlaEvent.case).selectinload(Case.category),
                     selectinload(SlaEvent.clock))
            .order_by(SlaEvent.recorded_at.desc(), SlaEvent.id.desc()))
    if "agency" in args:
        stmt = stmt.where(SlaEvent.agency_id == args["agency"])
    if "category" in args:
        stmt = stmt.where(Case.category_id == args["category"])
    if "step" in args:
        stmt = stmt.where(SlaEvent.step == args["step"])
    if "kind" in args:
        stmt = stmt.where(SlaEvent.kind == args["kind"])
    if "open" in args:
        is_open = Case.state.in_(_OPEN)
        stmt = stmt.where(is_open if args["open"] else sa.not_(is_open))
    if "acknowledged" in args:
        ack = SlaEvent.acknowledged_at.is_not(None)
        stmt = stmt.where(ack if args["acknowledged"] else sa.not_(ack))
    if args.get("from_") is not None:
        stmt = stmt.where(SlaEvent.recorded_at >= _instant(args["from_"], calendar))
    if args.get("to") is not None:
        stmt = stmt.where(SlaEvent.recorded_at < _instant(args["to"], calendar))
    page = paginate(stmt, args["page"], args["page_size"])
    events: list[SlaEvent] = list(page["items"])
    agencies = _by_id(Agency, {e.agency_id for e in events})
    users = _by_id(User, {e.acknowledged_by_id for e in events})
    page["items"] = [event_item(e, agencies.get(e.agency_id), users.get(e.acknowledged_by_id),
                                calendar, now) for e in events]
    return page


def _by_id(model: type, ids: set[int | None]) -> dict[int, Any]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {row.id: row for row in db.session.scalars(sa.select(model).where(model.id.in_(wanted)))}


def event_item(event: SlaEvent, agency: Agency | None, acknowledged_by: User | None,
               calendar: WorkingCalendar, now: datetime) -> dict[str, Any]:
    """A warning or breach as the supervisor reads it."""
    case, clock = event.case, event.clock
    late = lateness(calendar, event.due_at, clock, now) if event.kind == "breach" else None
    return {
        "id": event.id, "kind": event.kind, "step": event.step, "case_id": case.id,
        "tracking_code": case.tracking_code, "case_state": str(case.state),
        "case_open": CaseState(case.state) in OPEN_STATES,
        "agency": _agency_ref(agency),
        "category": {"id": case.category.id, "code": case.category.code,
                     "name_vi": case.category.name_vi, "name_en": case.category.name_en},
        "due_at": event.due_at, "recorded_at": event.recorded_at,
        "step_done_at": clock.stopped_at, "current_due_at": clock.due_at,
        "late_working_hours": _hours(late.working) if late else None,
        "late_clock_hours": _hours(late.clock) if late else None,
        "acknowledged_at": event.acknowledged_at,
        "acknowledged_by": ({"id": acknowledged_by.id, "full_name": acknowledged_by.full_name}
                            if acknowledged_by else None),
        "acknowledgement_note": event.acknowledgement_note,
    }


def list_due_soon(args: dict[str, Any], calendar: WorkingCalendar, now: datetime,
                  agency_id: int | None) -> dict[str, Any]:
    """Open cases whose current deadline falls within the next N working (or clock) hours."""
    span = timedelta(hours=args["within_hours"])
    # The deadline track looks N working hours ahead, the immediate track N clock hours.
    working_limit, clock_limit = calendar.add(now, span), now + span
    stmt = (sa.select(Case)
            .where(Case.state.in_(_OPEN), Case.due_at.is_not(None),
                   sa.or_(sa.and_(Case.track == Track.DEADLINE, Case.due_at <= working_limit),
                          sa.and_(Case.track == Track.IMMEDIATE, Case.due_at <= clock_limit)))
            .options(selectinload(Case.category), selectinload(Case.agency))
            .order_by(Case.due_at, Case.id))
    if not args["include_overdue"]:
        stmt = stmt.where(Case.due_at > now)
    if agency_id is not None:
        stmt = stmt.where(Case.agency_id == agency_id)
    if "category" in args:
        stmt = stmt.where(Case.category_id == args["category"])
    if "step" in args:
        stmt = stmt.where(Case.due_step == args["step"])
    page = paginate(stmt, args["page"], args["page_size"])
    page["items"] = [due_soon_item(case, calendar, now) for case in page["items"]]
    return page


def due_soon_item(case: Case, calendar: WorkingCalendar, now: datetime) -> dict[str, Any]:
    """A case near its deadline, with the time left on its track."""
    assert case.due_at is not None
    left = remaining(calendar, Track(case.track), now, case.due_at)
    return {
        "case_id": case.id, "tracking_code": case.tracking_code, "state": str(case.state),
        "priority": str(case.priority), "track": str(case.track),
        "agency": _agency_ref(case.agency),
        "category": {"id": case.category.id, "code": case.category.code,
                     "name_vi": case.category.name_vi, "name_en": case.category.name_en},
        "step": case.due_step, "due_at": case.due_at,
        "remaining_minutes": round(left.total_seconds() / 60),
        "extension_granted": case.extension_granted,
        "pending_extension_due_at": case.pending_extension_due_at,
    }


def sla_event_item(event: SlaEvent, calendar: WorkingCalendar, now: datetime) -> dict[str, Any]:
    """One event with its agency and acknowledger loaded."""
    agency = db.session.get(Agency, event.agency_id) if event.agency_id else None
    user = db.session.get(User, event.acknowledged_by_id) if event.acknowledged_by_id else None
    return event_item(event, agency, user, calendar, now)
