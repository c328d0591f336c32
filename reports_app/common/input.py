"""What every piece of client input passes through before a schema reads it: strict JSON, and
text in one Unicode form.

JSON bodies (Flask's `request.get_json`, the smorest argument parser and JSON sent inside a form
field) are all parsed by `parse_json`, so the same refusals apply everywhere: no NaN or
Infinity (strict JSON has neither, and PostgreSQL's JSON columns refuse them), no number that
overflows a float, no lone surrogate (it cannot be encoded for the database), no nesting
deeper than MAX_JSON_DEPTH (Python's parser would otherwise exhaust the stack). A refusal is a
`json.JSONDecodeError`, which every caller already answers with 400.

`normalise_input` puts every string of a loaded body, form or query (keys and values, at any
depth) into NFC, so text typed on a phone that sends NFD Vietnamese is stored, searched and
compared like the same text in NFC.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from typing import Any

from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, Map

MAX_JSON_DEPTH = 32
"""Arrays and objects inside each other; our deepest documents (GeoJSON MultiPolygons inside a
FeatureCollection) need 7."""
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
"""What an integer column holds; a larger id names nothing."""

_SURROGATE = re.compile("[\ud800-\udfff]")


def _refuse(text: str, reason: str) -> json.JSONDecodeError:
    return json.JSONDecodeError(reason, text or " ", 0)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON")


def _finite(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise ValueError(f"{literal} does not fit a number")
    return number


def parse_json(data: str | bytes | bytearray) -> Any:
    """Parse strict JSON (RFC 8259) within our limits; anything else is a JSONDecodeError."""
    if isinstance(data, bytes | bytearray):
        try:
            text = bytes(data).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise _refuse("?", "Not UTF-8.") from None
    else:
        text = data
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise _refuse(text, "Nested too deeply.") from None
    except ValueError as exc:  # NaN/Infinity, overflowing floats, integers of 4300+ digits
        raise _refuse(text, str(exc)) from None
    _check_structure(value, text)
    return value


def _check_structure(value: Any, text: str) -> None:
    """Depth and lone surrogates, walked without recursion."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                raise _refuse(text, "Unpaired surrogate in a string.")
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise _refuse(text, f"Nested deeper than {MAX_JSON_DEPTH} levels.")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


def normalise_input(value: Any) -> Any:
    """The same data with every string (dict keys too) in NFC; other values unchanged."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {normalise_input(k): normalise_input(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_input(v) for v in value]
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON with `parse_json` for reading (request.get_json and the test client)."""

    ensure_ascii = False
    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        """Parse strictly; a refusal makes `request.get_json()` a 400."""
        return parse_json(s)


class IdConverter(IntegerConverter):
    """`<int:…>` path parts, ids of reference rows and accounts (32-bit columns): a larger
    number names nothing (404), rather than overflowing the column in the database."""

    MAX = INT32_MAX

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", self.MAX)
        super().__init__(url_map, *args, **kwargs)


class BigIdConverter(IdConverter):
    """`<bigint:…>` path parts: ids of cases and what grows with them (64-bit columns)."""

    MAX = INT64_MAX
