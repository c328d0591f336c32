"""Dump a view dict the way its marshmallow schema would, compiled once per schema.

The queue and the case file are built by their service functions as dicts of plain values;
their schemas only keep the declared keys and write datetimes as ISO 8601. Run field by field
through marshmallow's machinery, a 25-row queue page is a thousand field calls per request, a
third of the request's Python time. `Dumper(schema)` walks the declared fields once and calls
each leaf field's own conversion directly; anything it would not reproduce exactly (hooks,
method or function fields, renamed keys, dump defaults) makes it hand the whole dump to
marshmallow, so its output is always the schema's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import marshmallow as ma
from marshmallow import fields

_MISSING = object()
_LEAVES = (fields.String, fields.Integer, fields.Float, fields.Boolean, fields.DateTime,
           fields.Raw)
"""Field types whose `_serialize` needs nothing but the value (Dict without key or value
fields qualifies too, see `_render`)."""


class _Unsupported(Exception):
    """A field the compiled dump does not mirror; marshmallow dumps that schema."""


def _render(field: fields.Field, name: str) -> Callable[[Any], Any]:
    """How one field turns a present value into its dumped form."""
    if isinstance(field, fields.Pluck):
        raise _Unsupported(f"Pluck {name}")
    if isinstance(field, fields.Nested):
        nested = Dumper(field.schema)
        if field.many:
            return lambda value: None if value is None else [nested(v) for v in value]
        return lambda value: None if value is None else nested(value)
    if isinstance(field, fields.List):
        inner = _render(field.inner, name)
        return lambda value: None if value is None else [inner(v) for v in value]
    if isinstance(field, fields.Dict) and field.key_field is None and field.value_field is None:
        return lambda value: None if value is None else dict(value)
    if isinstance(field, _LEAVES) and not isinstance(field, fields.Dict):
        convert = field._serialize  # noqa: SLF001 - the field's own conversion, as dump calls it
        return lambda value: convert(value, name, None)
    raise _Unsupported(f"{type(field).__name__} {name}")


class Dumper:
    """`schema.dump(data)` for mapping data (and lists of it), without the per-field overhead."""

    def __init__(self, schema: ma.Schema) -> None:
        """Compile the schema's fields; fall back to `schema.dump` if one is unsupported."""
        self._schema = schema
        self._plan: list[tuple[str, Callable[[Any], Any]]] | None
        try:
            if any(schema._hooks.values()):  # noqa: SLF001 - pre/post dump hooks change output
                raise _Unsupported("hooks")
            plan = []
            for name, field in schema.dump_fields.items():
                if field.data_key not in (None, name) or field.attribute not in (None, name) \
                        or field.dump_default is not ma.missing:
                    raise _Unsupported(name)
                plan.append((name, _render(field, name)))
            self._plan = plan
        except _Unsupported:
            self._plan = None

    def __call__(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The dumped form of `data`, key for key what `schema.dump(data)` gives."""
        if self._plan is None or not isinstance(data, Mapping):
            return self._schema.dump(data)
        out = {}
        for name, render in self._plan:
            value = data.get(name, _MISSING)
            if value is not _MISSING:
                out[name] = render(value)
        return out
