"""History nobody rewrites: the case timeline and the audit trail are append-only, and every
admin change to reference data is recorded with who, when and what changed (old → new)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from reports_app.audit import AppendOnlyViolation, audited_session
from reports_app.db import utcnow
from reports_app.extensions import db
from reports_app.models import Agency, AuditEntry, Case, CaseEvent, User
from tests import factories
from workflows.roles import Role


@pytest.fixture
def admin(app: Flask) -> User:
    return factories.make_user(Role.ADMIN, full_name="Quản trị viên")


@pytest.fixture
def headers(admin: User) -> dict[str, str]:
    return factories.auth_headers(admin)


def _entries(**filters: Any) -> list[AuditEntry]:
    db.session.rollback()
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id)
    for name, value in filters.items():
        stmt = stmt.where(getattr(AuditEntry, name) == value)
    return list(db.session.scalars(stmt))


# ----------------------------------------------------------------------------- append-only


@pytest.fixture
def case(app: Flask) -> Case:
    return factories.make_case(factories.make_refdata())


def test_the_orm_refuses_to_change_a_timeline_event(case):
    """Changing any column of a recorded event fails before any SQL is sent."""
    for change in ("note", "created_at", "to_state", "actor_id"):
        event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
        setattr(event, change, utcnow() - timedelta(days=1) if change == "created_at" else
                None if change == "actor_id" else "closed")
        with pytest.raises(AppendOnlyViolation):
            db.session.flush()
        db.session.rollback()


def test_the_orm_refuses_to_delete_events_audit_entries_or_cases(case, admin):
    """Deleting an event, an audit entry or a case (with its timeline) is refused."""
    with audited_session(db.session, admin.id):
        factories.make_agency("AUD1")
    entry = _entries()[0]
    event = db.session.scalars(sa.select(CaseEvent)).first()
    for row in (event, entry, db.session.get(Case, case.id)):
        db.session.delete(row)
        with pytest.raises(AppendOnlyViolation):
            db.session.flush()
        db.session.rollback()


REWRITES = {
    "update events": lambda: sa.update(CaseEvent).values(note="rewritten"),
    "delete events": lambda: sa.delete(CaseEvent),
    "update audit entries": lambda: sa.update(AuditEntry).values(action="nothing"),
    "delete audit entries": lambda: sa.delete(AuditEntry),
    "delete cases": lambda: sa.delete(Case),
    "Core update of the events table": lambda: sa.update(CaseEvent.__table__).values(note="x"),
}


def test_bulk_statements_that_rewrite_history_are_refused(case):
    """UPDATE and DELETE statements on the timeline or the audit trail never run."""
    for name, statement in REWRITES.items():
        with pytest.raises(AppendOnlyViolation):
            db.session.execute(statement())
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent)) == 1, name


def test_a_whole_case_walk_only_ever_appends_to_the_timeline(client, case):
    """Through every step of a case's life the earlier timeline rows stay exactly as written."""
    staff = factories.make_user(Role.STAFF, agency=case.agency)
    supervisor = factories.make_user(Role.SUPERVISOR)
    reporter = case.reporter
    steps = [
        (staff, f"/api/v1/cases/{case.id}/actions/accept", {}),
        (staff, f"/api/v1/cases/{case.id}/actions/request_info", {"note": "Ảnh rõ hơn?"}),
        (reporter, f"/api/v1/reports/{case.id}/info", {"note": "Đây ạ"}),
        (staff, f"/api/v1/cases/{case.id}/actions/comment", {"note": "Đã xem"}),
        (supervisor, f"/api/v1/cases/{case.id}/actions/prioritize", {"priority": "urgent"}),
    ]
    seen: list[tuple[Any, ...]] = []
    for user, url, body in steps:
        db.session.expire_all()
        version = db.session.get(Case, case.id).version
        response = client.post(url, json={"version": version, **body},
                               headers=factories.auth_headers(user))
        assert response.status_code == 200, response.get_json()
        db.session.rollback()
        rows = [(e.id, e.action, e.actor_id, e.party, e.from_state, e.to_state, e.note,
                 e.reason, json.dumps(e.data, sort_keys=True), e.is_public, e.created_at)
                for e in db.session.scalars(sa.select(CaseEvent).where(
                    CaseEvent.case_id == case.id).order_by(CaseEvent.id))]
        assert rows[:len(seen)] == seen
        assert len(rows) > len(seen)
        seen = rows


def test_no_endpoint_can_edit_or_delete_history(app: Flask):
    """The only endpoints that change or remove anything in place are the reference-data
    admin's (PATCH, DELETE = deactivate); none touches a timeline or the audit trail."""
    rewriting = sorted((rule.rule, method) for rule in app.url_map.iter_rules()
                       for method in (rule.methods or set()) & {"PUT", "PATCH", "DELETE"})
    assert all(path.startswith("/api/v1/admin/") for path, _ in rewriting), rewriting
    assert not any("audit" in path or "event" in path or "timeline" in path
                   for path, _ in rewriting)
    audit_rules = [rule for rule in app.url_map.iter_rules() if "audit" in rule.rule]
    assert [sorted(r.methods - {"HEAD", "OPTIONS"}) for r in audit_rules] == [["GET"]]


# ----------------------------------------------------------------------------- audit trail


def test_admin_changes_are_recorded_with_who_when_and_old_to_new(client, admin, headers):
    """Create, change and deactivate an agency: three entries by the admin, each naming the
    changed fields with their old and new values."""
    created = client.post("/api/v1/admin/agencies", headers=headers, json={
        "code": "SGTVT", "name_vi": "Sở Giao thông", "name_en": "Transport"})
    assert created.status_code == 201
    agency_id = created.get_json()["id"]
    assert client.patch(f"/api/v1/admin/agencies/{agency_id}", headers=headers,
                        json={"name_en": "Transport Department"}).status_code == 200
    assert client.delete(f"/api/v1/admin/agencies/{agency_id}", headers=headers).status_code == 200
    entries = _entries(entity="agency")
    assert [(e.action, e.entity_id, e.actor_id) for e in entries] == [
        ("create", agency_id, admin.id), ("update", agency_id, admin.id),
        ("deactivate", agency_id, admin.id)]
    assert entries[0].changes["code"] == {"old": None, "new": "SGTVT"}
    assert entries[0].changes["name_vi"] == {"old": None, "new": "Sở Giao thông"}
    assert entries[1].changes == {"name_en": {"old": "Transport",
                                              "new": "Transport Department"}}
    assert entries[2].changes == {"is_active": {"old": True, "new": False}}
    assert all(abs((utcnow() - e.created_at).total_seconds()) < 60 for e in entries)


CREATIONS = [
    ("/api/v1/admin/areas", {"code": "AU-A", "name_vi": "Xã", "name_en": "Commune",
                             "level": "commune", "boundary": factories.square(109.0, 13.0)},
     "area"),
    ("/api/v1/admin/categories", {"code": "au-c", "service_code": "au-c", "name_vi": "Loại",
                                  "name_en": "Kind", "keywords": ["ổ gà"]}, "category"),
    ("/api/v1/admin/users", {"email": "au@example.test", "password": "mật khẩu dài",
                             "role": "supervisor"}, "user"),
    ("/api/v1/admin/api-keys", {"name": "Ứng dụng", "rate_limit_per_minute": 5}, "api_key"),
]


def test_every_kind_of_reference_data_is_audited(client, admin, headers):
    """Areas, categories, users and Open311 keys are audited like agencies."""
    for path, body, entity in CREATIONS:
        response = client.post(path, headers=headers, json=body)
        assert response.status_code == 201, response.get_json()
        [entry] = _entries(entity=entity)
        assert (entry.action, entry.entity_id, entry.actor_id) == (
            "create", response.get_json()["id"], admin.id)
        assert entry.changes


def test_routing_rules_and_sla_policies_are_audited(client, admin, headers):
    """The rules that route cases and set their deadlines are audited too."""
    refdata = factories.make_refdata()
    rule = client.post("/api/v1/admin/routing-rules", headers=headers, json={
        "category_id": refdata.other.id, "area_id": refdata.ward.id,
        "agency_id": refdata.ward_agency.id})
    policy = client.post("/api/v1/admin/sla-policies", headers=headers, json={
        "category_id": refdata.other.id, "priority": "urgent", "triage": "PT1H",
        "accept": "PT2H", "resolve": "P1D"})
    assert (rule.status_code, policy.status_code) == (201, 201)
    client.patch(f"/api/v1/admin/sla-policies/{policy.get_json()['id']}", headers=headers,
                 json={"resolve": "P2D"})
    actions = [(e.entity, e.action) for e in _entries(actor_id=admin.id)]
    assert actions == [("routing_rule", "create"), ("sla_policy", "create"),
                       ("sla_policy", "update")]
    change = _entries(entity="sla_policy")[1].changes
    assert change["resolve_minutes"]["new"] == 2 * change["resolve_minutes"]["old"]


def test_secrets_are_never_written_to_the_audit_log(client, headers):
    """A password (or an API key) shows as changed, never as its hash or value."""
    user = client.post("/api/v1/admin/users", headers=headers, json={
        "email": "secret@example.test", "password": "mật khẩu rất dài", "role": "operator"})
    client.patch(f"/api/v1/admin/users/{user.get_json()['id']}", headers=headers,
                 json={"password": "mật khẩu mới dài"})
    issued = client.post("/api/v1/admin/api-keys", headers=headers, json={"name": "App"})
    entries = _entries()
    text = json.dumps([e.changes for e in entries], ensure_ascii=False)
    stored = db.session.scalars(sa.select(User.password_hash)).all()
    assert not any(h in text for h in stored)
    assert "argon2" not in text
    assert issued.get_json()["key"] not in text
    assert "key_hash" not in text
    assert entries[0].changes["password"] == {"changed": True}
    assert entries[1].changes == {"password": {"changed": True}}


def test_a_refused_or_rolled_back_change_leaves_no_audit_entry(client, admin, headers):
    """The entry is written in the change's own transaction: no change, no entry."""
    factories.make_agency("TAKEN")
    refused = client.post("/api/v1/admin/agencies", headers=headers, json={
        "code": "TAKEN", "name_vi": "Trùng", "name_en": "Duplicate"})
    assert refused.status_code == 409
    with audited_session(db.session, admin.id):
        db.session.add(Agency(code="ROLLED", name_vi="Huỷ", name_en="Rolled back"))
        db.session.flush()
        assert len(_entries_in_transaction()) == 1
        db.session.rollback()
    assert _entries() == []


def _entries_in_transaction() -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry)))


def test_changes_outside_admin_work_are_not_audited(client):
    """A citizen signing up and the factories' setup are not admin changes."""
    assert client.post("/api/v1/auth/register", json={
        "phone": "0912345600", "password": "mật khẩu dài"}).status_code == 201
    factories.make_refdata()
    assert _entries() == []


def test_the_command_line_account_tool_is_audited_as_the_system(app: Flask):
    """`flask users create` is an admin change made from the server's shell: actor null."""
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--email", "cli@example.test", "--role", "supervisor",
        "--password", "mật khẩu dài"])
    assert result.exit_code == 0, result.output
    [entry] = _entries(entity="user")
    assert (entry.action, entry.actor_id) == ("create", None)
    assert entry.changes["email"] == {"old": None, "new": "cli@example.test"}


# ----------------------------------------------------------------------------- reading it


def test_admins_read_the_audit_log_newest_first_with_filters(client, admin, headers):
    """GET /admin/audit-log filters by entity, entity_id, actor and time, paginated."""
    other_admin = factories.make_user(Role.ADMIN)
    for code, who in (("F1", headers), ("F2", factories.auth_headers(other_admin))):
        assert client.post("/api/v1/admin/agencies", headers=who, json={
            "code": code, "name_vi": code, "name_en": code}).status_code == 201
    client.post("/api/v1/admin/categories", headers=headers, json={
        "code": "fc", "service_code": "fc", "name_vi": "Loại", "name_en": "Kind"})

    def read(**query: Any) -> dict[str, Any]:
        response = client.get("/api/v1/admin/audit-log", headers=headers, query_string=query)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    everything = read()
    assert everything["total"] == 3
    assert [i["entity"] for i in everything["items"]] == ["category", "agency", "agency"]
    newest = everything["items"][0]
    assert newest["actor"]["id"] == admin.id
    assert newest["actor"]["full_name"] == "Quản trị viên"
    assert set(newest) >= {"id", "at", "actor", "action", "entity", "entity_id", "changes"}
    agencies = read(entity="agency")
    assert agencies["total"] == 2
    f2 = agencies["items"][0]
    assert read(entity="agency", entity_id=f2["entity_id"])["total"] == 1
    assert [i["actor"]["id"] for i in read(actor=other_admin.id)["items"]] == [other_admin.id]
    page = read(page=2, page_size=2)
    assert (page["page"], page["pages"], len(page["items"])) == (2, 2, 1)
    later = (utcnow() + timedelta(minutes=5)).isoformat()
    assert read(**{"from": later})["total"] == 0
    assert read(to=later)["total"] == 3
    bad = client.get("/api/v1/admin/audit-log", headers=headers, query_string={"entity": "case"})
    assert bad.status_code == 422


def test_the_audit_log_is_documented(client):
    """The OpenAPI document lists the audit log and its filters."""
    spec = client.get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/admin/audit-log"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"entity", "entity_id", "actor", "from", "to", "page", "page_size"} <= names
    assert "delete" not in spec["paths"]["/api/v1/admin/audit-log"]
