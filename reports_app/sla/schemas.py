"""What the SLA endpoints take and return; the clock schemas also serve GET /cases/{id}."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from reports_app.auth.schemas import AgencyRefSchema
from reports_app.common.schemas import PageArgs, StrictSchema, no_control_chars_multiline, page_of
from workflows.sla import STEPS, ClockState
from workflows.states import Track

KINDS = ("warning", "breach")


class DateOrDateTime(fields.Field):
    """An ISO date (midnight in the office's time zone) or a date-time with a zone."""

    default_error_messages = {
        "invalid": "A date (2026-11-01) or a date-time with a time zone "
                   "(2026-11-01T08:00:00+07:00) is required.",
    }

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
            instant = datetime.fromisoformat(value)
        except ValueError:
            raise self.make_error("invalid") from None
        if instant.tzinfo is None:
            raise self.make_error("invalid")
        return instant


class SlaClockSchema(ma.Schema):
    """One step's latest clock: its deadlines and the time left (negative once late)."""

    id = fields.Integer()
    step = fields.String(metadata={"enum": list(STEPS)})
    round = fields.Integer(metadata={"description": "1, then 2 after a reopen, …"})
    track = fields.String(metadata={"enum": [t.value for t in Track],
                                    "description": "deadline: working time; immediate: clock time"})
    state = fields.String(metadata={"enum": [s.value for s in ClockState]})
    started_at = fields.DateTime()
    warn_at = fields.DateTime()
    due_at = fields.DateTime()
    original_due_at = fields.DateTime(metadata={"description": "before any extension"})
    paused_at = fields.DateTime(allow_none=True)
    stopped_at = fields.DateTime(allow_none=True)
    remaining_minutes = fields.Integer(metadata={
        "description": "working minutes left (clock minutes on the immediate track); negative "
                       "when late; frozen while paused and once stopped"})
    is_late = fields.Boolean()
    extended = fields.Boolean(metadata={"description": "a granted extension moved the deadline"})


class SlaClockStatusSchema(ma.Schema):
    """The case's current deadline (the running step due first) and every step's clock."""

    due_at = fields.DateTime(allow_none=True)
    due_step = fields.String(allow_none=True)
    state = fields.String(allow_none=True, metadata={"enum": ["running", "late"]})
    remaining_minutes = fields.Integer(allow_none=True)
    steps = fields.List(fields.Nested(SlaClockSchema))


class CaseClocksSchema(SlaClockStatusSchema):
    """A case's clocks as the supervisor's view shows them."""

    case_id = fields.Integer()
    tracking_code = fields.String()
    case_state = fields.String()


class CategoryRefSchema(ma.Schema):
    """A category as it appears inside other objects."""

    id = fields.Integer()
    code = fields.String()
    name_vi = fields.String()
    name_en = fields.String()


class UserRefSchema(ma.Schema):
    """Who acknowledged."""

    id = fields.Integer()
    full_name = fields.String()


class SlaEventSchema(ma.Schema):
    """A recorded warning or breach, with how late the step was."""

    id = fields.Integer()
    kind = fields.String(metadata={"enum": list(KINDS)})
    step = fields.String(metadata={"enum": list(STEPS)})
    case_id = fields.Integer()
    tracking_code = fields.String()
    case_state = fields.String()
    case_open = fields.Boolean()
    agency = fields.Nested(AgencyRefSchema, allow_none=True,
                           metadata={"description": "the agency that had the case when recorded"})
    category = fields.Nested(CategoryRefSchema)
    due_at = fields.DateTime(metadata={"description": "the deadline that was passed or close"})
    recorded_at = fields.DateTime()
    step_done_at = fields.DateTime(allow_none=True, metadata={
        "description": "when the clock stopped (step done or case moved on)"})
    current_due_at = fields.DateTime(metadata={
        "description": "the clock's deadline now (later than due_at after an extension)"})
    late_working_hours = fields.Float(allow_none=True, metadata={
        "description": "breaches: working hours past due_at until the step was done (or now, "
                       "or the pause)"})
    late_clock_hours = fields.Float(allow_none=True, metadata={
        "description": "breaches: the same in clock hours"})
    acknowledged_at = fields.DateTime(allow_none=True)
    acknowledged_by = fields.Nested(UserRefSchema, allow_none=True)
    acknowledgement_note = fields.String(allow_none=True)


SlaEventPageSchema = page_of(SlaEventSchema, "SlaEventPage")


class SlaEventArgs(PageArgs):
    """Filters of the breaches list."""

    agency = fields.Integer(validate=validate.Range(min=1))
    category = fields.Integer(validate=validate.Range(min=1))
    step = fields.String(validate=validate.OneOf(STEPS))
    kind = fields.String(validate=validate.OneOf(KINDS), metadata={
        "description": "warning or breach; both when absent"})
    open = fields.Boolean(metadata={"description": "true: the case is still open; false: "
                                                   "handled (resolved, closed) or rejected"})
    acknowledged = fields.Boolean()
    from_ = DateOrDateTime(data_key="from", metadata={
        "description": "recorded at or after (a date means midnight, office time)"})
    to = DateOrDateTime(metadata={"description": "recorded before"})

    @ma.validates_schema
    def period_in_order(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """An empty or reversed period is a mistake, not an empty list."""
        start, end = data.get("from_"), data.get("to")
        if start is not None and end is not None and type(start) is type(end) and end <= start:
            raise ma.ValidationError("Must be after 'from'.", "to")


class AcknowledgeSchema(StrictSchema):
    """A supervisor's note on a warning or breach."""

    note = fields.String(required=True, validate=[
        validate.Length(max=2000), no_control_chars_multiline,
        validate.Regexp(r"\s*\S", error="Write what was seen or done.")])


class DueSoonArgs(PageArgs):
    """Which running deadlines count as soon."""

    within_hours = fields.Float(load_default=8.0, validate=validate.Range(
        min=0, max=1000, min_inclusive=False), metadata={
        "description": "working hours ahead (clock hours for the immediate track)"})
    include_overdue = fields.Boolean(load_default=False, metadata={
        "description": "also list cases already past their deadline"})
    agency = fields.Integer(validate=validate.Range(min=1))
    category = fields.Integer(validate=validate.Range(min=1))
    step = fields.String(validate=validate.OneOf(STEPS))


class DueSoonCaseSchema(ma.Schema):
    """An open case whose current deadline is near."""

    case_id = fields.Integer()
    tracking_code = fields.String()
    state = fields.String()
    priority = fields.String()
    track = fields.String()
    agency = fields.Nested(AgencyRefSchema, allow_none=True)
    category = fields.Nested(CategoryRefSchema)
    step = fields.String()
    due_at = fields.DateTime()
    remaining_minutes = fields.Integer(metadata={
        "description": "working minutes left (clock minutes on the immediate track)"})
    extension_granted = fields.Boolean()
    pending_extension_due_at = fields.DateTime(allow_none=True)


DueSoonPageSchema = page_of(DueSoonCaseSchema, "DueSoonPage")
