"""What the citizen report endpoints take and return.

Two views of a case: the reporter's (`ReportSchema`: own report, public timeline with notes) and
the public's (`PublicReportSchema`: no personal data at all, ever). Neither ever names the
reporter or a member of staff; staff actions show the agency's name.
"""

from __future__ import annotations

import math
from typing import Any

import marshmallow as ma
from flask_jwt_extended import get_current_user
from flask_smorest.fields import Upload
from marshmallow import fields, validate
from werkzeug.datastructures import FileStorage

from reports_app.common.input import normalise_input, parse_json
from reports_app.common.media import media_url
from reports_app.common.schemas import InputSchema, PageArgs, StrictSchema, multiline, text
from reports_app.db import utcnow
from reports_app.models import Area, Case, CaseEvent, CasePhoto
from workflows.machine import PARTY_LABELS, TABLE, Action, Party
from workflows.states import DONE_STATES, OPEN_STATES, STATE_LABELS, CaseState

IDEMPOTENCY_KEY_MAX = 200
MAX_RADIUS_M = 5000
DEFAULT_RADIUS_M = 500
PUBLIC_PHOTO_KINDS = ("report", "after")
"""Photos the public sees: the citizen's evidence and the agency's proof; not answers to
questions, which the citizen sent to the agency only."""


# --------------------------------------------------------------------------- input


class JsonObject(fields.Field):
    """A JSON object sent as one text form field (multipart forms carry only strings)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict:
        if isinstance(value, dict):
            return value
        if not isinstance(value, str) or len(value) > 20_000:
            raise ma.ValidationError("Must be a JSON object (at most 20000 characters).")
        try:
            parsed = parse_json(value)
        except ValueError:
            raise ma.ValidationError("Not valid JSON.") from None
        if not isinstance(parsed, dict):
            raise ma.ValidationError("Must be a JSON object.")
        return normalise_input(parsed)


class PhotoUpload(Upload):
    """One uploaded file part (a text part with the same name is refused)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> FileStorage:
        if not isinstance(value, FileStorage):
            raise ma.ValidationError("Must be a file.")
        return value


def coordinate(limit: float, **kwargs: Any) -> fields.Float:
    """A finite WGS84 degree value (NaN and infinities are refused by marshmallow)."""
    return fields.Float(allow_nan=False, validate=validate.Range(min=-limit, max=limit), **kwargs)


class ReportFormSchema(StrictSchema):
    """The multipart form of a new report: fields and 1 to MAX_PHOTOS files named `photos`."""

    category = text(required=True, min_len=1, max_len=40,
                    metadata={"description": "category code, from GET /categories"})
    description = multiline(required=True, max_len=4000)
    lat = coordinate(90, metadata={"description": "WGS84 latitude; omit to use the photo's GPS"})
    lon = coordinate(180, metadata={"description": "WGS84 longitude; omit to use the photo's GPS"})
    accuracy_m = fields.Float(allow_nan=False, validate=validate.Range(min=0, max=100_000))
    address = text(max_len=500)
    captured_at = fields.AwareDateTime(metadata={"description": "when the photo was taken"})
    is_public = fields.Boolean(load_default=True)
    is_anonymous = fields.Boolean(load_default=False)
    attributes = JsonObject(load_default=dict, metadata={
        "type": "string", "description": "answers to the category's fields, as a JSON object"})
    photos = fields.List(PhotoUpload(), required=True,
                         metadata={"description": "1 to 5 JPEG, PNG, WebP or HEIC/HEIF photos"})

    @ma.pre_load
    def normalise_text(self, data: Any, **kwargs: Any) -> Any:
        """Drop the empty file parts a browser sends, then store text as NFC."""
        if not isinstance(data, dict) and hasattr(data, "keys"):
            data = {key: data[key] for key in data}
        if isinstance(data, dict) and isinstance(data.get("photos"), list):
            # A browser sends an empty part for a file input left empty: it is no photo.
            data["photos"] = [p for p in data["photos"]
                              if not (isinstance(p, FileStorage) and p.filename == "")]
        return super().normalise_text(data, **kwargs)

    @ma.validates("description")
    def not_blank(self, value: str, **_kwargs: Any) -> None:
        """A report says what is wrong."""
        if not value.strip():
            raise ma.ValidationError("Describe the problem.")

    @ma.validates("captured_at")
    def not_in_future(self, value: Any, **_kwargs: Any) -> None:
        """A photo cannot be taken after it is sent (a few minutes' clock skew allowed)."""
        if (value - utcnow()).total_seconds() > 600:
            raise ma.ValidationError("Must not be in the future.")

    @ma.validates_schema
    def both_coordinates(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """lat and lon come together or not at all."""
        for present, missing in (("lat", "lon"), ("lon", "lat")):
            if present in data and missing not in data:
                raise ma.ValidationError(f"Required together with {present}.", missing)
        if not data.get("photos"):
            raise ma.ValidationError("At least one photo is required.", "photos")


class IdempotencyHeaderSchema(InputSchema):
    """The optional retry key; a retry with the same key returns the first result."""

    class Meta:
        unknown = ma.EXCLUDE

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        validate=[validate.Length(min=1, max=IDEMPOTENCY_KEY_MAX),
                  validate.Regexp(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$",
                                  error="Printable ASCII only, not starting or ending with a space.")],
        metadata={"description": "a client-chosen key (e.g. a UUID), kept for a day per user"})


class NearbyArgs(StrictSchema):
    """A point, a radius and an optional category."""

    class Meta:
        unknown = ma.EXCLUDE

    lat = coordinate(90, required=True)
    lon = coordinate(180, required=True)
    radius_m = fields.Float(allow_nan=False, load_default=DEFAULT_RADIUS_M,
                            validate=validate.Range(min=1, max=MAX_RADIUS_M))
    category = text(max_len=40)


class BBox(fields.Field):
    """`min_lon,min_lat,max_lon,max_lat` in WGS84 degrees."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any
                     ) -> tuple[float, ...]:
        try:
            parts = tuple(float(p) for p in str(value).split(","))
        except ValueError:
            raise ma.ValidationError("Expected min_lon,min_lat,max_lon,max_lat.") from None
        if len(parts) != 4 or not all(math.isfinite(p) for p in parts):
            raise ma.ValidationError("Expected min_lon,min_lat,max_lon,max_lat.")
        min_lon, min_lat, max_lon, max_lat = parts
        if not (-180 <= min_lon <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
            raise ma.ValidationError("Longitudes within ±180, latitudes within ±90, min ≤ max.")
        return parts


class StatusList(fields.Field):
    """One state or several, comma-separated."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        names = [v.strip() for v in str(value).split(",") if v.strip()]
        known = {s.value for s in CaseState}
        wrong = [n for n in names if n not in known]
        if not names or wrong:
            raise ma.ValidationError(f"Must be among: {', '.join(s.value for s in CaseState)}.")
        return names


class PublicListArgs(PageArgs):
    """Filters of the public feed."""

    bbox = BBox(metadata={"type": "string", "example": "108.0,12.6,108.1,12.7"})
    status = StatusList(metadata={"type": "string", "example": "assigned,in_progress"})
    category = text(max_len=40)
    since = fields.AwareDateTime(metadata={"description": "changed at or after this time"})


# --------------------------------------------------------------------------- output helpers


def state_view(state: str) -> dict[str, Any]:
    """A state code with its Vietnamese and English labels."""
    return {"code": str(state), "label": dict(STATE_LABELS[CaseState(state)])}


def area_view(area: Area | None) -> dict[str, Any] | None:
    """An area's code and names."""
    if area is None:
        return None
    return {"code": area.code, "name": {"vi": area.name_vi, "en": area.name_en}}


_PARTIES = frozenset(p.value for p in Party)


def actor_view(event: CaseEvent) -> dict[str, Any]:
    """Who acted, by role, and the agency for agency actions; never a person's name."""
    party = Party(event.party) if event.party in _PARTIES else None
    view: dict[str, Any] = {"role": event.party,
                            "label": dict(PARTY_LABELS[party]) if party else None,
                            "agency": None}
    if party is Party.AGENCY_STAFF and event.actor is not None and event.actor.agency is not None:
        agency = event.actor.agency
        view["agency"] = {"name": {"vi": agency.name_vi, "en": agency.name_en}}
    return view


def action_label(action: str) -> dict[str, str] | None:
    """An action's labels from the workflow table."""
    try:
        return TABLE[Action(action)].label.as_dict()
    except ValueError:
        return None


def photo_view(photo: CasePhoto) -> dict[str, Any]:
    """A photo's public derivatives; the original (with its EXIF) is never linked."""
    return {"kind": photo.kind, "width": photo.width, "height": photo.height,
            "display_url": media_url(photo.display_key), "thumb_url": media_url(photo.thumb_key)}


# --------------------------------------------------------------------------- output schemas


class LabelsSchema(ma.Schema):
    vi = fields.String()
    en = fields.String()


class StatusSchema(ma.Schema):
    code = fields.String()
    label = fields.Nested(LabelsSchema)


class NamedSchema(ma.Schema):
    code = fields.String()
    name = fields.Nested(LabelsSchema)


class AgencyNameSchema(ma.Schema):
    name = fields.Nested(LabelsSchema)


class PhotoSchema(ma.Schema):
    kind = fields.String(metadata={"description": "report, info (an answer) or after (proof)"})
    width = fields.Integer()
    height = fields.Integer()
    display_url = fields.String()
    thumb_url = fields.String()


class ActorSchema(ma.Schema):
    role = fields.String()
    label = fields.Nested(LabelsSchema, allow_none=True)
    agency = fields.Nested(AgencyNameSchema, allow_none=True)


class EventSchema(ma.Schema):
    """One public line of the timeline."""

    action = fields.String()
    label = fields.Nested(LabelsSchema, allow_none=True)
    from_state = fields.String(allow_none=True)
    to_state = fields.String()
    at = fields.DateTime()
    actor = fields.Nested(ActorSchema)
    note = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)


# Made once, not per event: building a schema (and its nested ones) costs more than a dump.
EVENT = EventSchema()
PUBLIC_EVENT = EventSchema(exclude=("note",))


def _status(case: Case) -> dict[str, Any]:
    return state_view(case.state)


def _category(case: Case) -> dict[str, Any]:
    return {"code": case.category.code,
            "name": {"vi": case.category.name_vi, "en": case.category.name_en}}


def _agency(case: Case) -> dict[str, Any] | None:
    if case.agency is None:
        return None
    return {"name": {"vi": case.agency.name_vi, "en": case.agency.name_en}}


def _due_at(case: Case) -> str | None:
    """The running step's deadline while someone still owes the citizen an action."""
    if case.due_at is None or CaseState(case.state) not in OPEN_STATES:
        return None
    return case.due_at.isoformat()


def _duplicate_of(case: Case) -> dict[str, Any] | None:
    target = case.duplicate_of
    return None if target is None else {"id": target.id, "tracking_code": target.tracking_code}


def _viewer_id() -> int | None:
    """The signed-in caller's account id, if the request carries a verified token."""
    try:
        viewer = get_current_user()
    except RuntimeError:
        return None
    return viewer.id if viewer is not None else None


def _relation(case: Case) -> str:
    """How the signed-in caller is linked to the case (the list shows both kinds)."""
    viewer = _viewer_id()
    return "follower" if viewer is not None and case.reporter_id != viewer else "reporter"


def _is_follower(case: Case) -> bool:
    """A follower is another citizen: the reporter's own answers and photos are not theirs."""
    return _relation(case) == "follower"


class ReportSummarySchema(ma.Schema):
    """A report in the reporter's list."""

    id = fields.Integer()
    tracking_code = fields.String(metadata={"description": "short public code, e.g. PA-2611-7KQ3"})
    status = fields.Function(_status, metadata={"type": "object"})
    category = fields.Function(_category, metadata={"type": "object"})
    description = fields.String()
    address = fields.String(allow_none=True)
    submitted_at = fields.DateTime()
    updated_at = fields.DateTime()
    due_at = fields.Function(_due_at, allow_none=True, metadata={"type": "string", "format": "date-time",
                                                "description": "the running step's deadline"})
    thumb_url = fields.Method("first_thumb", allow_none=True)
    relation = fields.Function(lambda c: _relation(c), metadata={
        "type": "string",
        "description": "reporter, or follower (of the case a duplicate of yours was merged into)"})

    def first_thumb(self, case: Case) -> str | None:
        photo = next((p for p in case.photos if p.kind == "report"), None)
        return media_url(photo.thumb_key) if photo else None


class ReportSchema(ma.Schema):
    """A report as its reporter (or a follower) sees it: status, deadline, photos, public timeline."""

    id = fields.Integer()
    tracking_code = fields.String()
    version = fields.Integer()
    status = fields.Function(_status, metadata={"type": "object"})
    category = fields.Function(_category, metadata={"type": "object"})
    description = fields.String()
    attributes = fields.Dict()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    accuracy_m = fields.Float(allow_none=True)
    location_source = fields.String(allow_none=True, metadata={"description": "app or exif"})
    address = fields.String(allow_none=True)
    area = fields.Function(lambda c: area_view(c.area), allow_none=True, metadata={"type": "object"})
    captured_at = fields.DateTime(allow_none=True)
    is_public = fields.Boolean()
    is_anonymous = fields.Boolean()
    submitted_at = fields.DateTime()
    updated_at = fields.DateTime()
    due_at = fields.Function(_due_at, allow_none=True, metadata={"type": "string", "format": "date-time"})
    resolve_due_at = fields.DateTime(allow_none=True)
    agency = fields.Function(_agency, allow_none=True, metadata={"type": "object"})
    public_reply = fields.String(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    duplicate_of = fields.Function(_duplicate_of, allow_none=True, metadata={"type": "object"})
    latest_rating = fields.String(allow_none=True)
    photos = fields.Method("visible_photos", metadata={"type": "array"})
    timeline = fields.Method("public_events", metadata={"type": "array"})

    def visible_photos(self, case: Case) -> list[dict[str, Any]]:
        follower = _is_follower(case)
        return [photo_view(p) for p in case.photos
                if (p.event is None or p.event.is_public) and not (follower and p.kind == "info")]

    def public_events(self, case: Case) -> list[dict[str, Any]]:
        follower = _is_follower(case)
        return [EVENT.dump({
            "action": e.action, "label": action_label(e.action), "from_state": e.from_state,
            "to_state": e.to_state, "at": e.created_at, "actor": actor_view(e),
            "note": None if follower and e.party == Party.REPORTER else e.note,
            "reason": None if follower and e.party == Party.REPORTER else e.reason})
            for e in case.events if e.is_public]


class PublicReportSchema(ma.Schema):
    """A public report: what happened where, handled by whom; never who sent it."""

    id = fields.Integer()
    tracking_code = fields.String()
    status = fields.Function(_status, metadata={"type": "object"})
    category = fields.Function(_category, metadata={"type": "object"})
    description = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    address = fields.String(allow_none=True)
    area = fields.Function(lambda c: area_view(c.area), allow_none=True, metadata={"type": "object"})
    agency = fields.Function(_agency, allow_none=True, metadata={"type": "object"})
    submitted_at = fields.DateTime()
    updated_at = fields.DateTime()
    due_at = fields.Function(_due_at, allow_none=True, metadata={"type": "string", "format": "date-time",
                                                "description": "the running step's deadline"})
    resolve_due_at = fields.DateTime(allow_none=True,
                                     metadata={"description": "the deadline to resolve"})
    resolved_at = fields.Function(
        lambda c: c.resolved_at.isoformat() if c.resolved_at and c.state in DONE_STATES else None,
        allow_none=True,
        metadata={"type": "string", "format": "date-time", "description": "date handled"})
    public_reply = fields.String(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    photos = fields.Method("public_photos", metadata={"type": "array"})

    def public_photos(self, case: Case) -> list[dict[str, Any]]:
        return [photo_view(p) for p in case.photos if p.kind in PUBLIC_PHOTO_KINDS]


class PublicReportDetailSchema(PublicReportSchema):
    """A public report with its public timeline (actions and agencies, without notes)."""

    timeline = fields.Method("public_events", metadata={"type": "array"})

    def public_events(self, case: Case) -> list[dict[str, Any]]:
        # Notes may quote the citizen (answers to questions); the public sees what happened.
        return [PUBLIC_EVENT.dump({
            "action": e.action, "label": action_label(e.action), "from_state": e.from_state,
            "to_state": e.to_state, "at": e.created_at, "actor": actor_view(e),
            "reason": e.reason if e.action == Action.REJECT else None})
            for e in case.events if e.is_public]


class NearbyReportSchema(PublicReportSchema):
    """A public report near the asked point, with its geodesic distance."""

    distance_m = fields.Float()


class NearbySchema(ma.Schema):
    """Open public reports near a point, nearest first."""

    items = fields.List(fields.Nested(NearbyReportSchema))

