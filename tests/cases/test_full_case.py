"""One case from the phone to the result, through the API as the apps use it."""

from __future__ import annotations

import io
import json

import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.models import OutboxMessage
from tests.cases.conftest import SECRETS


def test_a_case_from_report_to_result(client, refdata, people, as_user, shared_dir,
                                      after_photo):
    """Submit → auto-routed → accept → question → answer → resolve with photo → citizen sees it;
    the timeline is complete and agency staff never saw who reported."""
    citizen = as_user(people.reporter)
    staff = as_user(people.staff)
    staff_saw: list[str] = []

    def as_staff(method: str, path: str, **kwargs):
        response = getattr(client, method)(path, headers=staff, **kwargs)
        staff_saw.append(response.get_data(as_text=True))
        return response

    # The citizen sends a report with a photo from the phone app.
    photo = (shared_dir / "photos" / "orientation" / "portrait_1.jpg").read_bytes()
    sent = client.post("/api/v1/reports", headers=citizen, content_type="multipart/form-data",
                       data={"category": "roads", "description": "Ổ gà lớn giữa đường",
                             "lat": "12.62", "lon": "108.02", "address": "12 Lê Duẩn",
                             "photos": [(io.BytesIO(photo), "pothole.jpg", "image/jpeg")]})
    assert sent.status_code == 201, sent.get_json()
    case_id = sent.get_json()["id"]

    # Routed by the roads rule straight to the department, whose staff find it in their queue.
    queue = as_staff("get", "/api/v1/cases?status=assigned").get_json()
    assert [row["id"] for row in queue["items"]] == [case_id]
    case = as_staff("get", f"/api/v1/cases/{case_id}").get_json()
    assert case["state"] == "assigned"
    assert case["timeline"][0]["routing"]["by"] == "rule"
    assert case["timeline"][0]["routing"]["agency"]["code"] == "SXD"
    assert case["photos"][0]["kind"] == "report"

    # Staff accept, then ask a question.
    case = as_staff("post", f"/api/v1/cases/{case_id}/actions/accept",
                    json={"version": case["version"]}).get_json()
    assert case["state"] == "in_progress"
    case = as_staff("post", f"/api/v1/cases/{case_id}/actions/request_info",
                    json={"version": case["version"],
                          "note": "Ổ gà ở phía trước số nhà nào?"}).get_json()
    assert case["state"] == "need_info"

    # The citizen sees the question and answers it.
    mine = client.get(f"/api/v1/reports/{case_id}", headers=citizen).get_json()
    assert mine["timeline"][-1]["note"] == "Ổ gà ở phía trước số nhà nào?"
    answered = client.post(f"/api/v1/reports/{case_id}/info", headers=citizen,
                           json={"note": "Trước số nhà 12", "version": mine["version"]})
    assert answered.status_code == 200, answered.get_json()
    assert answered.get_json()["state"] == "in_progress"

    # Staff read the answer (from "the reporter", unnamed) and resolve with an after photo.
    case = as_staff("get", f"/api/v1/cases/{case_id}").get_json()
    answer = case["timeline"][-1]
    assert (answer["action"], answer["note"], answer["actor"]) == (
        "provide_info", "Trước số nhà 12", None)
    assert answer["party_label"]["en"] == "Reporter"
    resolved = as_staff("post", f"/api/v1/cases/{case_id}/actions/resolve",
                        content_type="multipart/form-data",
                        data={"version": str(case["version"]), "note": "Đã vá ổ gà",
                              "photos": [(io.BytesIO(after_photo), "after.jpg",
                                          "image/jpeg")]})
    assert resolved.status_code == 200, resolved.get_json()
    assert resolved.get_json()["state"] == "resolved"

    # The citizen sees the reply and the after photo, and can fetch it.
    mine = client.get(f"/api/v1/reports/{case_id}", headers=citizen).get_json()
    assert mine["public_reply"] == "Đã vá ổ gà"
    after = [p for p in mine["photos"] if p["kind"] == "after"]
    assert len(after) == 1
    image = client.get(after[0]["display_url"])
    assert image.status_code == 200
    assert image.mimetype == "image/jpeg"

    # The whole timeline, as an operator sees it.
    full = client.get(f"/api/v1/cases/{case_id}", headers=as_user(people.operator)).get_json()
    assert [e["action"] for e in full["timeline"]] == [
        "submit", "accept", "request_info", "provide_info", "resolve"]
    assert [e["to_state"] for e in full["timeline"]] == [
        "assigned", "in_progress", "need_info", "in_progress", "resolved"]
    assert full["timeline"][3]["actor"]["id"] == people.reporter.id
    assert full["reporter"]["name"] == people.reporter.full_name

    # Agency staff never saw who reported.
    assert len(staff_saw) == 6
    for text in staff_saw:
        decoded = json.dumps(json.loads(text), ensure_ascii=False)
        for secret in SECRETS:
            assert secret not in decoded

    # Notifications: the citizen on each public status change, the agency on assignment and
    # on the answer, each in the recipient's language.
    messages = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.case_id == case_id).order_by(OutboxMessage.id)).all()
    to_citizen = [m for m in messages if m.recipient_user_id == people.reporter.id]
    assert [m.payload["action"] for m in to_citizen] == [
        "submit", "accept", "request_info", "resolve"]
    question = to_citizen[2].payload
    assert question["title"].endswith("Chờ bổ sung")
    assert "Ổ gà ở phía trước số nhà nào?" in question["body"]
    to_staff = [m for m in messages if m.recipient_user_id == people.staff.id]
    assert [(m.topic, m.payload["action"]) for m in to_staff] == [
        ("case_assigned", "submit"), ("case_updated", "provide_info")]
    for message in to_staff:
        decoded = json.dumps(message.payload, ensure_ascii=False)
        for secret in SECRETS:
            assert secret not in decoded
