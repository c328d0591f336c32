"""Base schemas and field helpers shared by every feature."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import marshmallow as ma
from marshmallow import fields, validate

from reports_app.common.input import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, normalise_input
from workflows.text import disallowed_character


class InputSchema(ma.Schema):
    """Every schema that reads client input: text in NFC at any depth, integers that fit their
    column (a larger id is a field error, not a database overflow)."""

    @ma.pre_load
    def normalise_text(self, data: Any, **_kwargs: Any) -> Any:
        """Store Vietnamese text in one Unicode form (NFC) so search and equality work."""
        if isinstance(data, Mapping) and not isinstance(data, dict):
            # webargs' MultiDictProxy: read it as the fields want it (lists for List fields).
            data = {key: data[key] for key in data}
        return normalise_input(data)

    @ma.pre_load
    def refuse_fractions(self, data: Any, **_kwargs: Any) -> Any:
        """An integer field given 2.5 (or 1e-42) is refused, not truncated to 2 (or 0)."""
        if not isinstance(data, Mapping):
            return data
        errors = {key: ["Not a valid integer."]
                  for key, field in ((f.data_key or name, f) for name, f in self.load_fields.items())
                  if isinstance(field, fields.Integer) and isinstance(data.get(key), float)
                  and not data[key].is_integer()}
        if errors:
            raise ma.ValidationError(errors)
        return data

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        """Bound every integer field to the range of its column: 32 bits, or 64 for a field
        marked `metadata={"int64": True}` (a case's id)."""
        if isinstance(field_obj, fields.Integer):
            wide = field_obj.metadata.get("int64")
            field_obj.validators = [*field_obj.validators, validate.Range(
                min=INT64_MIN if wide else INT32_MIN, max=INT64_MAX if wide else INT32_MAX)]


class StrictSchema(InputSchema):
    """Input schema: unknown fields are an error, text is stored NFC with no control characters."""

    class Meta:
        unknown = ma.RAISE


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
    """Refuse control characters, lone surrogates and bidi controls in single-line text."""
    refusal = disallowed_character(value)
    if refusal:
        raise ma.ValidationError(refusal)


def no_control_chars_multiline(value: str) -> None:
    """The same, but newlines and tabs are allowed."""
    refusal = disallowed_character(value, multiline=True)
    if refusal:
        raise ma.ValidationError(refusal)


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
