"""Every (state, action, role) through the API: allowed ones work, the rest get a clear 4xx.

The expectations are DESIGN.md's action table written out by hand (plus `resume`, our way out of
need_info), not read from workflows/machine.py, so a wrong table fails here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from reports_app.db import utcnow
from reports_app.extensions import db
from reports_app.models import Case, CaseEvent
from tests.cases.conftest import build_case
from tests.factories import act

STATES = ["submitted", "assigned", "in_progress", "need_info", "resolved", "closed", "rejected"]
OPEN = {"submitted", "assigned", "in_progress", "need_info"}
ALL = set(STATES)
ROLES = ["reporter", "citizen", "staff", "other_staff", "operator", "supervisor", "admin"]
OVERSEERS = {"supervisor", "admin"}

# action: (states it may be taken from, parties who may take it)
EXPECTED: dict[str, tuple[set[str], set[str]]] = {
    "submit": (set(), {"reporter", "operator"} | OVERSEERS),
    "assign": ({"submitted"}, {"operator"} | OVERSEERS),
    "accept": ({"assigned"}, {"agency_staff"} | OVERSEERS),
    "transfer": ({"assigned", "in_progress"}, {"agency_staff", "operator"} | OVERSEERS),
    "request_info": ({"in_progress"}, {"agency_staff"} | OVERSEERS),
    "provide_info": ({"need_info"}, {"reporter"}),
    "resume": ({"need_info"}, {"agency_staff"} | OVERSEERS),
    "resolve": ({"in_progress"}, {"agency_staff"} | OVERSEERS),
    "reopen": ({"resolved", "closed"}, {"reporter"} | OVERSEERS),
    "close": ({"resolved"}, {"system"} | OVERSEERS),
    "reject": ({"submitted", "assigned"}, {"operator"} | OVERSEERS),
    "request_extension": (OPEN, {"agency_staff"} | OVERSEERS),
    "extend": (OPEN, OVERSEERS),
    "prioritize": (OPEN, {"operator"} | OVERSEERS),
    "comment": (ALL, {"agency_staff", "operator"} | OVERSEERS),
}


def _fields(action: str, role: str, refdata) -> dict:
    """Input that satisfies the action's fields and guards, so only state and party decide."""
    far = (utcnow() + timedelta(days=120)).isoformat()
    return {
        "assign": {"agency_id": refdata.ward_agency.id},
        "transfer": {"reason": "Không thuộc thẩm quyền",
                     **({} if role == "staff" else {"agency_id": refdata.ward_agency.id})},
        "request_info": {"note": "Ở đoạn nào?"},
        "provide_info": {"note": "Trước số nhà 12"},
        "resume": {"note": "Đã xác minh tại chỗ"},
        "resolve": {"note": "Đã xử lý xong"},
        "reopen": {"note": "Chưa xử lý triệt để"},
        "reject": {"reason": "spam"},
        "request_extension": {"reason": "Chờ vật tư", "due_at": far},
        "extend": {"decision": "grant"},
        "prioritize": {"priority": "urgent"},
        "comment": {"note": "Ghi chú nội bộ"},
    }.get(action, {})


def _target(action: str, role: str, state: str) -> str:
    """Where an allowed action takes the case (by hand, from DESIGN.md)."""
    if action == "transfer":
        return "submitted" if role == "staff" else "assigned"
    return {"assign": "assigned", "accept": "in_progress", "request_info": "need_info",
            "provide_info": "in_progress", "resume": "in_progress", "resolve": "resolved",
            "reopen": "in_progress", "close": "closed", "reject": "rejected"}.get(action, state)


def _party(role: str, case: Case) -> str | None:
    if role == "reporter":
        return "reporter"
    if role == "staff":
        return "agency_staff" if case.agency_id is not None else None
    if role in ("operator", "supervisor", "admin"):
        return role
    return None


def _visible(role: str, case: Case, department_id: int) -> bool:
    """Whether the role may see the case in the console at all."""
    if role in ("operator", "supervisor", "admin"):
        return True
    return role == "staff" and case.agency_id == department_id


def _expected(state: str, action: str, role: str, case: Case, department_id: int
              ) -> tuple[int, str | None]:
    """(HTTP status, error code) the API must answer."""
    if role in ("reporter", "citizen"):
        if action != "provide_info":
            return 403, "forbidden"  # citizens have no console
        if role == "citizen":
            return 404, "not_found"  # not their report: they must not learn it exists
    elif not _visible(role, case, department_id):
        return 404, "not_found"
    sources, parties = EXPECTED[action]
    if state not in sources:
        return 409, "invalid_transition"
    if _party(role, case) not in parties:
        return 403, "not_permitted"
    return 200, None


def _snapshot(case_id: int) -> tuple:
    db.session.expire_all()
    case = db.session.get(Case, case_id)
    events = db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent)
                               .where(CaseEvent.case_id == case_id))
    return case.state, case.version, case.agency_id, case.priority, events


@pytest.mark.parametrize("action", list(EXPECTED))
@pytest.mark.parametrize("state", STATES)
def test_every_state_action_role(state, action, refdata, people, client, as_user):
    """Allowed combinations succeed with their effects; the others get 403/404/409, never 5xx."""
    category = refdata.other  # no 'after' photo needed: the walk is about state and party
    case = None
    for role in ROLES:
        if case is None:
            case = build_case(refdata, people, state, category=category)
            if action == "extend" and state in OPEN:
                act(case, "request_extension", people.supervisor, reason="Mưa lớn",
                    due_at=utcnow() + timedelta(days=90))
        user = people.by_role(role)
        status, error = _expected(state, action, role, case, refdata.department.id)
        before = _snapshot(case.id)
        fields = _fields(action, role, refdata)
        if action == "provide_info" and role in ("reporter", "citizen"):
            response = client.post(f"/api/v1/reports/{case.id}/info", headers=as_user(user),
                                   json={**fields, "version": before[1]})
        else:
            if status != 403 or error != "forbidden":
                detail = client.get(f"/api/v1/cases/{case.id}", headers=as_user(user))
                if status == 404:
                    assert detail.status_code == 404
                else:
                    assert (action in detail.get_json()["allowed_actions"]) == (status == 200), \
                        (role, detail.get_json()["allowed_actions"])
            response = client.post(f"/api/v1/cases/{case.id}/actions/{action}",
                                   headers=as_user(user), json={**fields, "version": before[1]})
        body = response.get_json()
        assert response.status_code == status, (role, body)
        if status != 200:
            assert body["error"] == error, (role, body)
            assert _snapshot(case.id) == before, role  # nothing half-written
            continue
        after = _snapshot(case.id)
        assert after[0] == _target(action, role, state), role
        assert after[1] > before[1]  # the version moves on: older copies are stale
        assert after[4] == before[4] + 1
        db.session.expire_all()
        fresh = db.session.get(Case, case.id)
        last = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id)
                                  .order_by(CaseEvent.id.desc())).first()
        assert last.action == action
        assert body.get("state", after[0]) == after[0]
        _check_effects(action, role, fresh, refdata)
        case = None  # the next role needs a fresh case in `state`


def _check_effects(action: str, role: str, case: Case, refdata) -> None:
    """The side effects DESIGN.md names for each action."""
    if action == "assign":
        assert case.agency_id == refdata.ward_agency.id
        assert case.due_step == "accept"
    elif action == "transfer":
        expected = None if role == "staff" else refdata.ward_agency.id
        assert case.agency_id == expected
        assert case.due_step == ("triage" if role == "staff" else "accept")
    elif action == "accept":
        assert case.accepted_at is not None
    elif action == "request_info":
        assert case.due_at is None  # the clock pauses
    elif action in ("provide_info", "resume"):
        assert case.due_at is not None  # and resumes
    elif action == "resolve":
        assert case.public_reply == "Đã xử lý xong"
        assert case.resolved_at is not None
    elif action == "reopen":
        assert case.due_step == "resolve"
    elif action == "close":
        assert case.closed_at is not None
    elif action == "reject":
        assert case.reject_reason == "spam"
    elif action == "request_extension":
        assert case.pending_extension_due_at is not None
    elif action == "extend":
        assert case.pending_extension_due_at is None
        # Granting moves the resolve deadline; a case still in triage has none to move.
        assert case.extension_granted is (case.resolve_due_at is not None)
    elif action == "prioritize":
        assert case.priority == "urgent"
