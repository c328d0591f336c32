"""Case schemas: the queries and action bodies the console sends, and two views of a case.

The staff view has no field for the reporter's identity or the photos' EXIF position, so
nothing can leak through it; the operator view (operators, supervisors, admins) adds them.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from reports_app.common.schemas import PageArgs, StrictSchema, multiline, page_of, text
from workflows.states import CaseState


class LabelSchema(ma.Schema):
    """A Vietnamese and English text."""

    vi = fields.String()
    en = fields.String()


class RefSchema(ma.Schema):
    """A category, area or agency by id, code and name."""

    id = fields.Integer()
    code = fields.String()
    name = fields.Nested(LabelSchema)


# --------------------------------------------------------------------------- input


class CaseListArgs(PageArgs):
    """Work-queue filters; `status` may repeat or be a comma-separated list."""

    status = fields.List(fields.String(validate=validate.Length(max=200)),
                         metadata={"description": "States, repeated or comma-separated"})
    category = text(max_len=40, metadata={"description": "Category code"})
    area = text(max_len=20, metadata={"description": "Area code; includes the areas inside it"})
    agency = text(max_len=40, metadata={"description": "Agency id or code"})
    overdue = fields.Boolean(metadata={"description": "Open with its deadline passed (or not)"})
    due_before = fields.AwareDateTime(metadata={"description": "Deadline before this instant"})
    pending_extension = fields.Boolean(
        metadata={"description": "An extension request awaits a decision (or not)"})
    q = text(max_len=200, metadata={
        "description": "Free text (with or without Vietnamese diacritics) or a tracking code"})

    @ma.post_load
    def split_statuses(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        """Accept `status=a&status=b` and `status=a,b`; refuse unknown states by name."""
        if "status" in data:
            names = [s.strip() for value in data["status"] for s in value.split(",") if s.strip()]
            unknown = [n for n in names if n not in set(CaseState)]
            if unknown:
                raise ma.ValidationError(
                    {"status": [f"Unknown state: {', '.join(unknown)}. Use one of: "
                                f"{', '.join(CaseState)}."]})
            data["status"] = names
        return data


class ActionBodySchema(StrictSchema):
    """The fields any action may take; which ones an action reads is in `GET /workflow`."""

    version = fields.Integer(required=True, metadata={
        "description": "The case version the caller saw; a stale one gets 409 stale_version"})
    note = multiline(allow_none=True, metadata={"description": "Timeline text"})
    reason = text(max_len=500, allow_none=True,
                  metadata={"description": "Why; a reason code for reject"})
    agency_id = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    duplicate_of = fields.Integer(allow_none=True, validate=validate.Range(min=1),
                                  metadata={"int64": True})
    due_at = fields.AwareDateTime(allow_none=True)
    decision = text(max_len=20, allow_none=True)
    priority = text(max_len=20, allow_none=True)
    rating = text(max_len=20, allow_none=True)


class ActionFormSchema(ActionBodySchema):
    """Multipart form of an action, for `resolve` with its 'after' photos (documentation)."""

    photos = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}))


class InfoBodySchema(StrictSchema):
    """The reporter's answer to the agency's question."""

    note = multiline(required=True, metadata={"description": "The answer"})
    version = fields.Integer(metadata={"description": "Optional: refuse if the case changed"})


class InfoFormSchema(InfoBodySchema):
    """Multipart form of an answer with photos (documentation)."""

    photos = fields.List(fields.Raw(metadata={"type": "string", "format": "binary"}))


# --------------------------------------------------------------------------- output


class ReporterSchema(ma.Schema):
    """Who sent the case (operators, supervisors and admins only)."""

    id = fields.Integer(allow_none=True)
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    is_anonymous = fields.Boolean()


class PhotoSchema(ma.Schema):
    """A photo by its public, metadata-free derivatives."""

    id = fields.Integer()
    kind = fields.String(metadata={"description": "report, info or after"})
    event_id = fields.Integer(allow_none=True)
    width = fields.Integer()
    height = fields.Integer()
    display_url = fields.String()
    thumb_url = fields.String()
    created_at = fields.DateTime()


class OperatorPhotoSchema(PhotoSchema):
    """A photo with its private EXIF position and capture time."""

    exif_lat = fields.Float(allow_none=True)
    exif_lon = fields.Float(allow_none=True)
    exif_captured_at = fields.DateTime(allow_none=True)


class ActorSchema(ma.Schema):
    """The account that acted (absent for the reporter in the staff view, and for the system)."""

    id = fields.Integer()
    name = fields.String(allow_none=True)
    role = fields.String()


class RoutingSchema(ma.Schema):
    """A routing decision: where the case went, from where, and by rule or by an operator."""

    agency = fields.Nested(RefSchema, allow_none=True)
    from_agency = fields.Nested(RefSchema, allow_none=True)
    rule_id = fields.Integer(allow_none=True)
    by = fields.String(allow_none=True, metadata={"description": "rule or operator"})


class CaseRefSchema(ma.Schema):
    """Another case by id and tracking code."""

    id = fields.Integer()
    tracking_code = fields.String(allow_none=True)


class TimelineEventSchema(ma.Schema):
    """One line of the timeline."""

    id = fields.Integer()
    action = fields.String()
    label = fields.Nested(LabelSchema, allow_none=True)
    party = fields.String()
    party_label = fields.Nested(LabelSchema, allow_none=True)
    actor = fields.Nested(ActorSchema, allow_none=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String()
    note = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    reason_label = fields.Nested(LabelSchema, allow_none=True)
    is_public = fields.Boolean()
    created_at = fields.DateTime()
    photo_ids = fields.List(fields.Integer())
    routing = fields.Nested(RoutingSchema)
    duplicate_of = fields.Nested(CaseRefSchema)
    due_at = fields.String()
    priority = fields.String()
    rating = fields.String()
    decision = fields.String()
    decision_label = fields.Nested(LabelSchema)


class ClockSchema(ma.Schema):
    """One SLA clock: a step in one round."""

    step = fields.String()
    round = fields.Integer()
    track = fields.String()
    allowed_minutes = fields.Integer()
    status = fields.String(metadata={"description": "running, paused or stopped"})
    started_at = fields.DateTime()
    warn_at = fields.DateTime()
    due_at = fields.DateTime()
    original_due_at = fields.DateTime()
    paused_at = fields.DateTime(allow_none=True)
    stopped_at = fields.DateTime(allow_none=True)
    is_overdue = fields.Boolean()


class StaffCaseSummarySchema(ma.Schema):
    """A queue row as agency staff see it: no reporter."""

    id = fields.Integer()
    tracking_code = fields.String()
    state = fields.String()
    state_label = fields.Nested(LabelSchema)
    priority = fields.String()
    track = fields.String()
    version = fields.Integer()
    category = fields.Nested(RefSchema)
    area = fields.Nested(RefSchema, allow_none=True)
    agency = fields.Nested(RefSchema, allow_none=True)
    description = fields.String()
    address = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    submitted_at = fields.DateTime()
    updated_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    due_step = fields.String(allow_none=True)
    is_overdue = fields.Boolean()
    remaining_minutes = fields.Integer(allow_none=True, metadata={
        "description": "Working minutes to the deadline (clock minutes on the immediate "
                       "track); negative when late"})
    resolve_due_at = fields.DateTime(allow_none=True)
    pending_extension_due_at = fields.DateTime(allow_none=True)
    thumb_url = fields.String(allow_none=True)


class OperatorCaseSummarySchema(StaffCaseSummarySchema):
    """A queue row with the reporter (operators, supervisors, admins)."""

    reporter = fields.Nested(ReporterSchema)


class StaffCaseSchema(StaffCaseSummarySchema):
    """The case file as agency staff see it: timeline, photos, clocks, allowed actions."""

    source = fields.String()
    accuracy_m = fields.Float(allow_none=True)
    location_source = fields.String(allow_none=True)
    location_mismatch_m = fields.Float(allow_none=True)
    captured_at = fields.DateTime(allow_none=True)
    attributes = fields.Dict()
    is_public = fields.Boolean()
    assigned_at = fields.DateTime(allow_none=True)
    accepted_at = fields.DateTime(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    rejected_at = fields.DateTime(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    reject_reason_label = fields.Nested(LabelSchema, allow_none=True)
    duplicate_of = fields.Nested(CaseRefSchema, allow_none=True)
    public_reply = fields.String(allow_none=True)
    latest_rating = fields.String(allow_none=True)
    resolution_round = fields.Integer()
    resolve_original_due_at = fields.DateTime(allow_none=True)
    extension_granted = fields.Boolean()
    clocks = fields.List(fields.Nested(ClockSchema))
    photos = fields.List(fields.Nested(PhotoSchema))
    timeline = fields.List(fields.Nested(TimelineEventSchema))
    allowed_actions = fields.List(fields.String(), metadata={
        "description": "Actions the caller may try now (guards are checked when it does)"})


class OperatorCaseSchema(StaffCaseSchema):
    """The case file with the reporter and the photos' EXIF (operators, supervisors, admins)."""

    reporter = fields.Nested(ReporterSchema)
    photos = fields.List(fields.Nested(OperatorPhotoSchema))


StaffCasePageSchema = page_of(StaffCaseSummarySchema, "StaffCasePage")
OperatorCasePageSchema = page_of(OperatorCaseSummarySchema, "OperatorCasePage")


class InfoResultSchema(ma.Schema):
    """Where the reporter's case stands after the answer."""

    id = fields.Integer()
    tracking_code = fields.String()
    state = fields.String()
    state_label = fields.Nested(LabelSchema)
    version = fields.Integer()
    updated_at = fields.DateTime()


class WorkflowSchema(ma.Schema):
    """The workflow table: states, parties, fields, guards, clock effects and actions."""

    version = fields.Integer()
    states = fields.List(fields.Dict())
    parties = fields.List(fields.Dict())
    fields_ = fields.List(fields.Dict(), data_key="fields", attribute="fields")
    guards = fields.List(fields.Dict())
    party_guards = fields.Dict(keys=fields.String(), values=fields.String())
    clock_effects = fields.List(fields.Dict())
    actions = fields.List(fields.Dict())
