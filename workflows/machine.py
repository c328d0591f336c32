"""The case workflow table: the one place the rules live, read by engine, API, console and docs.

Pure data and pure checks, no database and no HTTP. The engine (workflows/operations.py)
decides which parties an actor is relative to a case, asks `check()` whether the action may
run, evaluates the named guards, validates the fields with `missing_fields()`, picks the
outcome with `outcome_for()` and applies its clock effects, then writes the timeline event
(public or internal, per `Transition.public`) and queues notifications (`Transition.notify`).

Vocabulary:

* `Party` - who an actor is *relative to the case* (the reporter, staff of the case's agency…).
* `Guard` - a named condition the engine evaluates against the case (the table only names it).
* `Condition` - a condition on the action's input fields (or the category) that picks an
  outcome or makes a field required; pure, evaluated here by `condition_holds()`.
* `ClockEffect` - what happens to the SLA clocks. `start_*` always sets a fresh deadline from
  now (replacing a running one); `stop_*` on a clock that is not running is a no-op.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar

from workflows.roles import Role
from workflows.states import OPEN_STATES, STATE_LABELS, CaseState, Priority, Rating, RejectReason

SCHEMA_VERSION = 1
"""Bumped when the shape of `as_dict()` changes, so clients can tell."""


# --------------------------------------------------------------------------- vocabularies


class Party(StrEnum):
    """Who may act, relative to the case (the engine works out which parties an actor is)."""

    REPORTER = "reporter"  # the citizen who sent it, or follows it after a merge
    AGENCY_STAFF = "agency_staff"  # staff of the agency the case is assigned to
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    SYSTEM = "system"  # scheduled jobs (close after the feedback window)
    OPEN311_CLIENT = "open311_client"


class Action(StrEnum):
    """What can be done to a case; the order is the order buttons and docs list them in."""

    SUBMIT = "submit"
    ASSIGN = "assign"
    ACCEPT = "accept"
    TRANSFER = "transfer"
    REQUEST_INFO = "request_info"
    PROVIDE_INFO = "provide_info"
    RESUME = "resume"
    RESOLVE = "resolve"
    REOPEN = "reopen"
    CLOSE = "close"
    REJECT = "reject"
    REQUEST_EXTENSION = "request_extension"
    EXTEND = "extend"
    PRIORITIZE = "prioritize"
    COMMENT = "comment"


class FieldName(StrEnum):
    """The input fields an action may take (the body of `POST /cases/{id}/actions/{action}`)."""

    NOTE = "note"
    REASON = "reason"
    AGENCY_ID = "agency_id"
    DUPLICATE_OF = "duplicate_of"
    DUE_AT = "due_at"
    DECISION = "decision"
    RATING = "rating"
    PRIORITY = "priority"
    PHOTOS = "photos"


class ExtensionDecision(StrEnum):
    """A supervisor's answer to an extension request (the `decision` field of `extend`)."""

    GRANT = "grant"
    REFUSE = "refuse"


class Guard(StrEnum):
    """Named conditions on the case that the engine evaluates; the table only names them."""

    IS_REPORTER = "is_reporter"
    CASE_ASSIGNED_TO_ACTOR_AGENCY = "case_assigned_to_actor_agency"
    WITHIN_FEEDBACK_WINDOW = "within_feedback_window"
    HAS_PENDING_EXTENSION_REQUEST = "has_pending_extension_request"
    NO_PENDING_EXTENSION_REQUEST = "no_pending_extension_request"
    BACK_TO_TRIAGE_ONLY = "back_to_triage_only"
    OTHER_AGENCY = "other_agency"
    DUPLICATE_OF_OTHER_CASE = "duplicate_of_other_case"
    PRIORITY_RAISED = "priority_raised"


GUARD_DESCRIPTIONS: dict[Guard, str] = {
    Guard.IS_REPORTER: "the actor sent the case, or follows it after a merge",
    Guard.CASE_ASSIGNED_TO_ACTOR_AGENCY: "the case is assigned to the actor's agency",
    Guard.WITHIN_FEEDBACK_WINDOW: "the case was resolved less than the feedback window ago",
    Guard.HAS_PENDING_EXTENSION_REQUEST: "an extension request awaits a decision",
    Guard.NO_PENDING_EXTENSION_REQUEST: "no other extension request awaits a decision",
    Guard.BACK_TO_TRIAGE_ONLY: "no agency_id: agency staff hand back to triage only",
    Guard.OTHER_AGENCY: "agency_id, when given, names another active agency",
    Guard.DUPLICATE_OF_OTHER_CASE: "duplicate_of names another case that is not rejected",
    Guard.PRIORITY_RAISED: "the new priority is higher than the current one",
}

PARTY_TESTS: dict[Party, Guard] = {
    Party.REPORTER: Guard.IS_REPORTER,
    Party.AGENCY_STAFF: Guard.CASE_ASSIGNED_TO_ACTOR_AGENCY,
}
"""The guard that makes an account this party for a given case (other parties follow the role)."""

PARTY_LABELS: dict[Party, dict[str, str]] = {
    Party.REPORTER: {"vi": "Người phản ánh", "en": "Reporter"},
    Party.AGENCY_STAFF: {"vi": "Cán bộ xử lý", "en": "Agency staff"},
    Party.OPERATOR: {"vi": "Bộ phận tiếp nhận", "en": "Operator"},
    Party.SUPERVISOR: {"vi": "Lãnh đạo", "en": "Supervisor"},
    Party.ADMIN: {"vi": "Quản trị hệ thống", "en": "Administrator"},
    Party.SYSTEM: {"vi": "Hệ thống", "en": "System"},
    Party.OPEN311_CLIENT: {"vi": "Ứng dụng Open311", "en": "Open311 client"},
}


class Condition(StrEnum):
    """Conditions on the input (or the category) that pick an outcome or require a field."""

    AGENCY_ID_GIVEN = "agency_id_given"
    DECISION_IS_GRANT = "decision=grant"
    REASON_IS_DUPLICATE = "reason=duplicate"
    CATEGORY_REQUIRES_AFTER_PHOTO = "category.requires_after_photo"


class ClockEffect(StrEnum):
    """What an action does to the SLA clocks; the engine interprets these."""

    START_TRIAGE = "start_triage"
    STOP_TRIAGE = "stop_triage"
    START_ACCEPT = "start_accept"
    STOP_ACCEPT = "stop_accept"
    START_RESOLVE = "start_resolve"
    STOP_RESOLVE = "stop_resolve"
    RESTART_RESOLVE = "restart_resolve"  # a new resolve deadline after a reopen: a new round
    PAUSE = "pause"  # running clocks stop counting (need_info)
    RESUME = "resume"  # paused clocks count again; deadlines move by the paused time
    MOVE_DEADLINE = "move_deadline"  # the granted extension becomes the deadline
    REAPPLY_POLICY = "reapply_policy"  # running deadlines recomputed for the new priority


CLOCK_EFFECT_TEXT: dict[ClockEffect, str] = {
    ClockEffect.START_TRIAGE: "triage clock starts",
    ClockEffect.STOP_TRIAGE: "triage clock stops",
    ClockEffect.START_ACCEPT: "accept clock starts",
    ClockEffect.STOP_ACCEPT: "accept clock stops",
    ClockEffect.START_RESOLVE: "resolve clock starts",
    ClockEffect.STOP_RESOLVE: "resolve clock stops",
    ClockEffect.RESTART_RESOLVE: "resolve clock restarts with a new deadline",
    ClockEffect.PAUSE: "clock pauses",
    ClockEffect.RESUME: "clock resumes",
    ClockEffect.MOVE_DEADLINE: "deadline moves",
    ClockEffect.REAPPLY_POLICY: "deadlines recomputed for the new priority",
}


class Recipient(StrEnum):
    """Who is told about an action; `agency` is the case's agency once the action is done."""

    REPORTER = "reporter"
    FOLLOWERS = "followers"
    AGENCY = "agency"
    SUPERVISORS = "supervisors"


FIELD_DESCRIPTIONS: dict[FieldName, str] = {
    FieldName.NOTE: "text for the timeline: the reply to the citizen, a question, an answer",
    FieldName.REASON: "why: free text, or a reject reason code for reject",
    FieldName.AGENCY_ID: "the agency the case goes to",
    FieldName.DUPLICATE_OF: "the surviving case a duplicate is merged into",
    FieldName.DUE_AT: "a deadline (ISO 8601): the requested or granted new deadline",
    FieldName.DECISION: "grant or refuse an extension request",
    FieldName.RATING: "the citizen's rating of the result",
    FieldName.PRIORITY: "the new priority",
    FieldName.PHOTOS: "photos: the citizen's evidence, or the agency's 'after' photos",
}

_OVERSEERS = frozenset({Party.SUPERVISOR, Party.ADMIN})
_STAFF_SIDE = frozenset({Party.AGENCY_STAFF, Party.OPERATOR, Party.SUPERVISOR})


def with_overseers(parties: Iterable[Party]) -> frozenset[Party]:
    """DESIGN: supervisor and admin may take any staff action, so add them to staff rows."""
    result = frozenset(parties)
    return result | _OVERSEERS if result & _STAFF_SIDE else result


def parties_for_role(
    role: Role | str, *, is_reporter: bool = False, in_case_agency: bool = False
) -> frozenset[Party]:
    """The parties an account is for one case, given its role and the two per-case guards."""
    parties: set[Party] = set()
    if is_reporter:
        parties.add(Party.REPORTER)
    if role == Role.STAFF and in_case_agency:
        parties.add(Party.AGENCY_STAFF)
    elif role == Role.OPERATOR:
        parties.add(Party.OPERATOR)
    elif role == Role.SUPERVISOR:
        parties.add(Party.SUPERVISOR)
    elif role == Role.ADMIN:
        parties.add(Party.ADMIN)
    return frozenset(parties)


# --------------------------------------------------------------------------- the row shape


@dataclass(frozen=True)
class Text:
    """A Vietnamese and English pair: shown in the console and the docs."""

    vi: str
    en: str

    def as_dict(self) -> dict[str, str]:
        """JSON shape."""
        return {"vi": self.vi, "en": self.en}


@dataclass(frozen=True)
class Outcome:
    """One possible result of an action: the first whose `when` holds wins; None = otherwise."""

    target: CaseState | None  # None: the state does not change
    clock_effects: tuple[ClockEffect, ...] = ()
    when: Condition | None = None


@dataclass(frozen=True)
class Requirement:
    """A field that is required only when a condition holds."""

    field: FieldName
    condition: Condition


@dataclass(frozen=True)
class GuardRule:
    """A guard the engine checks; it binds only the listed parties (empty: every party)."""

    guard: Guard
    parties: frozenset[Party] = frozenset()

    def applies_to(self, party: Party) -> bool:
        """Whether this guard binds an actor acting as `party`."""
        return not self.parties or party in self.parties


@dataclass(frozen=True)
class Transition:
    """One row of the workflow table."""

    action: Action
    sources: frozenset[CaseState]  # empty for submit: there is no case yet
    outcomes: tuple[Outcome, ...]
    parties: frozenset[Party]  # already expanded with supervisor and admin
    label: Text
    description: Text
    required_fields: frozenset[FieldName] = frozenset()
    optional_fields: frozenset[FieldName] = frozenset()
    conditionally_required: tuple[Requirement, ...] = ()
    choices: tuple[tuple[FieldName, tuple[str, ...]], ...] = ()
    guards: tuple[GuardRule, ...] = ()
    public: bool = False  # the timeline event is shown to the citizen and the public
    notify: frozenset[Recipient] = frozenset()

    @property
    def targets(self) -> frozenset[CaseState]:
        """States the case may end up in (empty when the action keeps the state)."""
        return frozenset(o.target for o in self.outcomes if o.target is not None)

    @property
    def keeps_state(self) -> bool:
        """Whether the action never changes the state (extension, priority, comment)."""
        return all(o.target is None for o in self.outcomes)

    @property
    def clock_effects(self) -> frozenset[ClockEffect]:
        """Every clock effect any outcome may have."""
        return frozenset(e for o in self.outcomes for e in o.clock_effects)

    @property
    def accepted_fields(self) -> frozenset[FieldName]:
        """Every field the action reads; anything else in the body is ignored."""
        conditional = {r.field for r in self.conditionally_required}
        return self.required_fields | self.optional_fields | conditional

    def choices_for(self, field: str) -> tuple[str, ...] | None:
        """The allowed values of a field, or None when it is free."""
        return next((values for name, values in self.choices if name == field), None)


# --------------------------------------------------------------------------- the table

_F = FieldName
_S = CaseState
_P = Party
_C = ClockEffect
_R = Recipient
_CITIZENS = frozenset({_R.REPORTER, _R.FOLLOWERS})


def _row(
    action: Action,
    sources: Iterable[CaseState],
    outcomes: Iterable[Outcome],
    parties: Iterable[Party],
    label: tuple[str, str],
    description: tuple[str, str],
    *,
    required: Iterable[FieldName] = (),
    optional: Iterable[FieldName] = (),
    conditionally_required: Iterable[Requirement] = (),
    choices: Mapping[FieldName, Iterable[str]] | None = None,
    guards: Iterable[GuardRule] = (),
    public: bool = False,
    notify: Iterable[Recipient] = (),
) -> Transition:
    """Build a row, expanding staff parties with supervisor and admin."""
    return Transition(
        action=action,
        sources=frozenset(sources),
        outcomes=tuple(outcomes),
        parties=with_overseers(parties),
        label=Text(*label),
        description=Text(*description),
        required_fields=frozenset(required),
        optional_fields=frozenset(optional),
        conditionally_required=tuple(conditionally_required),
        choices=tuple((f, tuple(str(x) for x in v)) for f, v in (choices or {}).items()),
        guards=tuple(guards),
        public=public,
        notify=frozenset(notify),
    )


_OPEN = tuple(s for s in CaseState if s in OPEN_STATES)
_ALL = tuple(CaseState)

TRANSITIONS: tuple[Transition, ...] = (
    _row(
        Action.SUBMIT, (),
        (
            Outcome(_S.ASSIGNED, (_C.START_ACCEPT, _C.START_RESOLVE),
                    when=Condition.AGENCY_ID_GIVEN),
            Outcome(_S.SUBMITTED, (_C.START_TRIAGE,)),
        ),
        (_P.REPORTER, _P.OPEN311_CLIENT, _P.OPERATOR),
        ("Gửi phản ánh", "Submit"),
        ("Người dân gửi phản ánh; nếu định tuyến chắc chắn thì chuyển thẳng đơn vị xử lý.",
         "A citizen sends a report; when routing is sure (agency_id set by routing) it goes "
         "straight to the agency."),
        optional=(_F.PHOTOS, _F.AGENCY_ID),
        public=True,
        notify=(_R.REPORTER, _R.AGENCY),
    ),
    _row(
        Action.ASSIGN, (_S.SUBMITTED,),
        (Outcome(_S.ASSIGNED, (_C.STOP_TRIAGE, _C.START_ACCEPT, _C.START_RESOLVE)),),
        (_P.OPERATOR,),
        ("Chuyển xử lý", "Assign"),
        ("Bộ phận tiếp nhận chuyển hồ sơ cho đơn vị xử lý.",
         "The operator routes the case to an agency."),
        required=(_F.AGENCY_ID,),
        optional=(_F.NOTE,),
        public=True,
        notify=(*_CITIZENS, _R.AGENCY),
    ),
    _row(
        Action.ACCEPT, (_S.ASSIGNED,),
        (Outcome(_S.IN_PROGRESS, (_C.STOP_ACCEPT,)),),
        (_P.AGENCY_STAFF,),
        ("Tiếp nhận xử lý", "Accept"),
        ("Đơn vị nhận hồ sơ và bắt đầu xử lý.", "The agency takes the case and starts work."),
        optional=(_F.NOTE,),
        public=True,
        notify=_CITIZENS,
    ),
    _row(
        Action.TRANSFER, (_S.ASSIGNED, _S.IN_PROGRESS),
        (
            Outcome(_S.ASSIGNED, (_C.START_ACCEPT, _C.START_RESOLVE),
                    when=Condition.AGENCY_ID_GIVEN),
            Outcome(_S.SUBMITTED, (_C.STOP_ACCEPT, _C.STOP_RESOLVE, _C.START_TRIAGE)),
        ),
        (_P.AGENCY_STAFF, _P.OPERATOR),
        ("Chuyển tiếp", "Transfer"),
        ("Đơn vị trả hồ sơ về bộ phận tiếp nhận, hoặc bộ phận tiếp nhận chuyển sang đơn vị "
         "khác (có agency_id).",
         "Agency staff hand the case back to triage; an operator moves it to another agency "
         "(with agency_id), which gets fresh deadlines."),
        required=(_F.REASON,),
        optional=(_F.AGENCY_ID, _F.NOTE),
        guards=(
            GuardRule(Guard.BACK_TO_TRIAGE_ONLY, frozenset({_P.AGENCY_STAFF})),
            GuardRule(Guard.OTHER_AGENCY),
        ),
        public=True,
        notify=(*_CITIZENS, _R.AGENCY),
    ),
    _row(
        Action.REQUEST_INFO, (_S.IN_PROGRESS,),
        (Outcome(_S.NEED_INFO, (_C.PAUSE,)),),
        (_P.AGENCY_STAFF,),
        ("Yêu cầu bổ sung", "Request information"),
        ("Đơn vị hỏi thêm người phản ánh; tạm dừng tính thời hạn.",
         "The agency asks the reporter for more; the clock pauses."),
        required=(_F.NOTE,),
        public=True,
        notify=_CITIZENS,
    ),
    _row(
        Action.PROVIDE_INFO, (_S.NEED_INFO,),
        (Outcome(_S.IN_PROGRESS, (_C.RESUME,)),),
        (_P.REPORTER,),
        ("Bổ sung thông tin", "Provide information"),
        ("Người phản ánh trả lời; tiếp tục tính thời hạn.",
         "The reporter answers; the clock resumes."),
        required=(_F.NOTE,),
        optional=(_F.PHOTOS,),
        public=True,
        notify=(_R.AGENCY,),
    ),
    _row(
        # DESIGN has no way out of need_info but the citizen's answer; an anonymous or silent
        # reporter would freeze the case. The agency resumes on its own (answer by phone, or
        # enough found on site) and then resolves or hands the case back as usual.
        Action.RESUME, (_S.NEED_INFO,),
        (Outcome(_S.IN_PROGRESS, (_C.RESUME,)),),
        (_P.AGENCY_STAFF,),
        ("Tiếp tục xử lý", "Resume"),
        ("Đơn vị tiếp tục xử lý khi không chờ được trả lời; tiếp tục tính thời hạn.",
         "The agency resumes work without the reporter's answer; the clock resumes."),
        required=(_F.NOTE,),
        public=True,
        notify=_CITIZENS,
    ),
    _row(
        Action.RESOLVE, (_S.IN_PROGRESS,),
        (Outcome(_S.RESOLVED, (_C.STOP_RESOLVE,)),),
        (_P.AGENCY_STAFF,),
        ("Báo kết quả xử lý", "Resolve"),
        ("Đơn vị trả lời người dân kèm ảnh sau xử lý (trừ khi lĩnh vực không yêu cầu).",
         "The agency replies to the citizen with at least one 'after' photo, unless the "
         "category says otherwise."),
        required=(_F.NOTE,),
        conditionally_required=(
            Requirement(_F.PHOTOS, Condition.CATEGORY_REQUIRES_AFTER_PHOTO),
        ),
        public=True,
        notify=_CITIZENS,
    ),
    _row(
        Action.REOPEN, (_S.RESOLVED, _S.CLOSED),
        (Outcome(_S.IN_PROGRESS, (_C.RESTART_RESOLVE,)),),
        (_P.REPORTER, _P.SUPERVISOR),
        ("Mở lại", "Reopen"),
        ("Người phản ánh chưa hài lòng (trong thời hạn đánh giá) hoặc lãnh đạo mở lại hồ sơ.",
         "The reporter, unsatisfied and within the feedback window, or a supervisor, reopens "
         "the case; the resolve clock restarts with a new deadline."),
        required=(_F.NOTE,),
        optional=(_F.RATING, _F.DUE_AT),
        choices={_F.RATING: tuple(Rating)},
        guards=(GuardRule(Guard.WITHIN_FEEDBACK_WINDOW, frozenset({_P.REPORTER})),),
        public=True,
        notify=(*_CITIZENS, _R.AGENCY),
    ),
    _row(
        Action.CLOSE, (_S.RESOLVED,),
        (Outcome(_S.CLOSED),),
        (_P.SYSTEM, _P.SUPERVISOR),
        ("Đóng hồ sơ", "Close"),
        ("Đóng khi người dân đã đánh giá hoặc hết thời hạn đánh giá.",
         "Closed once the citizen rated it or the feedback window ran out."),
        optional=(_F.RATING, _F.NOTE),
        choices={_F.RATING: tuple(Rating)},
        public=True,
        notify=_CITIZENS,
    ),
    _row(
        Action.REJECT, (_S.SUBMITTED, _S.ASSIGNED),
        (Outcome(_S.REJECTED, (_C.STOP_TRIAGE, _C.STOP_ACCEPT, _C.STOP_RESOLVE)),),
        (_P.OPERATOR, _P.SUPERVISOR),
        ("Từ chối", "Reject"),
        ("Từ chối với mã lý do hiển thị cho người dân; trùng lặp thì gộp vào hồ sơ còn lại.",
         "Refused with a reason code shown to the citizen; a duplicate is merged into "
         "duplicate_of and its reporter follows the surviving case."),
        required=(_F.REASON,),
        optional=(_F.NOTE,),
        conditionally_required=(Requirement(_F.DUPLICATE_OF, Condition.REASON_IS_DUPLICATE),),
        choices={_F.REASON: tuple(RejectReason)},
        guards=(GuardRule(Guard.DUPLICATE_OF_OTHER_CASE),),
        public=True,
        notify=_CITIZENS,
    ),
    _row(
        Action.REQUEST_EXTENSION, _OPEN,
        (Outcome(None),),
        (_P.AGENCY_STAFF,),
        ("Xin gia hạn", "Request extension"),
        ("Đơn vị xin gia hạn kèm lý do và thời hạn mới.",
         "The agency asks for a later deadline, with a reason."),
        required=(_F.REASON, _F.DUE_AT),
        guards=(GuardRule(Guard.NO_PENDING_EXTENSION_REQUEST),),
        notify=(_R.SUPERVISORS,),
    ),
    _row(
        Action.EXTEND, _OPEN,
        (
            Outcome(None, (_C.MOVE_DEADLINE,), when=Condition.DECISION_IS_GRANT),
            Outcome(None),
        ),
        (_P.SUPERVISOR,),
        ("Xét gia hạn", "Decide extension"),
        ("Lãnh đạo đồng ý (dời thời hạn) hoặc không đồng ý yêu cầu gia hạn.",
         "A supervisor grants (the deadline moves, to due_at or the requested one) or refuses "
         "the pending extension request."),
        required=(_F.DECISION,),
        optional=(_F.DUE_AT, _F.NOTE),
        choices={_F.DECISION: tuple(ExtensionDecision)},
        guards=(GuardRule(Guard.HAS_PENDING_EXTENSION_REQUEST),),
        notify=(_R.AGENCY,),
    ),
    _row(
        Action.PRIORITIZE, _OPEN,
        (Outcome(None, (_C.REAPPLY_POLICY,)),),
        (_P.OPERATOR,),
        ("Nâng mức ưu tiên", "Raise priority"),
        ("Bộ phận tiếp nhận nâng mức ưu tiên; thời hạn tính lại theo mức mới.",
         "The operator raises the priority; running deadlines follow the new priority."),
        required=(_F.PRIORITY,),
        optional=(_F.NOTE,),
        choices={_F.PRIORITY: tuple(Priority)},
        guards=(GuardRule(Guard.PRIORITY_RAISED),),
        notify=(_R.AGENCY,),
    ),
    _row(
        Action.COMMENT, _ALL,
        (Outcome(None),),
        (_P.AGENCY_STAFF, _P.OPERATOR),
        ("Ghi chú nội bộ", "Internal note"),
        ("Ghi chú nội bộ trên dòng thời gian, người dân không thấy.",
         "An internal note on the timeline, never shown to the citizen."),
        required=(_F.NOTE,),
    ),
)

TABLE: dict[Action, Transition] = {t.action: t for t in TRANSITIONS}
"""The table keyed by action, in table order."""


def _validate(rows: tuple[Transition, ...]) -> None:
    """Fail at import if the table contradicts itself, so a bad edit never ships."""
    problems: list[str] = []
    if [t.action for t in rows] != list(Action):
        problems.append("rows must list every Action once, in Action order")
    for t in rows:
        name = t.action.value
        if not t.outcomes or t.outcomes[-1].when is not None:
            problems.append(f"{name}: the last outcome must be unconditional")
        if any(o.when is None for o in t.outcomes[:-1]):
            problems.append(f"{name}: only the last outcome may be unconditional")
        if t.required_fields & t.optional_fields:
            problems.append(f"{name}: a field is both required and optional")
        if not t.parties:
            problems.append(f"{name}: nobody may take it")
        if bool(t.sources) == (t.action is Action.SUBMIT):
            problems.append(f"{name}: only submit has no source state")
        if any(f not in t.accepted_fields for f, _ in t.choices):
            problems.append(f"{name}: choices for a field the action does not take")
        if any(g.parties - t.parties for g in t.guards):
            problems.append(f"{name}: a guard names a party that may not act")
    if problems:
        raise RuntimeError("workflow table: " + "; ".join(problems))


_validate(TRANSITIONS)


# --------------------------------------------------------------------------- errors


class WorkflowError(Exception):
    """Base of the table's errors; `code` is the stable string clients switch on."""

    code: ClassVar[str] = "workflow_error"

    @property
    def details(self) -> dict[str, Any]:
        """Extra JSON-ready keys for the error body."""
        return {}


class UnknownAction(WorkflowError, LookupError):  # noqa: N818 - name fixed by the API contract
    """The action name is not in the table (API: 404)."""

    code = "unknown_action"

    def __init__(self, action: object) -> None:
        self.action = str(action)
        super().__init__(f"unknown action {self.action!r}")

    @property
    def details(self) -> dict[str, Any]:
        """The unknown name."""
        return {"action": self.action}


class InvalidTransition(WorkflowError):  # noqa: N818 - name fixed by the API contract
    """The action cannot be taken from the case's current state (API: 409)."""

    code = "invalid_transition"

    def __init__(self, action: Action, state: CaseState | None) -> None:
        self.action = action
        self.state = state
        where = "before a case exists" if state is None else f"from state {state.value!r}"
        super().__init__(f"action {action.value!r} is not allowed {where}")

    @property
    def details(self) -> dict[str, Any]:
        """The current state, so the client can refresh."""
        return {"action": self.action.value, "state": None if self.state is None else
                self.state.value}


class NotPermitted(WorkflowError):  # noqa: N818 - name fixed by the API contract
    """The state allows the action, but none of the actor's parties may take it (API: 403)."""

    code = "not_permitted"

    def __init__(self, action: Action, state: CaseState | None,
                 parties: Collection[Party]) -> None:
        self.action = action
        self.state = state
        self.parties = frozenset(parties)
        super().__init__(f"you may not {action.value} this case")

    @property
    def details(self) -> dict[str, Any]:
        """The action refused."""
        return {"action": self.action.value}


class MissingFields(WorkflowError):  # noqa: N818 - name fixed by the API contract
    """Required input fields are absent (API: 422); `errors` maps each to a message."""

    code = "missing_fields"

    def __init__(self, action: Action, fields: Iterable[str]) -> None:
        self.action = action
        self.fields = list(fields)
        super().__init__(f"{action.value} needs: {', '.join(self.fields)}")

    @property
    def errors(self) -> dict[str, list[str]]:
        """Field errors in the API's shape."""
        return {f: ["Missing data for required field."] for f in self.fields}


# --------------------------------------------------------------------------- queries


def transition_for(action: Action | str) -> Transition:
    """The row for an action, by enum or by name from a URL."""
    try:
        return TABLE[Action(action)]
    except (ValueError, KeyError):
        raise UnknownAction(action) from None


def _state_ok(transition: Transition, state: CaseState | None) -> bool:
    """Whether the action applies to a case in `state` (None: no case yet, for submit)."""
    if state is None:
        return not transition.sources
    return state in transition.sources


def _parties_ok(transition: Transition, parties: Collection[Party | str]) -> bool:
    """Whether any of the actor's parties may take the action."""
    return any(p in transition.parties for p in parties)


def allowed_actions(
    state: CaseState | None, parties: Collection[Party | str]
) -> list[Action]:
    """Actions the actor may take on a case in `state`, in table order (guards not checked)."""
    return [
        t.action for t in TRANSITIONS if _state_ok(t, state) and _parties_ok(t, parties)
    ]


def check(
    action: Action | str, state: CaseState | None, parties: Collection[Party | str]
) -> Transition:
    """The row if the action may run from `state` by one of `parties`; raises otherwise."""
    transition = transition_for(action)
    if not _state_ok(transition, state):
        raise InvalidTransition(transition.action, state)
    if not _parties_ok(transition, parties):
        raise NotPermitted(transition.action, state, parties)
    return transition


def guards_for(transition: Transition, party: Party | str) -> tuple[Guard, ...]:
    """Guards the engine must check when the actor takes the action as `party`."""
    return tuple(g.guard for g in transition.guards if g.applies_to(Party(party)))


def _present(value: object) -> bool:
    """Whether an input value counts as given (None, blanks and empty lists do not)."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, Collection):
        return len(value) > 0
    return True


def condition_holds(
    condition: Condition, fields: Mapping[str, Any], *, requires_after_photo: bool = False
) -> bool:
    """Evaluate a condition on the input fields (and the category's photo rule)."""
    if condition is Condition.AGENCY_ID_GIVEN:
        return _present(fields.get(FieldName.AGENCY_ID))
    if condition is Condition.DECISION_IS_GRANT:
        return fields.get(FieldName.DECISION) == ExtensionDecision.GRANT
    if condition is Condition.REASON_IS_DUPLICATE:
        return fields.get(FieldName.REASON) == RejectReason.DUPLICATE
    if condition is Condition.CATEGORY_REQUIRES_AFTER_PHOTO:
        return requires_after_photo
    raise ValueError(f"unknown condition {condition!r}")  # pragma: no cover


def outcome_for(transition: Transition, fields: Mapping[str, Any]) -> Outcome:
    """The outcome the input picks: the first whose condition holds, else the default."""
    for outcome in transition.outcomes:
        if outcome.when is None or condition_holds(outcome.when, fields):
            return outcome
    raise RuntimeError("unreachable: the last outcome is unconditional")  # pragma: no cover


def resolve_target(
    transition: Transition, fields: Mapping[str, Any], *, current: CaseState | None = None
) -> CaseState:
    """The state the case moves to; actions that keep the state need `current`."""
    target = outcome_for(transition, fields).target
    if target is not None:
        return target
    if current is None:
        raise ValueError(f"{transition.action.value} keeps the state: pass current=")
    return current


def missing_fields(
    transition: Transition, fields: Mapping[str, Any], *, requires_after_photo: bool
) -> list[str]:
    """Required fields absent from the input, in FieldName order."""
    needed = set(transition.required_fields)
    for req in transition.conditionally_required:
        if condition_holds(req.condition, fields, requires_after_photo=requires_after_photo):
            needed.add(req.field)
    return [f.value for f in FieldName if f in needed and not _present(fields.get(f))]


def require_fields(
    transition: Transition, fields: Mapping[str, Any], *, requires_after_photo: bool
) -> None:
    """Raise MissingFields when `missing_fields` finds any."""
    missing = missing_fields(transition, fields, requires_after_photo=requires_after_photo)
    if missing:
        raise MissingFields(transition.action, missing)


# --------------------------------------------------------------------------- export


def _ordered(values: Iterable[StrEnum], order: Iterable[StrEnum]) -> list[str]:
    """Enum members as strings, in their declaration order (stable JSON)."""
    present = set(values)
    return [v.value for v in order if v in present]


def transition_as_dict(t: Transition) -> dict[str, Any]:
    """One row as JSON-ready data."""
    return {
        "name": t.action.value,
        "label": t.label.as_dict(),
        "description": t.description.as_dict(),
        "sources": _ordered(t.sources, CaseState),
        "targets": _ordered(t.targets, CaseState),
        "keeps_state": t.keeps_state,
        "outcomes": [
            {
                "when": None if o.when is None else o.when.value,
                "target": None if o.target is None else o.target.value,
                "clock_effects": [e.value for e in o.clock_effects],
            }
            for o in t.outcomes
        ],
        "parties": _ordered(t.parties, Party),
        "guards": [
            {"guard": g.guard.value, "parties": _ordered(g.parties, Party) or None}
            for g in t.guards
        ],
        "required_fields": _ordered(t.required_fields, FieldName),
        "conditionally_required": [
            {"field": r.field.value, "condition": r.condition.value}
            for r in t.conditionally_required
        ],
        "optional_fields": _ordered(t.optional_fields, FieldName),
        "choices": {f.value: list(v) for f, v in t.choices},
        "public": t.public,
        "clock_effects": _ordered(t.clock_effects, ClockEffect),
        "notify": _ordered(t.notify, Recipient),
    }


def as_dict() -> dict[str, Any]:
    """The whole table as JSON-ready data, in stable order: what `GET /api/v1/workflow` sends."""
    return {
        "version": SCHEMA_VERSION,
        "states": [
            {"name": s.value, "label": dict(STATE_LABELS[s]), "open": s in OPEN_STATES}
            for s in CaseState
        ],
        "parties": [{"name": p.value, "label": dict(PARTY_LABELS[p])} for p in Party],
        "fields": [{"name": f.value, "description": FIELD_DESCRIPTIONS[f]} for f in FieldName],
        "guards": [{"name": g.value, "description": GUARD_DESCRIPTIONS[g]} for g in Guard],
        "party_guards": {p.value: g.value for p, g in PARTY_TESTS.items()},
        "clock_effects": [
            {"name": e.value, "description": CLOCK_EFFECT_TEXT[e]} for e in ClockEffect
        ],
        "actions": [transition_as_dict(t) for t in TRANSITIONS],
    }
