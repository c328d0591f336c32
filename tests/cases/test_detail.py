"""`GET /cases/{id}`: the whole timeline, routing decisions, clocks, photos, and privacy."""

from __future__ import annotations

import json

from reports_app.extensions import db
from reports_app.workflow_context import workflow_context
from tests.cases.conftest import SECRETS
from tests.factories import act
from workflows.operations import Actor, NewReport, submit_report
from workflows.photos import StoredPhoto, attach_photos
from workflows.routing import route


def _detail(client, case, user, as_user):
    response = client.get(f"/api/v1/cases/{case.id}", headers=as_user(user))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def _routed_by_rule(refdata, reporter):
    """A report filed the way the app files it: placed, routed by the most specific rule."""
    rule = route(db.session, refdata.roads.id, refdata.ward.id)
    report = NewReport(category=refdata.roads, description="Ổ gà", lat=12.62, lon=108.02,
                       area_id=refdata.ward.id)
    case = submit_report(db.session, report, Actor(reporter), workflow_context(),
                         reporter=reporter, routed_agency_id=rule.agency_id,
                         routing_rule_id=rule.id)
    db.session.commit()
    return case, rule


def test_timeline_shows_every_event_with_internal_ones(client, case_in, people, as_user):
    """Staff see public and internal events, oldest first, each with its labels."""
    case = case_in("in_progress")
    act(case, "comment", people.staff, note="Chờ xe chuyên dụng")
    body = _detail(client, case, people.staff, as_user)
    assert [e["action"] for e in body["timeline"]] == ["submit", "accept", "comment"]
    comment = body["timeline"][-1]
    assert comment["is_public"] is False
    assert comment["label"] == {"vi": "Ghi chú nội bộ", "en": "Internal note"}
    assert comment["actor"] == {"id": people.staff.id, "name": people.staff.full_name,
                                "role": "staff"}
    assert body["timeline"][1]["party_label"]["vi"] == "Cán bộ xử lý"


def test_routing_by_rule_is_on_the_timeline(client, refdata, people, as_user):
    """The submit event names the agency chosen and the rule that chose it."""
    case, rule = _routed_by_rule(refdata, people.reporter)
    submit = _detail(client, case, people.operator, as_user)["timeline"][0]
    assert submit["routing"]["agency"]["code"] == "SXD"
    assert submit["routing"]["agency"]["name"]["vi"] == refdata.department.name_vi
    assert submit["routing"]["rule_id"] == rule.id
    assert submit["routing"]["by"] == "rule"



def test_a_case_file_reads_its_own_agency_once(client, refdata, people, as_user):
    """The routing events name the case's own agency, which the case query already joined:
    no separate read of agencies for the timeline."""
    import sqlalchemy as sa

    case, _ = _routed_by_rule(refdata, people.reporter)
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        submit = _detail(client, case, people.operator, as_user)["timeline"][0]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert submit["routing"]["agency"]["code"] == "SXD"
    assert not [s for s in seen if "FROM agencies" in s]

def test_operator_override_is_on_the_timeline(client, case_in, people, refdata, as_user):
    """Moving a case to another agency shows where it came from and where it went."""
    case = case_in("assigned")
    act(case, "transfer", people.operator, agency_id=refdata.ward_agency.id,
        reason="Thuộc địa bàn phường")
    body = _detail(client, case, people.operator, as_user)
    transfer = body["timeline"][-1]
    assert transfer["routing"]["from_agency"]["code"] == "SXD"
    assert transfer["routing"]["agency"]["code"] == "UBND-W1"
    assert transfer["routing"]["by"] == "operator"
    assert transfer["reason"] == "Thuộc địa bàn phường"
    assert body["agency"]["code"] == "UBND-W1"


def test_hand_back_to_triage_is_on_the_timeline(client, case_in, people, as_user):
    """Staff handing a case back leave no agency, and the event says which one let go."""
    case = case_in("assigned")
    act(case, "transfer", people.staff, reason="Không thuộc thẩm quyền")
    transfer = _detail(client, case, people.operator, as_user)["timeline"][-1]
    assert transfer["routing"]["agency"] is None
    assert transfer["routing"]["from_agency"]["code"] == "SXD"
    assert transfer["to_state"] == "submitted"


def test_merge_names_the_surviving_case(client, case_in, people, as_user):
    """A duplicate's reject event links the case it was merged into."""
    survivor = case_in("assigned")
    duplicate = case_in("submitted")
    act(duplicate, "reject", people.operator, reason="duplicate", duplicate_of=survivor.id)
    body = _detail(client, duplicate, people.operator, as_user)
    reject = body["timeline"][-1]
    assert reject["duplicate_of"] == {"id": survivor.id, "tracking_code": survivor.tracking_code}
    assert reject["reason_label"]["vi"] == "Trùng với phản ánh đã có"
    assert body["duplicate_of"]["tracking_code"] == survivor.tracking_code


def test_clocks_and_deadlines(client, case_in, people, as_user):
    """The case file shows each clock, paused ones included, and the resolve deadline."""
    case = case_in("need_info")
    body = _detail(client, case, people.staff, as_user)
    clocks = {c["step"]: c for c in body["clocks"]}
    assert clocks["accept"]["status"] == "stopped"
    assert clocks["resolve"]["status"] == "paused"
    assert body["due_at"] is None
    assert body["resolve_due_at"] == clocks["resolve"]["due_at"]
    assert body["is_overdue"] is False


def test_allowed_actions_follow_the_caller(client, case_in, people, as_user):
    """Each caller is offered what the table lets them do now."""
    case = case_in("assigned")
    assert _detail(client, case, people.staff, as_user)["allowed_actions"] == [
        "accept", "transfer", "request_extension", "comment"]
    assert _detail(client, case, people.operator, as_user)["allowed_actions"] == [
        "transfer", "reject", "prioritize", "comment"]


def test_another_agencys_case_is_not_found(client, case_in, people, as_user):
    """Staff of another agency get 404, as if the case did not exist."""
    case = case_in("assigned")
    response = client.get(f"/api/v1/cases/{case.id}", headers=as_user(people.other_staff))
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_staff_never_see_the_reporter(client, case_in, people, as_user):
    """No name, phone, e-mail or account id of the reporter in anything staff get."""
    case = case_in("need_info")
    act(case, "provide_info", people.reporter, note="Ở trước nhà số 12")
    body = _detail(client, case, people.staff, as_user)
    text = json.dumps(body, ensure_ascii=False)
    assert "reporter" not in body
    for secret in SECRETS:
        assert secret not in text
    answer = body["timeline"][-1]
    assert answer["party"] == "reporter"
    assert answer["actor"] is None
    assert answer["party_label"] == {"vi": "Người phản ánh", "en": "Reporter"}
    assert people.reporter.id not in [(e["actor"] or {}).get("id") for e in body["timeline"]]


def test_operators_see_the_reporter(client, case_in, people, as_user):
    """Operators, supervisors and admins see who sent it and who answered."""
    case = case_in("need_info")
    act(case, "provide_info", people.reporter, note="Ở trước nhà số 12")
    for role in ("operator", "supervisor", "admin"):
        body = _detail(client, case, people.by_role(role), as_user)
        assert body["reporter"]["name"] == people.reporter.full_name
        assert body["reporter"]["phone"] == people.reporter.phone
        assert body["timeline"][-1]["actor"]["id"] == people.reporter.id


def test_hotline_contact_is_for_operators_only(client, refdata, people, as_user):
    """A report phoned in has a contact but no account: operators see it, staff do not."""
    report = NewReport(category=refdata.roads, description="Cây đổ chắn đường", lat=12.62,
                       lon=108.02, area_id=refdata.ward.id, source="hotline",
                       reporter_name="Trần Văn Gọi", reporter_phone="+84987654321")
    case = submit_report(db.session, report, Actor(people.operator), workflow_context(),
                         routed_agency_id=refdata.department.id)
    db.session.commit()
    operator_view = _detail(client, case, people.operator, as_user)
    assert operator_view["reporter"] == {"id": None, "name": "Trần Văn Gọi",
                                         "phone": "+84987654321", "email": None,
                                         "is_anonymous": False}
    staff_text = json.dumps(_detail(client, case, people.staff, as_user), ensure_ascii=False)
    assert "Trần Văn Gọi" not in staff_text
    assert "987654321" not in staff_text


def test_photo_gps_is_for_operators_only(client, case_in, people, as_user):
    """Staff get the metadata-free derivatives; the EXIF position, and how far it is from
    where the app said, stay with operators."""
    case = case_in("assigned")
    case.location_mismatch_m = 850.0
    attach_photos(db.session, case, None, [StoredPhoto(
        sha256="a" * 64, content_type="image/jpeg", width=800, height=600,
        original_key="original/aa.jpg", display_key="display/aa.jpg", thumb_key="thumb/aa.jpg",
        exif_lat=12.6234, exif_lon=108.0321)], "report")
    db.session.commit()
    staff_photo = _detail(client, case, people.staff, as_user)["photos"][0]
    assert staff_photo["display_url"] == "/media/display/aa.jpg"
    assert staff_photo["thumb_url"] == "/media/thumb/aa.jpg"
    assert not {"exif_lat", "exif_lon", "exif_captured_at"} & set(staff_photo)
    assert "original" not in json.dumps(staff_photo)
    assert _detail(client, case, people.staff, as_user)["location_mismatch_m"] is None
    operator = _detail(client, case, people.operator, as_user)
    operator_photo = operator["photos"][0]
    assert (operator_photo["exif_lat"], operator_photo["exif_lon"]) == (12.6234, 108.0321)
    assert operator["location_mismatch_m"] == 850.0
    queue_row = client.get("/api/v1/cases", headers=as_user(people.staff)).get_json()["items"][0]
    assert queue_row["thumb_url"] == "/media/thumb/aa.jpg"


def test_workflow_table_is_public(client):
    """`GET /workflow` serves the table itself, for clients to build their buttons."""
    from workflows.machine import as_dict

    response = client.get("/api/v1/workflow")
    assert response.status_code == 200
    body = response.get_json()
    assert body == json.loads(json.dumps(as_dict()))
    assert "resume" in [a["name"] for a in body["actions"]]
