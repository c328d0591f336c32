"""What Open311 clients send (form fields and query strings) and what the key admin API takes
and returns.

Open311 input is read liberally, as the spec asks: an empty parameter is an absent one,
unknown parameters are ignored, and text is stored NFC.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import marshmallow as ma
from marshmallow import fields, validate

from reports_app.common.input import normalise_input
from reports_app.common.schemas import InputSchema, PageArgs, StrictSchema, multiline, text
from reports_app.reports.schemas import coordinate

URL_MAX = 2000
ATTRIBUTE_KEY = re.compile(r"^attribute\[([^\[\]]{1,60})\](\[\])?$")
"""`attribute[code]` (one value) or `attribute[code][]` (a list)."""


class MalformedAttribute(ValueError):
    """A parameter named like an attribute answer that is not `attribute[code]` or `[code][]`."""


def _http_url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(
            c.isspace() or unicodedata.category(c) == "Cc" for c in value):
        raise ma.ValidationError("Must be an http or https URL.")


class Liberal(InputSchema):
    """Open311 parameters: unknown ones ignored, empty ones absent, text in NFC (InputSchema)."""

    class Meta:
        unknown = ma.EXCLUDE

    @ma.pre_load
    def drop_empty(self, data: Any, **_kwargs: Any) -> Any:
        """"A null parameter should be treated as equivalent to a non-declared parameter."""
        if not isinstance(data, dict):
            return data
        return {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip())}


class RequestForm(Liberal):
    """POST requests: everything but `api_key`, `service_code` and the attribute answers."""

    lat = coordinate(90)
    long = coordinate(180)
    address_string = text(max_len=500)
    address_id = text(max_len=100)
    email = text(max_len=254)
    first_name = text(max_len=99)
    last_name = text(max_len=99)
    phone = text(max_len=40)
    description = multiline(max_len=4000)
    media_url = fields.String(validate=[validate.Length(max=URL_MAX), _http_url])

    @ma.pre_load
    def one_line_address(self, data: Any, **_kwargs: Any) -> Any:
        """Clients send addresses typed over several lines; we keep one line."""
        if isinstance(data, dict) and isinstance(data.get("address_string"), str):
            data = {**data, "address_string": ", ".join(
                " ".join(line.split()) for line in data["address_string"].splitlines()
                if line.strip())}
        return data

    @ma.validates_schema
    def both_coordinates(self, data: dict[str, Any], **_kwargs: Any) -> None:
        """lat and long come together or not at all."""
        for present, missing in (("lat", "long"), ("long", "lat")):
            if present in data and missing not in data:
                raise ma.ValidationError(f"Required together with {present}.", missing)


class RequestQuery(Liberal):
    """GET requests: the filters, as raw text (parsed with their own messages)."""

    service_request_id = fields.String(validate=validate.Length(max=20_000))
    service_code = fields.String(validate=validate.Length(max=2000))
    start_date = fields.String(validate=validate.Length(max=64))
    end_date = fields.String(validate=validate.Length(max=64))
    status = fields.String(validate=validate.Length(max=200))


def attribute_answers(items: Iterable[tuple[str, str]]) -> dict[str, str | list[str]]:
    """`attribute[code]=v` gives a value, `attribute[code][]=v` (or a repeated key) a list."""
    answers: dict[str, list[str]] = {}
    as_list: set[str] = set()
    for key, value in items:
        if not key.startswith("attribute"):
            continue
        match = ATTRIBUTE_KEY.match(key)
        if match is None:
            raise MalformedAttribute(key)
        code = normalise_input(match.group(1))
        answers.setdefault(code, []).append(normalise_input(value))
        if match.group(2):
            as_list.add(code)
    return {code: values if code in as_list or len(values) > 1 else values[0]
            for code, values in answers.items()}


# --------------------------------------------------------------------------- key admin


class ApiKeySchema(ma.Schema):
    """A client key's record; the key itself is never shown again after it is issued."""

    id = fields.Integer()
    name = fields.String()
    key_prefix = fields.String(metadata={"description": "the key's first characters"})
    contact_email = fields.String(allow_none=True)
    rate_limit_per_minute = fields.Integer()
    is_active = fields.Boolean()
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)


class IssuedApiKeySchema(ApiKeySchema):
    """A new key's record with the key itself, shown this once."""

    key = fields.String(metadata={"description": "the API key; store it now, it is not kept"})


class ApiKeyInSchema(StrictSchema):
    """A key for one client application."""

    name = text(required=True, min_len=1, max_len=200,
                metadata={"description": "the client application and who runs it"})
    contact_email = fields.Email(allow_none=True, load_default=None,
                                 validate=validate.Length(max=254))
    rate_limit_per_minute = fields.Integer(load_default=30,
                                           validate=validate.Range(min=1, max=10_000),
                                           metadata={"description": "POSTs per minute"})


class ApiKeyListArgs(PageArgs):
    """Filter the list by state."""

    active = fields.Boolean(metadata={"description": "true: usable keys; false: revoked"})
