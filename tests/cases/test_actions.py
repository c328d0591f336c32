"""`POST /cases/{id}/actions/{action}` and `POST /reports/{id}/info`: bodies, errors, photos."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.models import Case, CaseEvent, CasePhoto
from reports_app.reports.photos import app_storage
from tests.factories import act


def _post(client, case, action, user, as_user, **body):
    return client.post(f"/api/v1/cases/{case.id}/actions/{action}", headers=as_user(user),
                       json=body)


def _media_files(app) -> set[str]:
    """Every file under the media root (shared by the session's tests: compare before/after)."""
    root = Path(app.config["MEDIA_ROOT"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} \
        if root.exists() else set()


def _unique(photo: bytes) -> bytes:
    """The same JPEG with a unique tail, so its content-hash keys are new to the storage."""
    return photo + uuid.uuid4().bytes


def test_accept_returns_the_case_with_its_new_version(client, case_in, people, as_user):
    """A successful action answers with the case file, so the console needs no second call."""
    case = case_in("assigned")
    response = _post(client, case, "accept", people.staff, as_user, version=case.version,
                     note="Đội 2 nhận")
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "in_progress"
    assert body["version"] > 1
    assert body["timeline"][-1]["action"] == "accept"
    assert body["timeline"][-1]["note"] == "Đội 2 nhận"
    assert "resolve" in body["allowed_actions"]


def test_version_is_required(client, case_in, people, as_user):
    """Every action says which version it was based on."""
    case = case_in("assigned")
    response = _post(client, case, "accept", people.staff, as_user)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"version": ["Missing data for required field."]}


def test_stale_version_is_a_conflict_with_the_current_state(client, case_in, people, as_user):
    """Acting on an old copy of the case gets 409 stale_version with the state and version."""
    case = case_in("assigned")
    old = case.version
    act(case, "accept", people.staff)
    response = _post(client, case, "request_info", people.staff, as_user, version=old,
                     note="Ở đâu?")
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "stale_version"
    assert body["state"] == "in_progress"
    assert body["version"] == case.version


def test_unknown_action_is_not_found(client, case_in, people, as_user):
    """A made-up action is a 404 with unknown_action."""
    case = case_in("assigned")
    response = _post(client, case, "teleport", people.operator, as_user, version=case.version)
    assert response.status_code == 404
    assert response.get_json()["error"] == "unknown_action"


def test_missing_fields_are_named(client, case_in, people, as_user):
    """Reject without a reason: 422 missing_fields naming `reason`."""
    case = case_in("submitted")
    response = _post(client, case, "reject", people.operator, as_user, version=case.version)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "missing_fields"
    assert set(body["errors"]) == {"reason"}


def test_duplicate_needs_the_surviving_case(client, case_in, people, as_user):
    """Rejecting as a duplicate requires duplicate_of."""
    case = case_in("submitted")
    response = _post(client, case, "reject", people.operator, as_user, version=case.version,
                     reason="duplicate")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"duplicate_of"}


def test_reject_reason_must_be_a_code(client, case_in, people, as_user):
    """A free-text reject reason is refused with the allowed codes."""
    case = case_in("submitted")
    response = _post(client, case, "reject", people.operator, as_user, version=case.version,
                     reason="tôi không thích")
    assert response.status_code == 422
    assert "spam" in response.get_json()["errors"]["reason"][0]


def test_field_the_action_does_not_take_is_refused(client, case_in, people, as_user):
    """Accept takes no agency_id: 422 rather than silently ignoring it."""
    case = case_in("assigned")
    response = _post(client, case, "accept", people.staff, as_user, version=case.version,
                     agency_id=5)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"agency_id": ["Not used by this action."]}


def test_unknown_body_field_is_refused(client, case_in, people, as_user):
    """A typo in the body is a 422 naming it."""
    case = case_in("assigned")
    response = _post(client, case, "accept", people.staff, as_user, version=case.version,
                     note_text="x")
    assert response.status_code == 422
    assert "note_text" in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("role", "action", "body", "status", "error"),
    [
        ("staff", "transfer", {"reason": "Sai", "agency_id": "ward"}, 403,
         "transfer_to_triage_only"),
        ("operator", "transfer", {"reason": "Sai", "agency_id": "department"}, 422,
         "invalid_agency"),
        ("supervisor", "extend", {"decision": "grant"}, 409, "no_pending_extension"),
        ("operator", "prioritize", {"priority": "low"}, 422, "priority_not_raised"),
        ("operator", "reject", {"reason": "duplicate", "duplicate_of": "self"}, 422,
         "invalid_duplicate"),
    ],
)
def test_guard_refusals_have_their_status(role, action, body, status, error, client, case_in,
                                          people, refdata, as_user):
    """A failed guard answers with its own status and a stable code."""
    case = case_in("assigned")
    ids = {"ward": refdata.ward_agency.id, "department": refdata.department.id, "self": case.id}
    body = {k: ids.get(v, v) if k in ("agency_id", "duplicate_of") else v
            for k, v in body.items()}
    response = _post(client, case, action, people.by_role(role), as_user,
                     version=case.version, **body)
    assert response.status_code == status
    assert response.get_json()["error"] == error


def test_due_at_needs_a_time_zone(client, case_in, people, as_user):
    """A deadline without a zone is ambiguous: 422."""
    case = case_in("in_progress")
    response = _post(client, case, "request_extension", people.staff, as_user,
                     version=case.version, reason="Mưa", due_at="2030-01-01T10:00:00")
    assert response.status_code == 422
    assert "due_at" in response.get_json()["errors"]


def test_body_must_be_json_or_a_form(client, case_in, people, as_user):
    """Plain text is 415; a JSON array is 400."""
    case = case_in("assigned")
    url = f"/api/v1/cases/{case.id}/actions/accept"
    text = client.post(url, headers=as_user(people.staff), data="accept please",
                       content_type="text/plain")
    assert text.status_code == 415
    array = client.post(url, headers=as_user(people.staff), json=[1, 2])
    assert array.status_code == 400


def test_citizens_have_no_console(client, case_in, people, as_user):
    """Citizens, even the reporter, get 403 on the staff API."""
    case = case_in("assigned")
    for path in ("/api/v1/cases", f"/api/v1/cases/{case.id}"):
        response = client.get(path, headers=as_user(people.reporter))
        assert response.status_code == 403
        assert response.get_json()["error"] == "forbidden"


def test_the_console_needs_a_token(client, case_in):
    """No token: 401."""
    case = case_in("assigned")
    assert client.get(f"/api/v1/cases/{case.id}").status_code == 401


def test_missing_case_is_not_found(client, people, as_user):
    """An id that does not exist is a 404, the same as another agency's case."""
    response = client.post("/api/v1/cases/999999/actions/accept",
                           headers=as_user(people.supervisor), json={"version": 1})
    assert response.status_code == 404


# ----------------------------------------------------------------------------- photos


def test_resolve_with_an_after_photo(app, client, case_in, people, as_user, after_photo):
    """Resolve takes multipart: the reply and a real JPEG, stored and linked as 'after'."""
    case = case_in("in_progress")
    response = client.post(
        f"/api/v1/cases/{case.id}/actions/resolve", headers=as_user(people.staff),
        data={"version": str(case.version), "note": "Đã vá ổ gà",
              "photos": [(io.BytesIO(after_photo), "after.jpg", "image/jpeg")]},
        content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["state"] == "resolved"
    assert body["public_reply"] == "Đã vá ổ gà"
    after = [p for p in body["photos"] if p["kind"] == "after"]
    assert len(after) == 1
    assert after[0]["display_url"].startswith("/media/display/")
    assert after[0]["thumb_url"].startswith("/media/thumb/")
    assert after[0]["event_id"] == body["timeline"][-1]["id"]
    assert body["timeline"][-1]["photo_ids"] == [after[0]["id"]]
    storage = app_storage()
    assert storage.exists(after[0]["display_url"].removeprefix("/media/"))
    assert storage.exists(after[0]["thumb_url"].removeprefix("/media/"))


def test_resolve_without_photo_names_the_missing_photo(client, case_in, people, as_user):
    """Roads need proof: a reply alone is 422 missing_fields on photos."""
    case = case_in("in_progress")
    response = _post(client, case, "resolve", people.staff, as_user, version=case.version,
                     note="Xong")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"photos"}


def test_refused_action_leaves_no_photo_behind(app, client, case_in, people, as_user,
                                               after_photo):
    """A stale resolve removes the files it wrote and adds no row."""
    case = case_in("in_progress")
    before = _media_files(app)
    response = client.post(
        f"/api/v1/cases/{case.id}/actions/resolve", headers=as_user(people.staff),
        data={"version": str(case.version - 1), "note": "Xong",
              "photos": [(io.BytesIO(_unique(after_photo)), "after.jpg", "image/jpeg")]},
        content_type="multipart/form-data")
    assert response.status_code == 409
    assert _media_files(app) == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CasePhoto)) == 0


def test_photos_for_an_action_that_takes_none(app, client, case_in, people, as_user,
                                              after_photo):
    """Files sent with accept are refused before anything is stored."""
    case = case_in("assigned")
    before = _media_files(app)
    response = client.post(
        f"/api/v1/cases/{case.id}/actions/accept", headers=as_user(people.staff),
        data={"version": str(case.version),
              "photos": [(io.BytesIO(_unique(after_photo)), "x.jpg", "image/jpeg")]},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"photos": ["Not used by this action."]}
    assert _media_files(app) == before


def test_a_file_that_is_not_a_photo(app, client, case_in, people, as_user):
    """Bytes that are no image get 415 and nothing is stored or changed."""
    case = case_in("in_progress")
    before = _media_files(app)
    response = client.post(
        f"/api/v1/cases/{case.id}/actions/resolve", headers=as_user(people.staff),
        data={"version": str(case.version), "note": "Xong",
              "photos": [(io.BytesIO(b"%PDF-1.4 not a photo"), "after.jpg", "image/jpeg")]},
        content_type="multipart/form-data")
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media_type"
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "in_progress"
    assert _media_files(app) == before


def test_only_photos_may_be_uploaded(client, case_in, people, as_user, after_photo):
    """A file under another field name is refused by name."""
    case = case_in("in_progress")
    response = client.post(
        f"/api/v1/cases/{case.id}/actions/resolve", headers=as_user(people.staff),
        data={"version": str(case.version), "note": "Xong",
              "attachment": [(io.BytesIO(after_photo), "a.jpg", "image/jpeg")]},
        content_type="multipart/form-data")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"attachment"}


# ----------------------------------------------------------------------------- reporter's answer


def test_reporter_answers_with_a_photo(client, case_in, people, as_user, after_photo):
    """The reporter's answer resumes the case and its photo is kept as 'info'."""
    case = case_in("need_info")
    response = client.post(
        f"/api/v1/reports/{case.id}/info", headers=as_user(people.reporter),
        data={"note": "Trước số nhà 12",
              "photos": [(io.BytesIO(after_photo), "where.jpg", "image/jpeg")]},
        content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["state"] == "in_progress"
    assert body["state_label"]["vi"] == "Đang xử lý"
    kinds = db.session.scalars(sa.select(CasePhoto.kind).where(CasePhoto.case_id == case.id))
    assert list(kinds) == ["info"]
    event = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id)
                               .order_by(CaseEvent.id.desc())).first()
    assert (event.action, event.party, event.note) == ("provide_info", "reporter",
                                                        "Trước số nhà 12")


def test_answer_needs_a_note(client, case_in, people, as_user):
    """An empty answer is 422."""
    case = case_in("need_info")
    response = client.post(f"/api/v1/reports/{case.id}/info",
                           headers=as_user(people.reporter), json={"note": "  "})
    assert response.status_code == 422


def test_answer_when_nobody_asked(client, case_in, people, as_user):
    """Answering a case that waits for no information is 409 invalid_transition."""
    case = case_in("in_progress")
    response = client.post(f"/api/v1/reports/{case.id}/info",
                           headers=as_user(people.reporter), json={"note": "Thêm"})
    assert response.status_code == 409
    assert response.get_json()["error"] == "invalid_transition"


def test_someone_elses_report_is_not_found(client, case_in, people, as_user):
    """Another citizen, or staff, cannot answer for the reporter: 404."""
    case = case_in("need_info")
    for user in (people.citizen, people.staff, people.operator):
        response = client.post(f"/api/v1/reports/{case.id}/info", headers=as_user(user),
                               json={"note": "Thêm"})
        assert response.status_code == 404, user.role


def test_answer_with_a_stale_version(client, case_in, people, as_user):
    """A version, when sent, must be current."""
    case = case_in("need_info")
    response = client.post(f"/api/v1/reports/{case.id}/info", headers=as_user(people.reporter),
                           json={"note": "Thêm", "version": case.version - 1})
    assert response.status_code == 409
    assert response.get_json()["error"] == "stale_version"


def test_resume_lets_the_agency_go_on_without_an_answer(client, case_in, people, as_user):
    """need_info is not a dead end: the agency resumes, and the clock runs again."""
    case = case_in("need_info")
    assert case.due_at is None
    response = _post(client, case, "resume", people.staff, as_user, version=case.version,
                     note="Đã xác minh tại hiện trường")
    assert response.status_code == 200
    body = response.get_json()
    assert body["state"] == "in_progress"
    assert body["due_at"] is not None
    assert body["timeline"][-1]["is_public"] is True
