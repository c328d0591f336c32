"""The Open311 GeoReport v2 endpoints at /open311/v2/ (and discovery at /open311/), in JSON
and XML by extension. Every answer under /open311/, errors included, is in the spec's format:
unknown paths and methods are caught here too, so nothing else's error shape leaks through.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request
from flask.views import MethodView
from werkzeug.datastructures import CombinedMultiDict
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.routing import Rule

from reports_app.open311 import service
from reports_app.open311.formats import (
    Open311Error,
    handle_http_error,
    handle_open311_error,
    handle_workflow_error,
    respond,
)
from reports_app.open311.keys import request_api_key
from reports_app.ratelimits import limit_from_config, limiter
from workflows.machine import WorkflowError

blp = Blueprint("open311", __name__, url_prefix="/open311")
blp.register_error_handler(Open311Error, handle_open311_error)
blp.register_error_handler(HTTPException, handle_http_error)
blp.register_error_handler(WorkflowError, handle_workflow_error)

FMT = "<any(json, xml):fmt>"
FALLBACK = "open311.fallback"
KNOWN_METHODS = ("GET", "POST")


def _key_limit() -> str:
    """The calling key's own POSTs per minute."""
    key = request_api_key()
    if key is None:
        return limit_from_config("OPEN311_ADDRESS_RATE_LIMIT")
    return f"{key.rate_limit_per_minute}/minute"


def _key_bucket() -> str:
    key = request_api_key()
    return f"open311-key:{key.id if key is not None else '-'}"


POST_LIMITS = [
    # Per key; a missing or wrong key is refused by the view (403), and counted per address.
    limiter.limit(_key_limit, key_func=_key_bucket, methods=["POST"],
                  exempt_when=lambda: request_api_key() is None),
    limiter.limit(lambda: limit_from_config("OPEN311_ADDRESS_RATE_LIMIT"), methods=["POST"]),
]


def _params() -> CombinedMultiDict:
    """Form body and query string as one set of parameters (the body wins)."""
    return CombinedMultiDict([request.form, request.args])


@blp.get(f"/discovery.{FMT}")
@blp.get(f"/v2/discovery.{FMT}")
def discovery(fmt: str) -> Response:
    """Service discovery: where the GeoReport v2 endpoint is and what it speaks."""
    return respond("discovery", service.discovery())


@blp.get(f"/v2/services.{FMT}")
def services(fmt: str) -> Response:
    """The services (our categories)."""
    service.check_jurisdiction(request.args.get("jurisdiction_id"))
    return respond("services", service.list_services())


@blp.get(f"/v2/services/<code>.{FMT}")
def service_definition(code: str, fmt: str) -> Response:
    """A service's attributes (the category's extra fields)."""
    service.check_jurisdiction(request.args.get("jurisdiction_id"))
    return respond("service_definition", service.service_definition(code))


class Requests(MethodView):
    decorators = POST_LIMITS

    def get(self, fmt: str) -> Response:
        """Public service requests, filtered; newest first."""
        return respond("service_requests", service.find_requests(request.args))

    def post(self, fmt: str) -> Response:
        """A new service request, filed as an ordinary report (api_key required)."""
        return respond("service_requests",
                       service.create_request(_params(), service.media_files()))


blp.add_url_rule(f"/v2/requests.{FMT}", view_func=Requests.as_view("requests"))


@blp.get(f"/v2/requests/<request_id>.{FMT}")
def one_request(request_id: str, fmt: str) -> Response:
    """One service request, as an array of one."""
    case = service.get_request(request_id)
    return respond("service_requests", [service.request_view(case, service.language())])


@blp.get(f"/v2/tokens/<token>.{FMT}")
def token(token: str, fmt: str) -> Response:
    """The service request a token stands for (ours: the request id itself)."""
    return respond("service_requests", [service.resolve_token(token)])


def fallback(**_kwargs: Any) -> Response:
    """Any other path or method under /open311/: 405 where the path exists, else 404."""
    adapter = current_app.url_map.bind_to_environ(request.environ)
    allowed = []
    for method in KNOWN_METHODS:
        try:
            endpoint, _args = adapter.match(request.path, method=method)
        except HTTPException:
            continue
        if endpoint != FALLBACK:
            allowed.append(method)
    if allowed:
        if "GET" in allowed:
            allowed.append("HEAD")
        raise MethodNotAllowed(valid_methods=sorted(allowed))
    raise Open311Error(404, service.say("no_route"))


@blp.record_once
def _catch_all(state: Any) -> None:
    """Rules without a method list match every method (even unusual ones), so the request stays
    in this blueprint and gets our error format; specific rules win where they match."""
    app = state.app
    for path in ("/open311", "/open311/", "/open311/<path:rest>"):
        app.url_map.add(Rule(path, endpoint=FALLBACK))
    app.view_functions[FALLBACK] = fallback
