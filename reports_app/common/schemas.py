"""Base schemas and field helpers shared by every feature."""

from __future__ import annotations

import unicodedata
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate


class StrictSchema(ma.Schema):
    """Input schema: unknown fields are an error, text is stored NFC with no control characters."""

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def normalise_text(self, data: Any, **_kwargs: Any) -> Any:
        """Store Vietnamese text in one Unicode form (NFC) so search and equality work."""
        if not isinstance(data, dict):
            return data
        return {k: unicodedata.normalize("NFC", v) if isinstance(v, str) else v
                for k, v in data.items()}


def text(*, required: bool = False, max_len: int = 200, min_len: int = 0,
         allow_none: bool = False, **kwargs: Any) -> fields.String:
    """A single-line text field with sane length bounds and no control characters."""
    return fields.String(
        required=required,
        allow_none=allow_none,
        validate=[validate.Length(min=min_len, max=max_len), no_control_chars],
        **kwargs,
    )


def multiline(*, required: bool = False, max_len: int = 4000, **kwargs: Any) -> fields.String:
    """Free text that may contain newlines but no other control characters."""
    return fields.String(required=required,
                         validate=[validate.Length(max=max_len), no_control_chars_multiline],
                         **kwargs)


def no_control_chars(value: str) -> None:
    """Refuse control characters in single-line text."""
    if any(unicodedata.category(c) == "Cc" for c in value):
        raise ma.ValidationError("Control characters are not allowed.")


def no_control_chars_multiline(value: str) -> None:
    """Refuse control characters other than newline and tab."""
    if any(unicodedata.category(c) == "Cc" and c not in "\n\r\t" for c in value):
        raise ma.ValidationError("Control characters are not allowed.")


class PageArgs(StrictSchema):
    """Page selection for list endpoints."""

    class Meta:
        unknown = ma.EXCLUDE

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


def page_of(item_schema: type[ma.Schema] | ma.Schema, name: str) -> type[ma.Schema]:
    """A response schema for one page of `item_schema` with its totals."""
    nested = item_schema if isinstance(item_schema, ma.Schema) else item_schema()
    return ma.Schema.from_dict(
        {
            "items": fields.List(fields.Nested(nested)),
            "page": fields.Integer(),
            "page_size": fields.Integer(),
            "total": fields.Integer(metadata={
                "description": "Matches, counted up to 10,000 (see total_exact)"}),
            "total_exact": fields.Boolean(metadata={
                "description": "False when there are more matches than total says"}),
            "pages": fields.Integer(),
        },
        name=name,
    )
