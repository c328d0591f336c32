"""Case states, priorities and labels: pure enums shared by the engine, the API and the docs."""

from enum import StrEnum


class CaseState(StrEnum):
    """Where a case is in its life; stored in English."""

    SUBMITTED = "submitted"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    NEED_INFO = "need_info"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REJECTED = "rejected"


STATE_LABELS: dict[CaseState, dict[str, str]] = {
    CaseState.SUBMITTED: {"vi": "Chờ tiếp nhận", "en": "Awaiting triage"},
    CaseState.ASSIGNED: {"vi": "Đã chuyển xử lý", "en": "Assigned"},
    CaseState.IN_PROGRESS: {"vi": "Đang xử lý", "en": "In progress"},
    CaseState.NEED_INFO: {"vi": "Chờ bổ sung", "en": "Waiting for information"},
    CaseState.RESOLVED: {"vi": "Đã xử lý", "en": "Resolved"},
    CaseState.CLOSED: {"vi": "Đã đóng", "en": "Closed"},
    CaseState.REJECTED: {"vi": "Từ chối", "en": "Rejected"},
}

OPEN_STATES = frozenset(
    {CaseState.SUBMITTED, CaseState.ASSIGNED, CaseState.IN_PROGRESS, CaseState.NEED_INFO}
)
"""States in which someone still owes the citizen an action."""

DONE_STATES = frozenset({CaseState.RESOLVED, CaseState.CLOSED})
"""States that count as handled in the figures."""


class Priority(StrEnum):
    """How fast a case must move; set by the category, raised by an operator."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Track(StrEnum):
    """Immediate cases count clock hours; the deadline track counts working time."""

    DEADLINE = "deadline"
    IMMEDIATE = "immediate"


class RejectReason(StrEnum):
    """Why a report was refused; shown to the citizen."""

    SPAM = "spam"
    ABUSIVE = "abusive"
    OUT_OF_SCOPE = "out_of_scope"
    OUT_OF_JURISDICTION = "out_of_jurisdiction"
    DUPLICATE = "duplicate"
    NOT_ENOUGH_INFORMATION = "not_enough_information"


class Rating(StrEnum):
    """The three levels provinces publish: hài lòng, chấp nhận, không hài lòng."""

    SATISFIED = "satisfied"
    ACCEPTED = "accepted"
    DISSATISFIED = "dissatisfied"
