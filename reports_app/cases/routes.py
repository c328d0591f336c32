"""Case API for the console: work queues, the case file, workflow actions, and the table itself.

Also the reporter's answer to a question (`POST /reports/{id}/info`): it is a workflow action,
so it lives with the others.
"""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from flask import Response, jsonify, request
from flask.views import MethodView
from flask_jwt_extended import current_user
from werkzeug.datastructures import FileStorage

from reports_app.cases import schemas as s
from reports_app.cases.service import (
    act_on_case,
    case_detail,
    get_visible_case,
    list_cases,
    provide_info,
    sees_reporter,
)
from reports_app.common.blueprint import Blueprint
from reports_app.common.dumping import Dumper
from reports_app.errors import ErrorSchema, abort
from reports_app.models import Case
from reports_app.permissions import require_roles
from workflows import machine
from workflows.roles import STAFF_ROLES
from workflows.states import STATE_LABELS, CaseState

blp = Blueprint("cases", __name__, url_prefix="/api/v1",
                description="Work queues, case files and workflow actions")

CONSOLE = require_roles(*sorted(STAFF_ROLES))
SIGNED_IN = require_roles()

_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")

# Compiled once: building a schema (and its nested ones) per request cost more than the dump,
# and the service functions already give plain values (reports_app/common/dumping.py).
_OPERATOR_CASE = Dumper(s.OperatorCaseSchema())
_STAFF_CASE = Dumper(s.StaffCaseSchema())
_OPERATOR_PAGE = Dumper(s.OperatorCasePageSchema())
_STAFF_PAGE = Dumper(s.StaffCasePageSchema())


def _request_body(schema: ma.Schema) -> tuple[dict[str, Any], list[FileStorage]]:
    """Load a JSON or multipart body with the same schema; files come only as `photos`."""
    uploads: list[FileStorage] = []
    if request.mimetype in _FORMS:
        extra_files = sorted(set(request.files) - {"photos"})
        if extra_files:
            abort(422, "validation_error",
                  errors={name: ["Unknown field."] for name in extra_files})
        raw: Any = request.form.to_dict(flat=True)
        uploads = [f for f in request.files.getlist("photos") if f.filename]
    elif request.is_json:
        raw = request.get_json(silent=True)
        if not isinstance(raw, dict):
            abort(400, "bad_request", "The body must be a JSON object.")
    elif request.get_data(cache=True):
        abort(415, "unsupported_media_type",
              "Send JSON, or multipart/form-data when there are photos.")
    else:
        raw = {}
    try:
        return schema.load(raw), uploads
    except ma.ValidationError as exc:
        abort(422, "validation_error", errors=exc.messages_dict)


def _body_doc(json_schema: type[ma.Schema], form_schema: type[ma.Schema]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": json_schema},
        "multipart/form-data": {"schema": form_schema},
    }}}


def _case_file(case: Case) -> Response:
    """The case as the caller may see it (role-based view)."""
    schema = _OPERATOR_CASE if sees_reporter(current_user) else _STAFF_CASE
    return jsonify(schema(case_detail(case, current_user)))


@blp.route("/cases")
class Cases(MethodView):
    @CONSOLE
    @blp.arguments(s.CaseListArgs, location="query")
    @blp.response(200, s.OperatorCasePageSchema, description=(
        "Operators, supervisors and admins get each case's reporter; agency staff get their "
        "own agency's cases only, without the reporter."))
    def get(self, args: dict[str, Any]) -> Response:
        """Work queue: the caller's cases, soonest deadline first."""
        page = list_cases(current_user, args)
        schema = _OPERATOR_PAGE if sees_reporter(current_user) else _STAFF_PAGE
        return jsonify(schema(page))


@blp.route("/cases/<bigint:case_id>")
class CaseItem(MethodView):
    @CONSOLE
    @blp.response(200, s.OperatorCaseSchema, description=(
        "The staff view leaves out `reporter` and the photos' EXIF position; a case of another "
        "agency is a 404."))
    @blp.alt_response(404, schema=ErrorSchema, description="No such case, or not yours to see")
    def get(self, case_id: int) -> Response:
        """The case file: timeline, photos, clocks and the actions the caller may take."""
        return _case_file(get_visible_case(current_user, case_id))


@blp.route("/cases/<bigint:case_id>/actions/<action>")
class CaseAction(MethodView):
    @CONSOLE
    @blp.doc(**_body_doc(s.ActionBodySchema, s.ActionFormSchema))
    @blp.response(200, s.OperatorCaseSchema, description="The case after the action")
    @blp.alt_response(403, schema=ErrorSchema, description="not_permitted and guard refusals")
    @blp.alt_response(404, schema=ErrorSchema, description="No such case or action")
    @blp.alt_response(409, schema=ErrorSchema,
                      description="invalid_transition, stale_version (with state and version)")
    @blp.alt_response(422, schema=ErrorSchema, description="missing_fields, validation_error")
    def post(self, case_id: int, action: str) -> Response:
        """Take a workflow action on a case (JSON, or multipart with `photos` for resolve)."""
        body, uploads = _request_body(s.ActionBodySchema())
        return _case_file(act_on_case(current_user, case_id, action, body, uploads))


@blp.route("/reports/<bigint:case_id>/info")
class ReportInfo(MethodView):
    @SIGNED_IN
    @blp.doc(**_body_doc(s.InfoBodySchema, s.InfoFormSchema))
    @blp.response(200, s.InfoResultSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="No such report of yours")
    @blp.alt_response(409, schema=ErrorSchema, description="No question is waiting for you")
    def post(self, case_id: int) -> dict[str, Any]:
        """Answer the agency's request for information on your report (note, optional photos)."""
        body, uploads = _request_body(s.InfoBodySchema())
        case = provide_info(current_user, case_id, body, uploads)
        return {"id": case.id, "tracking_code": case.tracking_code, "state": str(case.state),
                "state_label": STATE_LABELS[CaseState(case.state)], "version": case.version,
                "updated_at": case.updated_at}


@blp.route("/workflow")
class Workflow(MethodView):
    @blp.response(200, s.WorkflowSchema)
    def get(self) -> Response:
        """The workflow table, so clients offer only the actions a user may take."""
        return jsonify(machine.as_dict())
