"""The citizen app's report API, the public feed, and the public photo derivatives."""

from __future__ import annotations

import re
from typing import Any

import marshmallow as ma
from flask import Response, current_app, request, url_for
from flask.views import MethodView
from flask_jwt_extended import current_user
from werkzeug.datastructures import CombinedMultiDict

from media import MissingFile, is_private
from reports_app.api_errors import RATE_LIMITED
from reports_app.common.blueprint import Blueprint, StrictParser
from reports_app.common.schemas import PageArgs, page_of
from reports_app.errors import abort
from reports_app.permissions import require_roles
from reports_app.ratelimits import account_or_address, limit_from_config, limiter
from reports_app.reports import schemas as s
from reports_app.reports import service
from reports_app.reports.photos import app_storage
from workflows.roles import Role

PUBLIC_KEY = re.compile(r"(?:display|thumb)/[0-9a-f]{64}\.jpg")
"""The only keys served: our metadata-free JPEG derivatives, named by content hash (as
media.keys writes them). Originals stay private; any other name, extension or kind is a 404,
whatever the storage holds under it."""
JPEG_MAGIC = b"\xff\xd8\xff"
IMMUTABLE = "public, max-age=31536000, immutable"
MEDIA_CSP = "default-src 'none'; sandbox"
"""Should anything ever render a photo response as a document, it may run and load nothing."""


class MultipartParser(StrictParser):
    """Reads a multipart form whole, text fields and files together: it is one form."""

    def load_form(self, req: Any, schema: ma.Schema) -> Any:
        """Form fields and uploaded files as one MultiDict proxy."""
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)


class ReportsBlueprint(Blueprint):
    """A blueprint whose form arguments include the uploaded files."""

    ARGUMENTS_PARSER = MultipartParser()


blp = ReportsBlueprint("reports", __name__, description="Citizen reports, the public feed and photos")

CITIZEN = require_roles(Role.CITIZEN)
SIGNED_IN = require_roles()


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = current_app.json.response(body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def _counts_against_limit(response: Response) -> bool:
    """A replayed retry (same Idempotency-Key) costs the citizen nothing."""
    return response.headers.get("Idempotent-Replayed") != "true"


@blp.route("/api/v1/reports")
class Reports(MethodView):
    decorators = [
        limiter.limit(lambda: limit_from_config("REPORT_RATE_LIMIT"), methods=["POST"],
                      key_func=account_or_address, deduct_when=_counts_against_limit),
        limiter.limit(lambda: limit_from_config("REPORT_ADDRESS_RATE_LIMIT"), methods=["POST"],
                      deduct_when=_counts_against_limit),
    ]

    @CITIZEN
    @blp.arguments(s.IdempotencyHeaderSchema, location="headers")
    @blp.arguments(s.ReportFormSchema, location="form", content_type="multipart/form-data")
    @blp.response(201, s.ReportSchema, headers={
        "Idempotent-Replayed": {"description": "true when this answers a retry",
                                "schema": {"type": "string"}}})
    @blp.alt_response(409, description="request_in_progress: the first request with this "
                                       "Idempotency-Key is still running (see Retry-After)")
    @blp.alt_response(413, description="file_too_large / image_too_large, with the photo index")
    @blp.alt_response(415, description="unsupported_media_type, with the photo index")
    @blp.alt_response(429, description=RATE_LIMITED)
    def post(self, headers: dict[str, Any], form: dict[str, Any]) -> Response:
        """Send a report with 1 to 5 geotagged photos (multipart); retries are idempotent."""
        result = service.submit_from_app(current_user, form, request.form.items(multi=True),
                                         headers.get("idempotency_key"))
        extra = {"Location": url_for("reports.Report", case_id=result.body["id"])}
        if result.replayed:
            extra["Idempotent-Replayed"] = "true"
        return _json(result.status, result.body, extra)


@blp.route("/api/v1/reports/mine")
class MyReports(MethodView):
    @SIGNED_IN
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_of(s.ReportSummarySchema, "ReportSummaryPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """My reports and the cases I follow, newest first."""
        return service.my_reports(current_user, args["page"], args["page_size"])


@blp.route("/api/v1/reports/<bigint:case_id>", endpoint="Report")
class Report(MethodView):
    @SIGNED_IN
    @blp.response(200, s.ReportSchema)
    def get(self, case_id: int) -> Any:
        """One of my reports: status, deadline, photos and the public timeline."""
        return service.report_for(current_user, case_id)


@blp.route("/api/v1/reports/nearby")
class Nearby(MethodView):
    @blp.arguments(s.NearbyArgs, location="query")
    @blp.response(200, s.NearbySchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Open public reports near a point, nearest first, to spot duplicates before sending."""
        return {"items": service.nearby_reports(args["lat"], args["lon"], args["radius_m"],
                                                args.get("category"))}


@blp.route("/api/v1/public/reports")
class PublicReports(MethodView):
    @blp.arguments(s.PublicListArgs, location="query")
    @blp.response(200, page_of(s.PublicReportSchema, "PublicReportPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The public feed of reports, without any personal data."""
        return service.public_reports(args)


@blp.route("/api/v1/public/reports/<code>")
class PublicReport(MethodView):
    @blp.response(200, s.PublicReportDetailSchema)
    def get(self, code: str) -> Any:
        """A public report by its tracking code (e.g. PA-2611-7KQ3), with its public timeline."""
        return service.public_report(code)


@blp.route("/media/<path:key>", endpoint="media")
class Media(MethodView):
    @blp.response(200, description="A metadata-free JPEG derivative, cacheable forever",
                  content_type="image/jpeg")
    def get(self, key: str) -> Response:
        """A photo's display or thumbnail image; originals are private (404)."""
        if is_private(key) or not PUBLIC_KEY.fullmatch(key):
            abort(404, "not_found")
        try:
            data = app_storage().get(key)
        except (MissingFile, ValueError):
            abort(404, "not_found")
        if not data.startswith(JPEG_MAGIC):  # never serve bytes we did not encode ourselves
            abort(404, "not_found")
        response = Response(data, mimetype="image/jpeg")
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Security-Policy"] = MEDIA_CSP
        response.set_etag(key.rsplit("/", 1)[-1].split(".", 1)[0])
        return response.make_conditional(request)
