"""One JSON error shape for the whole API, and the one place domain errors become HTTP."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NoReturn

import marshmallow as ma
from flask import Flask
from flask_smorest import Api
from flask_smorest import abort as smorest_abort
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from reports_app.i18n import message

log = logging.getLogger(__name__)

DEFAULT_ERRORS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
}

_DOMAIN_ERRORS: list[tuple[type[Exception], int | Mapping[str, int]]] = []


class ErrorSchema(ma.Schema):
    """The error payload every endpoint returns; some errors add details of their own (the
    case's state and version on a conflict, the photo's index on a refused upload)."""

    class Meta:
        unknown = ma.INCLUDE

    code = ma.fields.Integer(metadata={"description": "HTTP status"})
    status = ma.fields.String(metadata={"description": "HTTP status name"})
    error = ma.fields.String(metadata={"description": "Stable machine-readable error code"})
    message = ma.fields.String(metadata={"description": "Human-readable message"})
    errors = ma.fields.Dict(metadata={"description": "Field errors of a validation failure"})


def abort(status: int, error: str | None = None, message_text: str | None = None,
          errors: dict[str, Any] | None = None, **extra: Any) -> NoReturn:
    """Stop the request with our error shape; `error` is what clients switch on."""
    data: dict[str, Any] = {"error": error or DEFAULT_ERRORS.get(status, "error")}
    data["message"] = message_text or message(data["error"])
    if errors:
        data["errors"] = errors
    data.update(extra)
    smorest_abort(status, **data)
    raise AssertionError("unreachable")  # pragma: no cover


def register_domain_error(exc_type: type[Exception], status: int | Mapping[str, int]) -> None:
    """Map an exception carrying `.code` to an HTTP status, or to one status per code."""
    _DOMAIN_ERRORS.append((exc_type, status))


def error_payload(status: int, name: str, error: str, text: str,
                  errors: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """Build the one error body shape."""
    body: dict[str, Any] = {"code": status, "status": name, "error": error, "message": text}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


class JsonApi(Api):
    """flask-smorest's Api with our error shape (adds the machine-readable `error`)."""

    ERROR_SCHEMA = ErrorSchema
    DEFAULT_ERROR_RESPONSE_NAME = None  # each operation lists its errors (api_errors.py)

    def handle_http_exception(self, error: HTTPException) -> tuple[dict[str, Any], int, dict]:
        """Render any HTTP error, including unhandled exceptions turned into 500."""
        status = error.code or 500
        if isinstance(error, InternalServerError) and error.original_exception is not None:
            log.exception("unhandled error", exc_info=error.original_exception)
        data = dict(getattr(error, "data", None) or {})
        headers = data.pop("headers", {}) or {}
        code = data.pop("error", None) or DEFAULT_ERRORS.get(status, "error")
        errors = data.pop("errors", None) or data.pop("messages", None)
        if isinstance(errors, dict) and set(errors) <= {"json", "form", "query", "files",
                                                          "headers", "path", "view_args"}:
            # webargs nests field errors under the location; clients want the fields.
            flat: dict[str, Any] = {}
            for value in errors.values():
                if isinstance(value, dict):
                    flat.update(value)
            errors = flat or errors
        text = data.pop("message", None) or message(code)
        data.pop("exc", None)
        data.pop("schema", None)
        body = error_payload(status, error.name, code, text, errors, **data)
        if hasattr(error, "get_headers"):
            for key, value in error.get_headers():
                if key.lower() not in ("content-type",):
                    headers.setdefault(key, value)
        return body, status, headers


def _handle_domain_error(exc: Exception) -> tuple[dict[str, Any], int]:
    for exc_type, statuses in _DOMAIN_ERRORS:
        if isinstance(exc, exc_type):
            code = getattr(exc, "code", None)
            status = statuses if isinstance(statuses, int) else statuses.get(code, 422)
            status = getattr(exc, "status_hint", None) or status  # GuardFailed says its own
            code = code or DEFAULT_ERRORS.get(status, "error")
            extra = getattr(exc, "details", None) or {}
            return error_payload(status, HTTP_STATUS_CODES.get(status, "Error"), code,
                                 str(exc) or message(code), getattr(exc, "errors", None),
                                 **extra), status
    raise exc


def register_error_handlers(app: Flask) -> None:
    """Route every domain exception through the one JSON shape; the table lives here."""
    from reports_app.admin.service import ReferenceError
    from reports_app.auth.service import AccountError

    _DOMAIN_ERRORS.clear()
    register_domain_error(AccountError, {"account_exists": 409, "invalid_credentials": 401,
                                         "account_inactive": 403, "validation_error": 422})
    register_domain_error(ReferenceError, {"duplicate_code": 409, "duplicate_rule": 409})
    from workflows.machine import InvalidTransition, MissingFields, NotPermitted, UnknownAction
    from workflows.operations import GuardFailed, InvalidInput, StaleVersion

    register_domain_error(UnknownAction, 404)
    register_domain_error(InvalidTransition, 409)
    register_domain_error(NotPermitted, 403)
    register_domain_error(MissingFields, 422)
    register_domain_error(InvalidInput, 422)
    register_domain_error(StaleVersion, 409)
    register_domain_error(GuardFailed, 409)  # the default; each guard gives its status_hint
    from workflows.feedback import FeedbackRefused

    register_domain_error(FeedbackRefused, {"not_reporter": 403, "already_rated": 409,
                                            "not_resolved": 409})
    for exc_type, _status in _DOMAIN_ERRORS:
        app.register_error_handler(exc_type, _handle_domain_error)
