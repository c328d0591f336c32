"""POST /api/v1/reports/{id}/feedback: the reporter rates the result of a resolved report."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_jwt_extended import current_user

from reports_app.common.blueprint import Blueprint
from reports_app.errors import abort
from reports_app.extensions import db
from reports_app.feedback import schemas as s
from reports_app.models import Case
from reports_app.permissions import require_roles
from reports_app.workflow_context import workflow_context
from workflows.feedback import give_feedback
from workflows.operations import is_reporter

blp = Blueprint("feedback", __name__, url_prefix="/api/v1/reports",
                description="Citizens rate the result of their reports")


@blp.route("/<bigint:case_id>/feedback")
class ReportFeedback(MethodView):
    @require_roles()
    @blp.arguments(s.FeedbackSchema)
    @blp.response(201, s.FeedbackResultSchema)
    @blp.alt_response(404, description="No such report, or not yours (not_found)")
    @blp.alt_response(403, description="You follow this report but did not send it "
                                       "(not_reporter): only the reporter rates")
    @blp.alt_response(409, description="already_rated (this result was rated), not_resolved "
                                       "(nothing to rate now), stale_version (retry)")
    def post(self, data: dict[str, Any], case_id: int) -> dict[str, Any]:
        """Rate the result of your resolved report; dissatisfied within the window reopens it.

        Only the citizen who sent the report rates it, once per result. `dissatisfied`
        within FEEDBACK_WINDOW_DAYS (default 7) of the resolution sends the case back to the
        agency with the comment; any other rating, or a later one, closes it.
        """
        case = db.session.get(Case, case_id)
        if case is None or not is_reporter(db.session, case, current_user):
            abort(404, "not_found")
        result = give_feedback(db.session, case, current_user, data["rating"],
                               data.get("comment"), workflow_context())
        db.session.commit()
        return {"feedback": result.feedback, "case": case, "reopened": result.reopened}
