"""The figures: GET /api/v1/stats/summary, /public-summary and /monthly/{YYYY-MM}."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView

from reports_app.api_errors import ALSO_AS
from reports_app.common.blueprint import Blueprint
from reports_app.db import utcnow
from reports_app.errors import abort
from reports_app.extensions import db
from reports_app.permissions import require_roles
from reports_app.stats import schemas as s
from reports_app.stats.exports import monthly_csv, monthly_html
from reports_app.stats.service import filters_from, public_summary, window_from
from workflows.monthly import MonthError, parse_month, stored_summary, trend
from workflows.roles import Role
from workflows.stats import compute_summary

blp = Blueprint("stats", __name__, url_prefix="/api/v1/stats",
                description="The published figures and the monthly summaries")

OVERSEERS = require_roles(Role.SUPERVISOR, Role.ADMIN)

NOT_BUILT = {"vi": "Chưa có báo cáo tháng này: báo cáo được lập tự động vào 00:30 ngày 1 tháng "
                   "sau, hoặc bằng lệnh `flask stats rebuild-month`.",
             "en": "This month's summary has not been built: it is built at 00:30 on the 1st of "
                   "the next month, or with `flask stats rebuild-month`."}


@blp.route("/summary")
class StatsSummary(MethodView):
    @OVERSEERS
    @blp.arguments(s.SummaryArgs, location="query")
    @blp.response(200, s.SummarySchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The figures of the reports submitted in [from, to), now, with breakdowns.

        Filters: one agency, one category, one area (with the areas inside it). Breakdowns
        by agency, category and area (default all three). DESIGN.md "The figures" and
        workflows/stats.py define every number.
        """
        now = utcnow()
        summary = compute_summary(db.session, window_from(args, now), now,
                                  filters=filters_from(args), breakdowns=args["breakdown"],
                                  tz=current_app.config["TIMEZONE"])
        return summary.as_dict()


@blp.route("/public-summary")
class PublicStatsSummary(MethodView):
    @blp.arguments(s.WindowArgs, location="query")
    @blp.response(200, s.PublicSummarySchema)
    def get(self, args: dict[str, Any]) -> Response:
        """Province totals and the headline for anyone (default: this year so far).

        No filters and no breakdowns; a process reuses an answer for up to 5 minutes.
        """
        data = public_summary(args, utcnow())
        response = current_app.json.response(s.PublicSummarySchema().dump(data))
        response.headers["Cache-Control"] = "public, max-age=300"
        return response


@blp.route("/monthly/<month>")
class MonthlySummaryView(MethodView):
    @OVERSEERS
    @blp.arguments(s.MonthlyArgs, location="query")
    @blp.response(200, s.MonthlySummarySchema, description="JSON; with format=csv a UTF-8 CSV "
                  "with a byte-order mark (text/csv), with format=html a printable page with "
                  "charts drawn as inline SVG (text/html)")
    @blp.alt_response(404, description="summary_not_built: the month has not been built yet")
    @blp.doc(**{ALSO_AS: ["text/csv", "text/html"]})
    def get(self, args: dict[str, Any], month: str) -> Any:
        """A kept monthly summary (YYYY-MM) as JSON, CSV or a printable HTML page.

        Summaries are built by the job at 00:30 on the 1st of the next month (province
        time) and then kept unchanged; `flask --app wsgi stats rebuild-month YYYY-MM`
        rebuilds one on purpose. Nothing is computed here: an unbuilt month is 404.
        """
        try:
            parse_month(month)
        except MonthError:
            abort(422, "validation_error", errors={"month": ["A month like 2026-10."]})
        row = stored_summary(db.session, month)
        lang = args["lang"]
        if row is None:
            abort(404, "summary_not_built", NOT_BUILT[lang])
        data = {**row.data, "cutoff_at": row.cutoff_at.isoformat(),
                "computed_at": row.computed_at.isoformat(), "trend": trend(db.session, month)}
        if args["format"] == "csv":
            name = f"bao-cao-{month}.csv" if lang == "vi" else f"summary-{month}.csv"
            return Response(monthly_csv(data, lang), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
        if args["format"] == "html":
            return Response(monthly_html(data, lang), content_type="text/html; charset=utf-8")
        return {**data, "cutoff_at": row.cutoff_at, "computed_at": row.computed_at}

