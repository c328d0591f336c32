"""Reference data as admins read and write it."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from reports_app.auth.schemas import UserSchema
from reports_app.common.schemas import InputSchema, StrictSchema, multiline, text
from workflows.durations import format_duration
from workflows.roles import Role
from workflows.states import Priority, Track

CODE = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", error="Letters, digits, '.', '_' or '-'.")
FIELD_TYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")


def _update_variant(schema_cls: type[ma.Schema], name: str) -> ma.Schema:
    """The same fields, none required and no defaults filled in: what PATCH accepts."""
    return type(name, (schema_cls,), {})(partial=True)


class AgencySchema(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name_vi = fields.String()
    name_en = fields.String()
    kind = fields.String()
    area_id = fields.Integer(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    is_active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class AgencyInSchema(StrictSchema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=40), CODE])
    name_vi = text(required=True, min_len=1)
    name_en = text(required=True, min_len=1)
    kind = fields.String(load_default="department", validate=validate.OneOf(
        ["department", "ward_committee", "utility", "police", "other"]))
    area_id = fields.Integer(allow_none=True, load_default=None)
    email = fields.Email(allow_none=True, load_default=None)
    phone = text(max_len=30, allow_none=True, load_default=None)
    is_active = fields.Boolean(load_default=True)


class AreaSchema(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name_vi = fields.String()
    name_en = fields.String()
    level = fields.String()
    parent_id = fields.Integer(allow_none=True)
    boundary = fields.Dict(metadata={"description": "GeoJSON Polygon or MultiPolygon"})
    bbox = fields.Method("get_bbox")
    is_active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def get_bbox(self, area: Any) -> list[float]:
        return [area.min_lon, area.min_lat, area.max_lon, area.max_lat]


class AreaInSchema(StrictSchema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=20), CODE])
    name_vi = text(required=True, min_len=1)
    name_en = text(required=True, min_len=1)
    level = fields.String(required=True, validate=validate.OneOf(["province", "ward", "commune"]))
    parent_id = fields.Integer(allow_none=True, load_default=None)
    boundary = fields.Dict(required=True, metadata={
        "description": "GeoJSON Polygon or MultiPolygon (or a Feature holding one), WGS84"})
    is_active = fields.Boolean(load_default=True)


class ImportCode(fields.String):
    """A code in a GeoJSON file: text, or a number as some files write it."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        return super()._deserialize(value, attr, data, **kwargs)


class ImportedAreaProperties(InputSchema):
    """What a feature says about its area, checked like a single area; other properties are
    kept in the file, not here."""

    class Meta:
        unknown = ma.EXCLUDE

    code = ImportCode(required=True, validate=[validate.Length(min=1, max=20), CODE])
    name_vi = text(min_len=1, allow_none=True)
    name_en = text(min_len=1, allow_none=True)
    level = fields.String(allow_none=True, validate=validate.OneOf(["province", "ward", "commune"]))
    parent_code = ImportCode(allow_none=True, validate=[validate.Length(min=1, max=20), CODE])


class ImportedArea(InputSchema):
    """One GeoJSON Feature of an area file."""

    class Meta:
        unknown = ma.EXCLUDE

    type = fields.String(load_default="Feature")
    id = fields.Raw()
    properties = fields.Nested(ImportedAreaProperties, required=True)
    geometry = fields.Dict(required=True, allow_none=True)


class GeoJsonImport(InputSchema):
    """A GeoJSON FeatureCollection; each feature's properties: code, name_vi, name_en, level,
    parent_code."""

    class Meta:
        unknown = ma.EXCLUDE

    type = fields.String(required=True)
    features = fields.List(fields.Nested(ImportedArea), required=True)


class FieldValueSchema(StrictSchema):
    key = fields.String(required=True, validate=[validate.Length(min=1, max=60), CODE])
    name_vi = text(required=True, min_len=1)
    name_en = text(required=True, min_len=1)


class CategoryFieldSchema(StrictSchema):
    """An extra attribute a category asks of the citizen (Open311 service definition)."""

    code = fields.String(required=True, validate=[validate.Length(min=1, max=60), CODE])
    datatype = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES))
    required = fields.Boolean(load_default=False)
    label_vi = text(required=True, min_len=1)
    label_en = text(required=True, min_len=1)
    values = fields.List(fields.Nested(FieldValueSchema), load_default=list)

    @ma.validates_schema
    def lists_have_values(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """List attributes need their values; others must not have any."""
        is_list = data.get("datatype", "").endswith("valuelist")
        if is_list and not data.get("values"):
            raise ma.ValidationError("A list attribute needs values.", "values")
        if not is_list and data.get("values"):
            raise ma.ValidationError("Only list attributes have values.", "values")


class CategorySchema(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    service_code = fields.String()
    name_vi = fields.String()
    name_en = fields.String()
    description_vi = fields.String()
    description_en = fields.String()
    group_vi = fields.String()
    group_en = fields.String()
    keywords = fields.List(fields.String())
    default_priority = fields.String()
    track = fields.String()
    requires_after_photo = fields.Boolean()
    fields_ = fields.List(fields.Dict(), data_key="fields", attribute="fields")
    sort_order = fields.Integer()
    is_active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class CategoryInSchema(StrictSchema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=40), CODE])
    service_code = fields.String(required=True, validate=[validate.Length(min=1, max=40), CODE])
    name_vi = text(required=True, min_len=1)
    name_en = text(required=True, min_len=1)
    description_vi = multiline(load_default="", max_len=2000)
    description_en = multiline(load_default="", max_len=2000)
    group_vi = text(load_default="")
    group_en = text(load_default="")
    keywords = fields.List(text(max_len=60), load_default=list, validate=validate.Length(max=30))
    default_priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    track = fields.Enum(Track, by_value=True, load_default=Track.DEADLINE)
    requires_after_photo = fields.Boolean(load_default=True)
    fields_ = fields.List(fields.Nested(CategoryFieldSchema), data_key="fields", attribute="fields",
                         load_default=list, validate=validate.Length(max=30))
    sort_order = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000))
    is_active = fields.Boolean(load_default=True)

    @ma.validates("fields_")
    def unique_field_codes(self, value: list[dict[str, Any]], **_kwargs: Any) -> None:
        """Attribute codes identify answers, so they must not repeat (an attribute refused on
        its own, without a code, has its own error already)."""
        codes = [f["code"] for f in value if "code" in f]
        if len(codes) != len(set(codes)):
            raise ma.ValidationError("Attribute codes must be unique.")


class RoutingRuleSchema(ma.Schema):
    id = fields.Integer()
    category_id = fields.Integer(allow_none=True)
    area_id = fields.Integer(allow_none=True)
    agency_id = fields.Integer()
    note = fields.String()
    is_active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class RoutingRuleInSchema(StrictSchema):
    category_id = fields.Integer(allow_none=True, load_default=None,
                                 metadata={"description": "null: any category"})
    area_id = fields.Integer(allow_none=True, load_default=None,
                             metadata={"description": "null: anywhere"})
    agency_id = fields.Integer(required=True)
    note = text(max_len=500, load_default="")
    is_active = fields.Boolean(load_default=True)


class SlaPolicySchema(ma.Schema):
    id = fields.Integer()
    category_id = fields.Integer(allow_none=True)
    priority = fields.String()
    track = fields.String()
    triage_minutes = fields.Integer()
    accept_minutes = fields.Integer()
    resolve_minutes = fields.Integer()
    triage = fields.Method("iso_triage")
    accept = fields.Method("iso_accept")
    resolve = fields.Method("iso_resolve")
    warn_ratio = fields.Float()
    is_active = fields.Boolean()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()

    def iso_triage(self, p: Any) -> str:
        return format_duration(p.triage_minutes, Track(p.track))

    def iso_accept(self, p: Any) -> str:
        return format_duration(p.accept_minutes, Track(p.track))

    def iso_resolve(self, p: Any) -> str:
        return format_duration(p.resolve_minutes, Track(p.track))


class SlaPolicyInSchema(StrictSchema):
    """Durations as ISO 8601 (`PT4H`, `P3D`: working days on the deadline track) or minutes."""

    category_id = fields.Integer(allow_none=True, load_default=None,
                                 metadata={"description": "null: the default policy"})
    priority = fields.Enum(Priority, by_value=True, load_default=Priority.NORMAL)
    track = fields.Enum(Track, by_value=True, load_default=Track.DEADLINE)
    triage = fields.String(validate=validate.Length(max=30))
    accept = fields.String(validate=validate.Length(max=30))
    resolve = fields.String(validate=validate.Length(max=30))
    triage_minutes = fields.Integer(validate=validate.Range(min=1, max=10_000_000))
    accept_minutes = fields.Integer(validate=validate.Range(min=1, max=10_000_000))
    resolve_minutes = fields.Integer(validate=validate.Range(min=1, max=10_000_000))
    warn_ratio = fields.Float(load_default=0.75, validate=validate.Range(
        min=0, max=1, min_inclusive=False), allow_nan=False)
    is_active = fields.Boolean(load_default=True)


class AdminUserSchema(UserSchema):
    agency_id = fields.Integer(allow_none=True)
    updated_at = fields.DateTime()


class AdminUserInSchema(StrictSchema):
    phone = text(max_len=30, allow_none=True)
    email = fields.Email(allow_none=True, validate=validate.Length(max=254))
    password = fields.String(load_only=True, validate=validate.Length(min=8, max=200))
    full_name = text(max_len=200, load_default="")
    role = fields.Enum(Role, by_value=True, required=True)
    agency_id = fields.Integer(allow_none=True, load_default=None)
    language = fields.String(load_default="vi", validate=validate.OneOf(["vi", "en"]))
    is_active = fields.Boolean(load_default=True)


class ListArgs(StrictSchema):
    """Paging and the common filters of reference lists."""

    class Meta:
        unknown = ma.RAISE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    active = fields.Boolean(metadata={"description": "only active (true) or inactive (false)"})
    q = text(max_len=100, metadata={"description": "text in code or names"})


class UserListArgs(ListArgs):
    role = fields.Enum(Role, by_value=True)
    agency_id = fields.Integer()


agency_patch = _update_variant(AgencyInSchema, "AgencyPatchSchema")
area_patch = _update_variant(AreaInSchema, "AreaPatchSchema")
category_patch = _update_variant(CategoryInSchema, "CategoryPatchSchema")
routing_rule_patch = _update_variant(RoutingRuleInSchema, "RoutingRulePatchSchema")
sla_policy_patch = _update_variant(SlaPolicyInSchema, "SlaPolicyPatchSchema")
admin_user_patch = _update_variant(AdminUserInSchema, "AdminUserPatchSchema")


AUDITED_ENTITIES = ("agency", "area", "category", "routing_rule", "sla_policy", "user", "api_key")


class AuditActorSchema(ma.Schema):
    """Who made a change (null: the system or the server's shell)."""

    id = fields.Integer()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    full_name = fields.String()
    role = fields.String()


class AuditEntrySchema(ma.Schema):
    """One recorded change to reference data."""

    id = fields.Integer()
    at = fields.DateTime(attribute="created_at")
    actor = fields.Nested(AuditActorSchema, allow_none=True)
    action = fields.String(metadata={"description": "create, update, deactivate, activate"})
    entity = fields.String(metadata={"description": ", ".join(AUDITED_ENTITIES)})
    entity_id = fields.Integer(allow_none=True)
    changes = fields.Dict(metadata={
        "description": "field → {old, new}; secrets as {changed: true}; boundaries by SHA-256"})


class AuditLogArgs(StrictSchema):
    """Paging and filters of the audit log, newest first."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))
    entity = fields.String(validate=validate.OneOf(AUDITED_ENTITIES))
    entity_id = fields.Integer()
    actor = fields.Integer(metadata={"description": "the acting account's id"})
    from_ = fields.AwareDateTime(data_key="from", metadata={"description": "at or after"})
    to = fields.AwareDateTime(metadata={"description": "before"})
