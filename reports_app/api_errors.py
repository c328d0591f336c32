"""The error responses each API operation documents, from what the operation is.

flask-smorest documents one catch-all `default` error, which tells a client (and a schema
checker) nothing about which statuses can come back. Instead every operation lists the
statuses it can answer with, derived once here from what its documentation already says:
a token (401, and 403 when only some roles may call it), a path value (404), parameters or a
body (400 for unreadable input, 422 for invalid values), a body (413 too large, 415 wrong
type). A view that can give more (409, a rate limit's 429) says so with `alt_response`, and
gets the error body documented with it.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

BODY_METHODS = frozenset({"post", "put", "patch"})
ALSO_AS = "x-also-as"
"""Operation extension: other content types its success response comes in (`?format=`)."""
ROLES = "x-roles"
"""Operation extension: the roles that may call it (empty: any signed-in account)."""

RATE_LIMITED = ("rate_limited: too many requests from this account or address, or "
                "account_locked after repeated failed sign-ins; Retry-After says when to retry")
"""The description of a rate-limited operation's 429 (`alt_response(429, description=…)`)."""

ERROR_SCHEMA_REF = {"$ref": "#/components/schemas/Error"}

_NAMES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
          413: "REQUEST_ENTITY_TOO_LARGE", 415: "UNSUPPORTED_MEDIA_TYPE",
          422: "UNPROCESSABLE_ENTITY"}
"""Each status's response component (flask-smorest registers one per HTTP status)."""


def error_statuses(method: str, operation: dict[str, Any], has_path_values: bool) -> set[int]:
    """The statuses an operation can answer with when the request is refused."""
    statuses: set[int] = set()
    parameters = operation.get("parameters", [])
    has_body = "requestBody" in operation or method in BODY_METHODS
    if operation.get("security"):
        statuses.add(401)
        if operation.get(ROLES):
            statuses.add(403)
    if has_path_values:
        statuses.add(404)
    if has_body or any(isinstance(p, dict) and p.get("in") == "query" for p in parameters):
        statuses |= {400, 422}
    if has_body:
        statuses |= {413, 415}
    return statuses


class ErrorResponsesPlugin(BasePlugin):
    """Adds each operation's error responses (those it does not document itself), and the
    other content types of its success response."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None,
                         **kwargs: Any) -> None:
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            for content_type in operation.pop(ALSO_AS, ()):
                for status, response in responses.items():
                    if str(status).startswith("2") and isinstance(response, dict):
                        response.setdefault("content", {})[content_type] = {
                            "schema": {"type": "string"}}
            for status, response in responses.items():
                if str(status).startswith(("4", "5")) and isinstance(response, dict) \
                        and "content" not in response:
                    response["content"] = {"application/json": {"schema": ERROR_SCHEMA_REF}}
            for status in sorted(error_statuses(method, operation, "{" in (path or ""))):
                responses.setdefault(str(status), _NAMES[status])
