"""What the account endpoints take and return."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import fields, validate

from reports_app.common.schemas import StrictSchema, text


class AgencyRefSchema(ma.Schema):
    """An agency as it appears inside other objects."""

    id = fields.Integer()
    code = fields.String()
    name_vi = fields.String()
    name_en = fields.String()


class UserSchema(ma.Schema):
    """An account as its owner and admins see it."""

    id = fields.Integer()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    full_name = fields.String()
    role = fields.String()
    agency = fields.Nested(AgencyRefSchema, allow_none=True)
    language = fields.String()
    is_active = fields.Boolean()
    created_at = fields.DateTime()


class RegisterSchema(StrictSchema):
    """A citizen signs up with a phone number (and optionally an e-mail)."""

    phone = text(max_len=30, metadata={"example": "0912 345 678"})
    email = fields.Email(validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(min=8, max=200))
    full_name = text(max_len=200, load_default="")
    language = fields.String(load_default="vi", validate=validate.OneOf(["vi", "en"]))

    @ma.validates_schema
    def needs_login(self, data: dict, **_kwargs: object) -> None:
        """A phone or an e-mail is needed to sign in later."""
        if not data.get("phone") and not data.get("email"):
            raise ma.ValidationError("Give a phone number or an e-mail.", "phone")


class LoginSchema(StrictSchema):
    """Phone or e-mail, and password."""

    username = text(required=True, min_len=1, max_len=254,
                    metadata={"description": "phone number (any common form) or e-mail"})
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=200))


class LogoutSchema(StrictSchema):
    """Optionally also revoke the refresh token of this session."""

    refresh_token = fields.String(validate=validate.Length(max=4000))


class TokensSchema(ma.Schema):
    """A token pair and the account it belongs to."""

    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    user = fields.Nested(UserSchema)


class AccessTokenSchema(ma.Schema):
    """A new access token."""

    access_token = fields.String()
    token_type = fields.String()


class LogoutResultSchema(ma.Schema):
    """Which tokens were revoked."""

    revoked = fields.List(fields.String())
