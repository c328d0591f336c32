"""Supervisor API for SLA: warnings and breaches, cases due soon, acknowledgements."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_jwt_extended import current_user

from reports_app.common.blueprint import Blueprint
from reports_app.db import utcnow
from reports_app.errors import abort
from reports_app.extensions import db
from reports_app.models import Case
from reports_app.permissions import require_roles
from reports_app.sla import schemas as s
from reports_app.sla.service import list_due_soon, list_sla_events, sla_event_item
from reports_app.workflow_context import app_calendar
from workflows.roles import Role
from workflows.sla import SlaEventError, acknowledge_sla_event, clock_status

blp = Blueprint("sla", __name__, url_prefix="/api/v1/sla",
                description="SLA warnings and breaches for supervisors")

_STATUS = {"not_found": 404, "already_acknowledged": 409}


@blp.route("/breaches")
class SlaEvents(MethodView):
    @require_roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(s.SlaEventArgs, location="query")
    @blp.response(200, s.SlaEventPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List recorded breaches and warnings, newest first, with how late each step was."""
        return list_sla_events(args, app_calendar(), utcnow())


@blp.route("/breaches/<bigint:event_id>/acknowledge")
class AcknowledgeSlaEvent(MethodView):
    @require_roles(Role.SUPERVISOR, Role.ADMIN)
    @blp.arguments(s.AcknowledgeSchema)
    @blp.response(200, s.SlaEventSchema)
    @blp.alt_response(409, description="already_acknowledged: the first note stands")
    def post(self, data: dict[str, Any], event_id: int) -> dict[str, Any]:
        """Acknowledge a breach or warning with a note (once; the first note stands)."""
        now = utcnow()
        try:
            event = acknowledge_sla_event(db.session, event_id, current_user, data["note"], now)
        except SlaEventError as exc:
            db.session.rollback()
            abort(_STATUS[exc.code], exc.code)
        db.session.commit()
        current_app.logger.info("sla event %s acknowledged by %s", event_id, current_user.id)
        return sla_event_item(event, app_calendar(), now)


@blp.route("/cases/<bigint:case_id>")
class CaseClocks(MethodView):
    @require_roles(Role.SUPERVISOR, Role.ADMIN, Role.OPERATOR, Role.STAFF)
    @blp.response(200, s.CaseClocksSchema)
    def get(self, case_id: int) -> dict[str, Any]:
        """Show a case's current deadline and each step's clock with the working time left."""
        case = db.session.get(Case, case_id)
        if case is None or (current_user.role == Role.STAFF
                            and case.agency_id != current_user.agency_id):
            abort(404, "not_found")  # staff may not learn of other agencies' cases
        status = clock_status(case, app_calendar(), utcnow())
        return {"case_id": case.id, "tracking_code": case.tracking_code,
                "case_state": str(case.state), **status.as_dict()}


@blp.route("/due-soon")
class DueSoon(MethodView):
    @require_roles(Role.SUPERVISOR, Role.ADMIN, Role.OPERATOR, Role.STAFF)
    @blp.arguments(s.DueSoonArgs, location="query")
    @blp.response(200, s.DueSoonPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List open cases whose current deadline falls within the next N working hours."""
        agency_id = args.get("agency")
        if current_user.role == Role.STAFF:
            # Staff see their own agency's queue only.
            if agency_id is not None and agency_id != current_user.agency_id:
                abort(403, "forbidden")
            agency_id = current_user.agency_id
        return list_due_soon(args, app_calendar(), utcnow(), agency_id)
