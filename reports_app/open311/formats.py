"""Open311 responses: JSON or XML by the path's extension, RFC 3339 dates in the province's
offset, and the spec's error list (`[{"code", "description"}]` or `<errors>`) for every failure
under /open311/ — never an HTML page and never the /api/v1 error shape.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, request
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from reports_app.errors import DEFAULT_ERRORS
from reports_app.i18n import message
from workflows.machine import WorkflowError

log = logging.getLogger(__name__)

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
XML_DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'

LIST_ITEMS = {
    "services": "service", "service_requests": "request", "attributes": "attribute",
    "values": "value", "endpoints": "endpoint", "formats": "format", "errors": "error",
}
"""The element each list's items get in XML (the spec's pairs: services/service, …)."""

OPEN311_STATUS = {401: 403, 409: 400, 422: 400}
"""The spec uses 403 for key problems, 404 for what does not exist and 400 for the rest."""

FIELD_NAMES = {"lon": "long", "photos": "media", "attributes": "attribute"}
"""Our field names in shared refusals, as an Open311 client calls them."""

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class Open311Error(Exception):
    """A refusal the Open311 way: the HTTP status and one description per problem."""

    def __init__(self, status: int, *descriptions: str,
                 headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.descriptions = [d for d in descriptions if d] or [_default_text(status)]
        self.headers = dict(headers or {})
        super().__init__("; ".join(self.descriptions))


def clean_text(value: str) -> str:
    """Text safe to echo in XML 1.0 and UTF-8 (no control characters, no lone surrogates)."""
    return _NOT_XML.sub("\ufffd", value)


def wants_xml() -> bool:
    """XML when the path ends in `.xml`, JSON otherwise (also for unknown paths)."""
    return request.path.lower().endswith(".xml")


def rfc3339(value: datetime | None) -> str | None:
    """An instant as RFC 3339 in the province's time zone, e.g. 2026-05-04T08:30:00+07:00."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).isoformat(
        timespec="seconds")


def respond(root: str, data: Any, status: int = 200,
            headers: Mapping[str, str] | None = None) -> Response:
    """`data` as JSON, or as XML under the element `root` (lists use LIST_ITEMS)."""
    if wants_xml():
        body = XML_DECLARATION + ET.tostring(_element(root, data), encoding="unicode").encode(
            "utf-8", "replace")
        content_type = XML_TYPE
    else:
        body = current_app.json.dumps(data).encode("utf-8", "replace")
        content_type = JSON_TYPE
    response = Response(body, status=status, content_type=content_type)
    response.headers.update(dict(headers or {}))
    return response


def _element(name: str, value: Any) -> ET.Element:
    element = ET.Element(name)
    if isinstance(value, Mapping):
        for key, item in value.items():
            element.append(_element(key, item))
    elif isinstance(value, Sequence) and not isinstance(value, str):
        child = LIST_ITEMS.get(name, "item")
        for item in value:
            element.append(_element(child, item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = clean_text(str(value))
    return element


def error_response(status: int, descriptions: Sequence[str],
                   headers: Mapping[str, str] | None = None) -> Response:
    """The spec's error list; each item's code is the HTTP status."""
    body = [{"code": status, "description": clean_text(d)} for d in descriptions]
    return respond("errors", body, status, headers)


def _default_text(status: int) -> str:
    return message(DEFAULT_ERRORS.get(status, "bad_request"))


def describe_field_errors(errors: Mapping[str, Any]) -> list[str]:
    """Field errors as lines `field: message`, fields with the same message on one line."""
    lines: dict[str, list[str]] = {}

    def walk(name: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                walk(f"attribute[{key}]" if name == "attribute" else f"{name}[{key}]", item)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(name, item)
        else:
            lines.setdefault(str(value), [])
            if name not in lines[str(value)]:
                lines[str(value)].append(name)

    for field, value in errors.items():
        walk(FIELD_NAMES.get(str(field), str(field)), value)
    return [f"{', '.join(fields)}: {text}" for text, fields in lines.items()]


def handle_open311_error(exc: Open311Error) -> Response:
    """Our own refusals."""
    return error_response(exc.status, exc.descriptions, exc.headers)


def handle_http_error(exc: HTTPException) -> Response:
    """Any HTTP error under /open311/ (shared code's aborts included) in the spec's format."""
    status = exc.code or 500
    if isinstance(exc, InternalServerError):
        log.exception("unhandled error under /open311/",
                      exc_info=exc.original_exception or exc)
    data = dict(getattr(exc, "data", None) or {})
    headers = dict(data.pop("headers", None) or {})
    for key, value in exc.get_headers():
        if key.lower() != "content-type":
            headers.setdefault(key, value)
    errors = data.get("errors") or data.get("messages")
    descriptions = describe_field_errors(errors) if isinstance(errors, Mapping) else []
    if not descriptions:
        text = data.get("message") or _default_text(status)
        if status == 429 and exc.description:
            text = f"{message('rate_limited')} ({exc.description})"
        if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            text = f"{text} ({request.method}; allowed: {', '.join(exc.valid_methods)})"
        descriptions = [str(text)]
    return error_response(OPEN311_STATUS.get(status, status), descriptions, headers)


def handle_workflow_error(exc: WorkflowError) -> Response:
    """A workflow refusal (should not happen on these endpoints): a general service error."""
    log.warning("workflow refused an Open311 call: %s", exc)
    return error_response(400, [str(exc) or _default_text(400)])
