"""Performing workflow actions: guard, move, timeline event, clocks, notifications; flush only.

Every public function here runs inside the caller's transaction and never commits: the
request handler (or the job) commits once, so an action is all or nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from reports_app.models import Agency, Case, CaseEvent, CaseFollower, Category, User
from workflows import machine
from workflows.calendar import WorkingCalendar
from workflows.machine import (
    Action,
    ExtensionDecision,
    FieldName,
    Guard,
    Party,
    Transition,
    WorkflowError,
)
from workflows.notifications import enqueue, queue_for_action
from workflows.photos import StoredPhoto, attach_photos
from workflows.roles import Role
from workflows.sla import apply_clock_effects
from workflows.states import CaseState, Priority, RejectReason
from workflows.stats import working_minutes
from workflows.text import fold
from workflows.tracking import tracking_code

log = logging.getLogger(__name__)

PRIORITY_RANK = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class StaleVersion(WorkflowError):
    """The case changed since the client read it (API: 409 with the current state)."""

    code = "stale_version"

    def __init__(self, case: Case) -> None:
        self.state = str(case.state)
        self.version = case.version
        super().__init__("the case was changed by someone else; reload it and try again")

    @property
    def details(self) -> dict[str, Any]:
        """The current state and version so the client can refresh."""
        return {"state": self.state, "version": self.version}


class GuardFailed(WorkflowError):
    """A named guard of the workflow table does not hold for this case and input."""

    def __init__(self, guard: Guard, text: str, *, status_hint: int = 409) -> None:
        self.guard = guard
        self.code = GUARD_CODES[guard]
        self.status_hint = status_hint
        super().__init__(text)

    @property
    def details(self) -> dict[str, Any]:
        """The guard that failed, by name."""
        return {"guard": self.guard.value}


class InvalidInput(WorkflowError):
    """A field has a value the action cannot use (API: 422 with field errors)."""

    code = "validation_error"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


GUARD_CODES: dict[Guard, str] = {
    Guard.IS_REPORTER: "not_permitted",
    Guard.CASE_ASSIGNED_TO_ACTOR_AGENCY: "not_permitted",
    Guard.WITHIN_FEEDBACK_WINDOW: "feedback_window_closed",
    Guard.HAS_PENDING_EXTENSION_REQUEST: "no_pending_extension",
    Guard.NO_PENDING_EXTENSION_REQUEST: "extension_pending",
    Guard.BACK_TO_TRIAGE_ONLY: "transfer_to_triage_only",
    Guard.OTHER_AGENCY: "invalid_agency",
    Guard.DUPLICATE_OF_OTHER_CASE: "invalid_duplicate",
    Guard.PRIORITY_RAISED: "priority_not_raised",
}


@dataclass(frozen=True)
class Actor:
    """Who acts: an account, or the system / an Open311 client acting without one."""

    user: User | None
    party: Party | None = None

    @classmethod
    def system(cls) -> Actor:
        """Scheduled jobs."""
        return cls(None, Party.SYSTEM)

    @property
    def id(self) -> int | None:
        """The account id, if any."""
        return self.user.id if self.user else None


@dataclass
class WorkflowContext:
    """What actions need besides the database: the clock and the rules' settings."""

    calendar: WorkingCalendar
    now: datetime
    feedback_window: timedelta = field(default_factory=lambda: timedelta(days=7))
    tz: str = "Asia/Ho_Chi_Minh"


def is_reporter(session: Session, case: Case, user: User | None) -> bool:
    """The account sent the case or follows it after a merge."""
    if user is None:
        return False
    if case.reporter_id == user.id:
        return True
    return session.scalar(sa.select(CaseFollower.id).where(
        CaseFollower.case_id == case.id, CaseFollower.user_id == user.id)) is not None


def parties_of(session: Session, case: Case | None, actor: Actor) -> frozenset[Party]:
    """The parties an actor is for this case (reporter, the case's agency staff, role)."""
    if actor.party is not None:
        return frozenset({actor.party})
    user = actor.user
    if user is None:
        return frozenset()
    reporter = case is None and user.role == Role.CITIZEN or (
        case is not None and is_reporter(session, case, user))
    in_agency = case is not None and user.role == Role.STAFF and (
        case.agency_id is not None and case.agency_id == user.agency_id)
    return machine.parties_for_role(user.role, is_reporter=reporter, in_case_agency=in_agency)


def allowed_actions_for(session: Session, case: Case, actor: Actor) -> list[str]:
    """Actions the actor may try on the case now (the table; guards are checked on submit)."""
    parties = parties_of(session, case, actor)
    return [a.value for a in machine.allowed_actions(CaseState(case.state), parties)
            if a is not Action.SUBMIT]


def _check_guard(session: Session, guard: Guard, case: Case, actor: Actor,
                 fields: Mapping[str, Any], ctx: WorkflowContext) -> None:
    if guard is Guard.WITHIN_FEEDBACK_WINDOW:
        if case.resolved_at is None or ctx.now - case.resolved_at > ctx.feedback_window:
            raise GuardFailed(guard, "The feedback window for this case has closed.")
    elif guard is Guard.HAS_PENDING_EXTENSION_REQUEST:
        if case.pending_extension_due_at is None:
            raise GuardFailed(guard, "No extension request is waiting for a decision.")
    elif guard is Guard.NO_PENDING_EXTENSION_REQUEST:
        if case.pending_extension_due_at is not None:
            raise GuardFailed(guard, "An extension request is already waiting for a decision.")
    elif guard is Guard.BACK_TO_TRIAGE_ONLY:
        if fields.get(FieldName.AGENCY_ID) is not None:
            raise GuardFailed(guard, "Agency staff hand a case back to triage; the operator "
                                     "chooses the next agency.", status_hint=403)
    elif guard is Guard.OTHER_AGENCY:
        agency_id = fields.get(FieldName.AGENCY_ID)
        if agency_id is not None:
            agency = session.get(Agency, agency_id)
            if agency is None or not agency.is_active or agency_id == case.agency_id:
                raise GuardFailed(guard, "agency_id must name another active agency.",
                                  status_hint=422)
    elif guard is Guard.DUPLICATE_OF_OTHER_CASE:
        target_id = fields.get(FieldName.DUPLICATE_OF)
        if target_id is not None:
            target = session.get(Case, target_id)
            if target is None or target.id == case.id or target.state == CaseState.REJECTED:
                raise GuardFailed(guard, "duplicate_of must name another case that is not "
                                         "rejected.", status_hint=422)
    elif guard is Guard.PRIORITY_RAISED:
        new = fields.get(FieldName.PRIORITY)
        if new is None or PRIORITY_RANK[Priority(new)] <= PRIORITY_RANK[Priority(case.priority)]:
            raise GuardFailed(guard, "The new priority must be higher than the current one.",
                              status_hint=422)
    elif guard is Guard.IS_REPORTER and not is_reporter(session, case, actor.user) or (
            guard is Guard.CASE_ASSIGNED_TO_ACTOR_AGENCY and (
                actor.user is None or case.agency_id != actor.user.agency_id)):
        raise GuardFailed(guard, "You may not act on this case.", status_hint=403)


def _acting_party(session: Session, transition: Transition, case: Case, actor: Actor,
                  parties: frozenset[Party], fields: Mapping[str, Any],
                  ctx: WorkflowContext) -> Party:
    """The party the actor acts as: the first allowed one whose guards all hold."""
    order = [Party.ADMIN, Party.SUPERVISOR, Party.OPERATOR, Party.AGENCY_STAFF, Party.REPORTER,
             Party.OPEN311_CLIENT, Party.SYSTEM]
    candidates = [p for p in order if p in parties and p in transition.parties]
    failure: GuardFailed | None = None
    for party in candidates:
        try:
            for guard in machine.guards_for(transition, party):
                _check_guard(session, guard, case, actor, fields, ctx)
        except GuardFailed as exc:
            failure = failure or exc
            continue
        return party
    assert failure is not None
    raise failure


def _validate_values(transition: Transition, fields: Mapping[str, Any], ctx: WorkflowContext,
                     case: Case) -> None:
    errors: dict[str, list[str]] = {}
    for name in (FieldName.REASON, FieldName.DECISION, FieldName.PRIORITY, FieldName.RATING):
        choices = transition.choices_for(name)
        value = fields.get(name)
        if choices and value is not None and str(value) not in choices:
            errors[name.value] = [f"Must be one of: {', '.join(choices)}."]
    due = fields.get(FieldName.DUE_AT)
    if due is not None:
        if not isinstance(due, datetime) or due.tzinfo is None:
            errors["due_at"] = ["A date and time with a time zone is required."]
        elif due <= ctx.now:
            errors["due_at"] = ["Must be in the future."]
        elif case.resolve_due_at is not None and due <= case.resolve_due_at and \
                transition.action is Action.REQUEST_EXTENSION:
            errors["due_at"] = ["Must be later than the current deadline."]
    if errors:
        raise InvalidInput(errors)


def perform_action(session: Session, case: Case, action: Action | str, actor: Actor,
                   fields: Mapping[str, Any], ctx: WorkflowContext, *,
                   expected_version: int | None = None,
                   photos: list[StoredPhoto] | None = None) -> CaseEvent:
    """Run one workflow action on a case for an actor; flushes, the caller commits."""
    if expected_version is not None and expected_version != case.version:
        raise StaleVersion(case)
    fields = {k: v for k, v in fields.items() if v is not None}
    if photos:
        fields[FieldName.PHOTOS] = photos
    parties = parties_of(session, case, actor)
    transition = machine.check(action, CaseState(case.state), parties)
    unknown = set(fields) - {f.value for f in transition.accepted_fields}
    if unknown:
        raise InvalidInput({name: ["Not used by this action."] for name in sorted(unknown)})
    category = session.get(Category, case.category_id)
    machine.require_fields(transition, fields,
                           requires_after_photo=bool(category and category.requires_after_photo))
    _validate_values(transition, fields, ctx, case)
    party = _acting_party(session, transition, case, actor, parties, fields, ctx)

    from_state = CaseState(case.state)
    outcome = machine.outcome_for(transition, fields)
    to_state = outcome.target or from_state
    extra: dict[str, Any] = {}
    if transition.action in (Action.ASSIGN, Action.TRANSFER):
        # The routing decision on the timeline says where the case came from, too.
        extra["from_agency_id"] = case.agency_id
    try:
        # Any flush below may be the one that finds the row changed (version_id_col).
        _apply_effects(session, case, transition.action, fields, ctx)
        case.state = to_state
        case.updated_at = ctx.now
        event = _record(session, case, transition, actor, party, from_state, to_state, fields,
                        ctx, extra=extra)
        if photos:
            kind = {Action.RESOLVE: "after", Action.PROVIDE_INFO: "info"}.get(
                transition.action, "extra")
            attach_photos(session, case, event, photos, kind)
        new_deadline = fields.get(FieldName.DUE_AT)
        if transition.action is not Action.REOPEN:
            new_deadline = new_deadline or case.pending_extension_due_at
        apply_clock_effects(session, case, outcome.clock_effects, ctx.calendar, ctx.now,
                            new_deadline=new_deadline)
        if transition.action is Action.EXTEND:
            case.pending_extension_due_at = None
        session.flush()
    except StaleDataError:
        session.rollback()
        fresh = session.get(Case, case.id)
        raise StaleVersion(fresh if fresh is not None else case) from None
    queue_for_action(session, case, transition, event, state_changed=to_state != from_state)
    session.flush()
    log.info("case %s: %s by %s (%s) %s -> %s", case.id, transition.action.value, actor.id,
             party.value, from_state.value, to_state.value)
    return event


def _apply_effects(session: Session, case: Case, action: Action, fields: Mapping[str, Any],
                   ctx: WorkflowContext) -> None:
    """What each action changes on the case besides its state and clocks."""
    now = ctx.now
    if action in (Action.ASSIGN, Action.TRANSFER):
        case.agency_id = fields.get(FieldName.AGENCY_ID)
        case.assigned_at = now if case.agency_id is not None else case.assigned_at
    elif action is Action.ACCEPT:
        case.accepted_at = now
    elif action is Action.RESOLVE:
        # A request for more time is moot once the work is done.
        case.pending_extension_due_at = None
        case.resolved_at = now
        case.resolution_round += 1
        case.public_reply = fields.get(FieldName.NOTE)
        case.resolve_working_minutes = working_minutes(ctx.calendar, case.submitted_at, now)
    elif action is Action.REOPEN:
        case.closed_at = None
        if fields.get(FieldName.RATING):
            case.latest_rating = str(fields[FieldName.RATING])
    elif action is Action.CLOSE:
        case.closed_at = now
        if fields.get(FieldName.RATING):
            case.latest_rating = str(fields[FieldName.RATING])
    elif action is Action.REJECT:
        case.rejected_at = now
        case.reject_reason = str(fields[FieldName.REASON])
        if fields.get(FieldName.REASON) == RejectReason.DUPLICATE:
            _merge_into(session, case, fields[FieldName.DUPLICATE_OF], ctx)
    elif action is Action.REQUEST_EXTENSION:
        case.pending_extension_due_at = fields[FieldName.DUE_AT]
    elif action is Action.EXTEND and fields.get(FieldName.DECISION) == ExtensionDecision.REFUSE:
        case.pending_extension_due_at = None
    elif action is Action.PRIORITIZE:
        case.priority = Priority(fields[FieldName.PRIORITY])


def _merge_into(session: Session, duplicate: Case, target_id: int, ctx: WorkflowContext) -> None:
    """The duplicate's reporter (and followers) follow the surviving case and are told so."""
    target = session.get(Case, target_id)
    assert target is not None
    duplicate.duplicate_of_id = target.id
    people = {f.user_id for f in session.scalars(sa.select(CaseFollower).where(
        CaseFollower.case_id == duplicate.id))}
    if duplicate.reporter_id is not None:
        people.add(duplicate.reporter_id)
    people.discard(target.reporter_id)
    for user_id in sorted(people):
        exists = session.scalar(sa.select(CaseFollower.id).where(
            CaseFollower.case_id == target.id, CaseFollower.user_id == user_id))
        if exists is None:
            session.add(CaseFollower(case_id=target.id, user_id=user_id, created_at=ctx.now))
        user = session.get(User, user_id)
        if user is not None and user.is_active:
            enqueue(session, dedupe_key=f"merge:{duplicate.id}:{target.id}:{user_id}",
                    topic="merged", case=duplicate, user=user,
                    values={"target": target.tracking_code},
                    data={"merged_into": target.id,
                          "merged_into_tracking_code": target.tracking_code},
                    body={"vi": f"Bạn sẽ nhận thông báo về hồ sơ {target.tracking_code}.",
                          "en": f"You will hear about case {target.tracking_code} from now on."})


def _record(session: Session, case: Case, transition: Transition, actor: Actor, party: Party,
            from_state: CaseState | None, to_state: CaseState, fields: Mapping[str, Any],
            ctx: WorkflowContext, *, extra: Mapping[str, Any] | None = None) -> CaseEvent:
    data = {k: _jsonable(v) for k, v in fields.items()
            if k not in (FieldName.NOTE, FieldName.PHOTOS)}
    data.update({k: _jsonable(v) for k, v in (extra or {}).items() if v is not None})
    reason = fields.get(FieldName.REASON)
    event = CaseEvent(case_id=case.id, action=transition.action.value, actor_id=actor.id,
                      party=party.value, from_state=from_state.value if from_state else None,
                      to_state=to_state.value, note=fields.get(FieldName.NOTE),
                      reason=str(reason) if reason is not None else None, data=data,
                      is_public=transition.public, created_at=ctx.now)
    session.add(event)
    session.flush()
    return event


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value if isinstance(value, int | float | bool | type(None)) else str(value)


@dataclass
class NewReport:
    """What a submission carries, already validated by the caller."""

    category: Category
    description: str
    lat: float | None
    lon: float | None
    area_id: int | None = None
    accuracy_m: float | None = None
    address: str | None = None
    captured_at: datetime | None = None
    is_public: bool = True
    is_anonymous: bool = False
    attributes: dict[str, Any] = field(default_factory=dict)
    source: str = "app"
    location_source: str | None = None
    location_mismatch_m: float | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    priority: Priority | None = None


def submit_report(session: Session, report: NewReport, actor: Actor, ctx: WorkflowContext, *,
                  reporter: User | None = None, photos: list[StoredPhoto] | None = None,
                  routed_agency_id: int | None = None, routing_rule_id: int | None = None
                  ) -> Case:
    """File a new case: straight to `assigned` when routing is sure, else `submitted`."""
    parties = parties_of(session, None, actor)
    fields: dict[str, Any] = {}
    if routed_agency_id is not None:
        fields[FieldName.AGENCY_ID] = routed_agency_id
    transition = machine.check(Action.SUBMIT, None, parties)
    party = next(p for p in (Party.REPORTER, Party.OPEN311_CLIENT, Party.OPERATOR, Party.ADMIN,
                             Party.SUPERVISOR) if p in parties and p in transition.parties)
    outcome = machine.outcome_for(transition, fields)
    category = report.category
    case = Case(
        tracking_code=_unique_code(session, ctx), source=report.source,
        state=outcome.target, priority=report.priority or Priority(category.default_priority),
        track=category.track, reporter_id=reporter.id if reporter else None,
        reporter_name=report.reporter_name, reporter_phone=report.reporter_phone,
        reporter_email=report.reporter_email, is_anonymous=report.is_anonymous,
        is_public=report.is_public, category_id=category.id, area_id=report.area_id,
        agency_id=routed_agency_id, description=report.description,
        search_text=fold(" ".join(filter(None, [report.description, report.address]))),
        attributes=report.attributes, lat=report.lat, lon=report.lon,
        accuracy_m=report.accuracy_m, location_source=report.location_source,
        location_mismatch_m=report.location_mismatch_m, address=report.address,
        captured_at=report.captured_at, submitted_at=ctx.now,
        assigned_at=ctx.now if routed_agency_id else None, created_at=ctx.now,
        updated_at=ctx.now)
    session.add(case)
    session.flush()
    data = {"agency_id": routed_agency_id, "routing_rule_id": routing_rule_id,
            "area_id": report.area_id, "source": report.source}
    event = CaseEvent(case_id=case.id, action=Action.SUBMIT.value, actor_id=actor.id,
                      party=party.value, from_state=None, to_state=case.state.value,
                      data={k: v for k, v in data.items() if v is not None},
                      is_public=transition.public, created_at=ctx.now)
    session.add(event)
    session.flush()
    if photos:
        attach_photos(session, case, event, photos, "report")
    apply_clock_effects(session, case, outcome.clock_effects, ctx.calendar, ctx.now)
    queue_for_action(session, case, transition, event, state_changed=True)
    session.flush()
    log.info("case %s submitted (%s) by %s -> %s", case.id, case.tracking_code, actor.id,
             case.state.value)
    return case


def _unique_code(session: Session, ctx: WorkflowContext) -> str:
    """A tracking code not yet used; longer codes only if the month's space gets crowded."""
    for attempt in range(12):
        code = tracking_code(ctx.now, ctx.tz, length=4 + attempt // 3)
        if session.scalar(sa.select(Case.id).where(Case.tracking_code == code)) is None:
            return code
    raise RuntimeError("could not find a free tracking code")  # pragma: no cover
