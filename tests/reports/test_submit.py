"""POST /api/v1/reports: what a citizen's phone sends, and what it gets back."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine

from reports_app.extensions import db
from reports_app.models import Case, CasePhoto
from tests.factories import auth_headers, make_category, make_user
from tests.reports.conftest import (
    DEMO_BMT,
    INSIDE_WARD,
    counts,
    files_under,
    form,
    gps_exif,
    jpeg,
    multipart,
)
from workflows.roles import Role
from workflows.tracking import ALPHABET

MONDAY_9 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # 09:00 in Hồ Chí Minh City


def test_routed_report_is_assigned_and_returned_as_its_reporter_sees_it(refdata, submit,
                                                                       citizen):
    """A report whose category has a routing rule goes straight to that agency."""
    with time_machine.travel(MONDAY_9, tick=False):
        response = submit(category="roads", address="12 Lê Duẩn", accuracy_m="8.5",
                          as_headers=auth_headers(citizen))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert re.fullmatch(rf"PA-2611-[{ALPHABET}]{{4}}", body["tracking_code"])
    assert body["status"] == {"code": "assigned",
                              "label": {"vi": "Đã chuyển xử lý", "en": "Assigned"}}
    assert body["agency"]["name"]["vi"] == refdata.department.name_vi
    assert body["area"]["code"] == "W1"
    assert (body["lat"], body["lon"]) == INSIDE_WARD
    assert body["location_source"] == "app"
    assert body["accuracy_m"] == 8.5
    assert body["address"] == "12 Lê Duẩn"
    assert body["due_at"] == "2026-11-17T02:00:00+00:00"  # one working day to accept
    assert [e["action"] for e in body["timeline"]] == ["submit"]
    assert body["timeline"][0]["actor"]["role"] == "reporter"
    photo = body["photos"][0]
    assert photo["display_url"].startswith("/media/display/")
    assert photo["thumb_url"].startswith("/media/thumb/")
    assert response.headers["Location"] == f"/api/v1/reports/{body['id']}"
    case = db.session.get(Case, body["id"])
    assert case.agency_id == refdata.department.id
    assert case.source == "app"
    assert body["version"] == case.version


def test_report_without_a_routing_rule_waits_for_triage(refdata, submit):
    """With no rule for the category the report stays with the operator."""
    response = submit(category="other")
    assert response.status_code == 201
    assert response.get_json()["status"]["code"] == "submitted"
    assert response.get_json()["agency"] is None


def test_phone_heif_is_accepted(demo, client, shared_dir):
    """The HEIF a phone sends is accepted and gets JPEG derivatives."""
    citizen = make_user(Role.CITIZEN)
    heif = (shared_dir / "photos/mobile/HMD_Nokia_8.3_5G.heif").read_bytes()
    payload, content_type = multipart(form("roads", point=DEMO_BMT,
                                           photos=[(heif, "IMG_0001.HEIC")]))
    response = client.post("/api/v1/reports", headers=auth_headers(citizen),
                           content_type=content_type, data=payload)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["area"]["code"] == "24133"
    photo = db.session.scalars(sa.select(CasePhoto)).one()
    assert photo.content_type == "image/heif"
    assert photo.original_key.endswith(".heif")
    shown = client.get(body["photos"][0]["display_url"])
    assert shown.status_code == 200
    assert shown.data[:3] == b"\xff\xd8\xff"


def test_location_comes_from_the_photo_gps_when_the_app_sends_none(refdata, submit):
    """No lat/lon: the first photo's EXIF position places the report (location_source exif)."""
    photo = jpeg(exif=gps_exif(12.6234, 108.0211))
    response = submit(point=None, photos=[jpeg(colour=(1, 2, 3)), photo])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["location_source"] == "exif"
    assert body["lat"] == pytest.approx(12.6234, abs=1e-5)
    assert body["lon"] == pytest.approx(108.0211, abs=1e-5)
    assert body["area"]["code"] == "W1"


def test_gps_sample_from_italy_is_outside_the_service_area(refdata, submit, shared_dir,
                                                           media_root):
    """A real camera photo taken in Italy places the report outside the province: 422."""
    photo = (shared_dir / "photos/gps/DSCN0010.jpg").read_bytes()
    response = submit(point=None, photos=[photo])
    assert response.status_code == 422
    assert response.get_json()["error"] == "outside_service_area"
    assert set(response.get_json()["errors"]) == {"lat", "lon"}
    assert counts()["cases"] == 0
    assert files_under(media_root) == []


def test_report_without_any_location_is_refused(refdata, submit):
    """No lat/lon and no GPS in the photos: the client must send a location."""
    response = submit(point=None)
    assert response.status_code == 422
    assert response.get_json()["error"] == "location_required"


def test_point_outside_every_area_is_refused(refdata, submit, media_root):
    """A point that lies in no area is outside the service area, before photos are stored."""
    response = submit(point=(21.0285, 105.8542))  # Hà Nội
    assert response.status_code == 422
    assert response.get_json()["error"] == "outside_service_area"
    assert files_under(media_root) == []


def test_app_position_far_from_the_photo_gps_is_flagged(refdata, submit):
    """When the app's and the photo's positions disagree beyond the limit, the gap is kept."""
    far = jpeg(exif=gps_exif(12.64, 108.02))  # about 2.2 km north of the app's point
    response = submit(point=INSIDE_WARD, photos=[far])
    assert response.status_code == 201
    case = db.session.get(Case, response.get_json()["id"])
    assert case.location_source == "app"
    assert case.location_mismatch_m == pytest.approx(2212, rel=0.01)
    near = jpeg(colour=(5, 5, 5), exif=gps_exif(12.6201, 108.0201))
    close = db.session.get(Case, submit(photos=[near]).get_json()["id"])
    assert close.location_mismatch_m is None


def test_mismatch_distance_is_configurable(app, refdata, submit, monkeypatch):
    """LOCATION_MISMATCH_M sets how far apart the positions may be before flagging."""
    monkeypatch.setitem(app.config, "LOCATION_MISMATCH_M", 5000.0)
    response = submit(photos=[jpeg(exif=gps_exif(12.64, 108.02))])
    assert db.session.get(Case, response.get_json()["id"]).location_mismatch_m is None


def test_capture_time_comes_from_exif_when_the_app_sends_none(refdata, submit, citizen):
    """The photo's EXIF time (camera local time, Asia/Ho_Chi_Minh) becomes captured_at."""
    photo = jpeg(exif=gps_exif(12.62, 108.02, taken="2026:11:16 08:30:00"))
    with time_machine.travel(MONDAY_9, tick=False):
        body = submit(photos=[photo], as_headers=auth_headers(citizen)).get_json()
    assert body["captured_at"] == "2026-11-16T01:30:00+00:00"
    assert db.session.scalars(sa.select(CasePhoto.exif_captured_at)).one() == \
        datetime(2026, 11, 16, 1, 30, tzinfo=UTC)


@pytest.mark.parametrize(("fields", "point", "error_fields"), [
    ({"lat": "nan", "lon": "108.02"}, None, {"lat"}),
    ({"lat": "12.62", "lon": "Infinity"}, None, {"lon"}),
    ({"lat": "91", "lon": "108.02"}, None, {"lat"}),
    ({"lat": "12.62", "lon": "-181"}, None, {"lon"}),
    ({"lat": "12.62"}, None, {"lon"}),
    ({"lat": "north", "lon": "108"}, None, {"lat"}),
    ({"description": "   "}, INSIDE_WARD, {"description"}),
    ({"description": "x" * 4001}, INSIDE_WARD, {"description"}),
    ({"description": "bad\x00byte"}, INSIDE_WARD, {"description"}),
    ({"address": "a" * 501}, INSIDE_WARD, {"address"}),
    ({"accuracy_m": "-3"}, INSIDE_WARD, {"accuracy_m"}),
    ({"captured_at": "2026-11-16T08:00:00"}, INSIDE_WARD, {"captured_at"}),
    ({"captured_at": "2999-01-01T00:00:00+07:00"}, INSIDE_WARD, {"captured_at"}),
    ({"is_public": "maybe"}, INSIDE_WARD, {"is_public"}),
    ({"attributes": "{not json"}, INSIDE_WARD, {"attributes"}),
    ({"attributes": "[1, 2]"}, INSIDE_WARD, {"attributes"}),
    ({"colour": "red"}, INSIDE_WARD, {"colour"}),
])
def test_bad_fields_get_field_errors(refdata, submit, fields, point, error_fields):
    """Each bad field is named in `errors`; nothing is filed."""
    response = submit(form(point=point, **fields))
    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["error"] == "validation_error"
    assert set(body["errors"]) == error_fields
    assert counts()["cases"] == 0


def test_missing_required_fields_are_listed(refdata, submit):
    """An empty form names category, description and photos at once."""
    response = submit({})
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) >= {"category", "description", "photos"}


@pytest.mark.parametrize("code", ["no-such-category", "retired"])
def test_unknown_or_inactive_category_is_refused(refdata, submit, code):
    """Only active categories take reports."""
    make_category("retired", is_active=False)
    response = submit(category=code)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"category"}


@pytest.fixture
def water(app):
    """A category with a required list field and an optional number."""
    return make_category("water", fields=[
        {"code": "issue_type", "datatype": "singlevaluelist", "required": True,
         "label_vi": "Sự cố", "label_en": "Problem",
         "values": [{"key": "no_water", "name_vi": "Mất nước", "name_en": "No water"},
                    {"key": "leak", "name_vi": "Rò rỉ", "name_en": "Leak"}]},
        {"code": "depth_cm", "datatype": "number", "required": False,
         "label_vi": "Độ sâu", "label_en": "Depth"},
    ])


@pytest.mark.parametrize(("answers", "errors"), [
    ("{}", {"issue_type"}),
    ('{"issue_type": "flood"}', {"issue_type"}),
    ('{"issue_type": "leak", "depth_cm": "deep"}', {"depth_cm"}),
    ('{"issue_type": "leak", "colour": "blue"}', {"colour"}),
])
def test_category_field_answers_are_checked(refdata, water, submit, answers, errors):
    """Answers follow the category's fields: required ones, allowed values, types, no extras."""
    response = submit(category="water", attributes=answers)
    assert response.status_code == 422
    assert set(response.get_json()["errors"]["attributes"]) == errors


def test_valid_field_answers_are_stored(refdata, water, submit):
    """Valid answers are kept with the report, numbers as numbers."""
    response = submit(category="water", attributes='{"issue_type": "leak", "depth_cm": "30"}')
    assert response.status_code == 201
    assert response.get_json()["attributes"] == {"issue_type": "leak", "depth_cm": 30}


def test_report_needs_at_least_one_photo(refdata, submit):
    """A report without a photo is refused with an error on `photos`."""
    response = submit(photos=[])
    assert response.status_code == 422
    assert "photos" in response.get_json()["errors"]


def test_more_photos_than_allowed_are_refused(refdata, submit, media_root):
    """Six photos: 422 too_many_photos before any is read."""
    response = submit(photos=[jpeg(colour=(i, i, i)) for i in range(6)])
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "too_many_photos"
    assert body["field"] == "photos"
    assert body["limit"] == 5
    assert counts()["cases"] == 0
    assert files_under(media_root) == []


def test_only_citizens_send_reports(refdata, submit):
    """Staff use the console; an anonymous caller must sign in."""
    staff = make_user(Role.STAFF, agency=refdata.department)
    assert submit(as_headers=auth_headers(staff)).status_code == 403
    assert submit(as_headers={}).status_code == 401


def test_private_and_anonymous_choices_are_kept(refdata, submit):
    """is_public and is_anonymous are the citizen's choice."""
    body = submit(is_public="false", is_anonymous="true").get_json()
    case = db.session.get(Case, body["id"])
    assert (case.is_public, case.is_anonymous) == (False, True)
    assert (body["is_public"], body["is_anonymous"]) == (False, True)
