"""Reading reports back: my reports, one report, nearby reports, and the public feed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from geopy.distance import geodesic

from reports_app.extensions import db
from reports_app.reports.service import bounding_box, flat_distance_m
from reports_app.workflow_context import workflow_context
from tests.factories import RefData, act, auth_headers, make_category, make_user
from tests.reports.conftest import INSIDE_WARD, form, jpeg
from workflows.operations import Actor, NewReport, submit_report
from workflows.roles import Role

CENTRE = INSIDE_WARD


def offset(metres_north: float, metres_east: float) -> tuple[float, float]:
    """The point that many metres north and east of CENTRE (geodesic)."""
    point = geodesic(meters=abs(metres_north)).destination(CENTRE, 0 if metres_north >= 0 else 180)
    point = geodesic(meters=abs(metres_east)).destination(
        (point.latitude, point.longitude), 90 if metres_east >= 0 else 270)
    return point.latitude, point.longitude


def file_case(refdata: RefData, reporter, point=CENTRE, *, category=None, now=None,
              routed: bool = True, entered_by=None, **kwargs):
    """A case filed through the workflow at a given point (no photos, no HTTP); an operator
    `entered_by` files it for a caller without an account."""
    report = NewReport(category=category or refdata.roads,
                       description=kwargs.pop("description", "Rác thải ven đường"),
                       lat=point[0], lon=point[1], area_id=refdata.ward.id, **kwargs)
    with time_machine.travel(now or datetime.now(UTC), tick=now is None):
        case = submit_report(db.session, report, Actor(entered_by or reporter),
                             workflow_context(now), reporter=reporter,
                             routed_agency_id=refdata.department.id if routed else None)
        db.session.commit()
    return case


# --------------------------------------------------------------------------- mine and detail


def test_my_reports_are_listed_newest_first_with_paging(refdata, client, citizen, headers):
    """GET /reports/mine pages through my own reports, newest first, not others'."""
    base = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    mine = [file_case(refdata, citizen, now=base + timedelta(hours=i), description=f"Số {i}")
            for i in range(3)]
    file_case(refdata, make_user(Role.CITIZEN), now=base)
    first = client.get("/api/v1/reports/mine?page_size=2", headers=headers).get_json()
    assert first["total"] == 3
    assert first["pages"] == 2
    assert [item["id"] for item in first["items"]] == [mine[2].id, mine[1].id]
    second = client.get("/api/v1/reports/mine?page_size=2&page=2", headers=headers).get_json()
    assert [item["id"] for item in second["items"]] == [mine[0].id]
    assert first["items"][0]["relation"] == "reporter"
    assert first["items"][0]["status"]["code"] == "assigned"


def test_a_merged_duplicate_brings_the_surviving_case_into_my_list(refdata, client, citizen,
                                                                   headers):
    """After a merge I follow the surviving case: it is in my list and I may open it."""
    theirs = file_case(refdata, make_user(Role.CITIZEN), routed=False)
    mine = file_case(refdata, citizen, routed=False)
    act(mine, "reject", make_user(Role.OPERATOR), reason="duplicate", duplicate_of=theirs.id)
    items = client.get("/api/v1/reports/mine", headers=headers).get_json()["items"]
    assert {(i["id"], i["relation"]) for i in items} == {(theirs.id, "follower"),
                                                         (mine.id, "reporter")}
    mine_view = client.get(f"/api/v1/reports/{mine.id}", headers=headers).get_json()
    assert mine_view["status"]["code"] == "rejected"
    assert mine_view["reject_reason"] == "duplicate"
    assert mine_view["duplicate_of"] == {"id": theirs.id, "tracking_code": theirs.tracking_code}
    assert client.get(f"/api/v1/reports/{theirs.id}", headers=headers).status_code == 200


def test_followers_do_not_see_the_reporters_own_answers(refdata, client, citizen, headers):
    """A follower is another citizen: the reporter's answers stay between reporter and agency."""
    reporter = make_user(Role.CITIZEN)
    theirs = file_case(refdata, reporter)
    staff = make_user(Role.STAFF, agency=refdata.department)
    act(theirs, "accept", staff)
    act(theirs, "request_info", staff, note="Xin cho biết số nhà cụ thể?")
    act(theirs, "provide_info", reporter, note="Nhà tôi số 12, gọi 0909 111 222")
    mine = file_case(refdata, citizen, routed=False)
    act(mine, "reject", make_user(Role.OPERATOR), reason="duplicate", duplicate_of=theirs.id)
    followed = client.get(f"/api/v1/reports/{theirs.id}", headers=headers).get_json()
    notes = {e["action"]: e["note"] for e in followed["timeline"]}
    assert notes["request_info"] == "Xin cho biết số nhà cụ thể?"
    assert notes["provide_info"] is None
    assert "0909 111 222" not in json.dumps(followed, ensure_ascii=False)
    own = client.get(f"/api/v1/reports/{theirs.id}", headers=auth_headers(reporter)).get_json()
    assert {e["action"]: e["note"] for e in own["timeline"]}["provide_info"] == \
        "Nhà tôi số 12, gọi 0909 111 222"


def test_only_the_reporter_and_followers_may_open_a_report(refdata, client, citizen):
    """Anyone else, staff included, gets 404 here (staff read cases through /cases)."""
    case = file_case(refdata, citizen)
    assert client.get(f"/api/v1/reports/{case.id}",
                      headers=auth_headers(citizen)).status_code == 200
    for other in (make_user(Role.CITIZEN), make_user(Role.STAFF, agency=refdata.department)):
        response = client.get(f"/api/v1/reports/{case.id}", headers=auth_headers(other))
        assert response.status_code == 404
    assert client.get("/api/v1/reports/999999", headers=auth_headers(citizen)).status_code == 404
    assert client.get(f"/api/v1/reports/{case.id}").status_code == 401


def test_report_shows_the_public_timeline_only(refdata, client, citizen, headers):
    """Internal notes stay internal; staff appear by role and agency, never by name."""
    case = file_case(refdata, citizen)
    staff = make_user(Role.STAFF, agency=refdata.department, full_name="Lê Cán Bộ")
    act(case, "comment", staff, note="Ghi chú nội bộ: khó xử lý")
    act(case, "accept", staff, note="Đã tiếp nhận")
    body = client.get(f"/api/v1/reports/{case.id}", headers=headers).get_json()
    assert [e["action"] for e in body["timeline"]] == ["submit", "accept"]
    accept = body["timeline"][1]
    assert accept["actor"]["role"] == "agency_staff"
    assert accept["actor"]["agency"]["name"]["vi"] == refdata.department.name_vi
    assert accept["label"] == {"vi": "Tiếp nhận xử lý", "en": "Accept"}
    assert accept["note"] == "Đã tiếp nhận"
    text = json.dumps(body, ensure_ascii=False)
    assert "nội bộ" not in text
    assert "Lê Cán Bộ" not in text
    assert staff.email not in text


def test_report_shows_the_deadline_and_the_reply(refdata, client, citizen, headers):
    """The reporter sees the running deadline and, once resolved, the agency's reply."""
    other = make_category("other-2", requires_after_photo=False)
    case = file_case(refdata, citizen, category=other)
    body = client.get(f"/api/v1/reports/{case.id}", headers=headers).get_json()
    assert body["due_at"] == case.due_at.isoformat()
    staff = make_user(Role.STAFF, agency=refdata.department)
    act(case, "accept", staff)
    act(case, "resolve", staff, note="Đã dọn sạch rác")
    body = client.get(f"/api/v1/reports/{case.id}", headers=headers).get_json()
    assert body["status"]["code"] == "resolved"
    assert body["public_reply"] == "Đã dọn sạch rác"
    assert body["due_at"] is None
    assert body["version"] == case.version


def test_submitted_photos_are_listed_with_their_urls(refdata, client, submit, headers):
    """The reporter's view and list carry display and thumbnail URLs of the photos."""
    created = submit(photos=[jpeg(), jpeg(colour=(9, 9, 9))]).get_json()
    body = client.get(f"/api/v1/reports/{created['id']}", headers=headers).get_json()
    assert body == created | {"photos": body["photos"]}
    assert len(body["photos"]) == 2
    for photo in body["photos"]:
        assert client.get(photo["thumb_url"]).status_code == 200
    item = client.get("/api/v1/reports/mine", headers=headers).get_json()["items"][0]
    assert item["thumb_url"] == body["photos"][0]["thumb_url"]


# --------------------------------------------------------------------------- nearby


@pytest.fixture
def around(refdata, citizen):
    """Reports at known distances from CENTRE, some of which nearby must leave out."""
    waste = make_category("waste")
    cases = {
        "north_100": file_case(refdata, citizen, offset(100, 0)),
        "east_300": file_case(refdata, citizen, offset(0, 300)),
        "sw_450": file_case(refdata, citizen, offset(-318.2, -318.2)),
        "far_700": file_case(refdata, citizen, offset(700, 0)),
        "waste_200": file_case(refdata, citizen, offset(-200, 0), category=waste),
        "private_50": file_case(refdata, citizen, offset(50, 0), is_public=False),
        "rejected_60": file_case(refdata, citizen, offset(0, 60), routed=False),
    }
    act(cases["rejected_60"], "reject", make_user(Role.OPERATOR), reason="out_of_scope")
    return cases


def test_nearby_lists_open_public_reports_nearest_first(client, around):
    """Within the radius, nearest first, with the geodesic distance in metres."""
    lat, lon = CENTRE
    body = client.get(f"/api/v1/reports/nearby?lat={lat}&lon={lon}&radius_m=500").get_json()
    names = {case.id: name for name, case in around.items()}
    assert [names[i["id"]] for i in body["items"]] == ["north_100", "waste_200", "east_300",
                                                      "sw_450"]
    for item in body["items"]:
        expected = geodesic(CENTRE, (item["lat"], item["lon"])).meters
        assert item["distance_m"] == pytest.approx(expected, abs=0.1)
    assert body["items"][0]["distance_m"] == pytest.approx(100, abs=0.5)


def test_nearby_filters_by_category_and_defaults_to_500_m(client, around):
    """`category` narrows the list; without radius_m the radius is 500 m."""
    lat, lon = CENTRE
    waste = client.get(f"/api/v1/reports/nearby?lat={lat}&lon={lon}&category=waste").get_json()
    assert [i["id"] for i in waste["items"]] == [around["waste_200"].id]
    wide = client.get(f"/api/v1/reports/nearby?lat={lat}&lon={lon}&radius_m=1000").get_json()
    assert around["far_700"].id in {i["id"] for i in wide["items"]}
    default = client.get(f"/api/v1/reports/nearby?lat={lat}&lon={lon}").get_json()
    assert around["far_700"].id not in {i["id"] for i in default["items"]}


def test_nearby_returns_at_most_the_fifty_nearest(refdata, client, citizen):
    """A crowded street gives the 50 nearest reports, in order."""
    cases = [file_case(refdata, citizen, offset(7.0 * (60 - i), 3.0)) for i in range(60)]
    lat, lon = CENTRE
    items = client.get(f"/api/v1/reports/nearby?lat={lat}&lon={lon}").get_json()["items"]
    assert [i["id"] for i in items] == [c.id for c in reversed(cases)][:50]
    assert [i["distance_m"] for i in items] == sorted(i["distance_m"] for i in items)


@pytest.mark.parametrize("query", ["lat=12.6&lon=108&radius_m=5001", "lat=12.6&lon=108&radius_m=0",
                                   "lat=91&lon=108", "lon=108", "lat=nan&lon=108"])
def test_nearby_refuses_bad_arguments(client, refdata, query):
    """Radius at most 5 km; coordinates required, finite and in range."""
    response = client.get(f"/api/v1/reports/nearby?{query}")
    assert response.status_code == 422


@pytest.mark.parametrize("lat", [0.0, 12.62, 45.0, -60.0, 75.0])
def test_nearby_box_contains_the_whole_circle(lat):
    """The indexed prefilter never cuts off a report inside the radius, at any latitude."""
    radius = 5000.0
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, 108.0, radius)
    for bearing in range(0, 360, 5):
        edge = geodesic(meters=radius).destination((lat, 108.0), bearing)
        assert min_lat <= edge.latitude <= max_lat
        assert min_lon <= edge.longitude <= max_lon


@pytest.mark.parametrize("lat", [0.0, 12.62, 45.0, -60.0])
@pytest.mark.parametrize("metres", [30.0, 900.0, 5000.0])
def test_flat_ranking_distance_is_within_a_tenth_of_a_percent(lat, metres):
    """The cheap pre-ranking distance is close enough that the 1% margin never drops a report."""
    for bearing in range(0, 360, 15):
        edge = geodesic(meters=metres).destination((lat, 108.0), bearing)
        flat = flat_distance_m((lat, 108.0), (edge.latitude, edge.longitude))
        assert flat == pytest.approx(metres, rel=0.001)


# --------------------------------------------------------------------------- public feed


def test_public_feed_filters_by_box_status_category_and_time(refdata, client, citizen):
    """bbox, status, category and since narrow the feed; private reports never appear."""
    base = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    waste = make_category("waste")
    a = file_case(refdata, citizen, (12.62, 108.02), now=base)
    b = file_case(refdata, citizen, (12.64, 108.04), now=base + timedelta(days=1), routed=False)
    c = file_case(refdata, citizen, (12.63, 108.03), now=base + timedelta(days=2),
                  category=waste)
    file_case(refdata, citizen, (12.62, 108.02), now=base, is_public=False)

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/public/reports?{query}")
        assert response.status_code == 200, response.get_json()
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("") == [c.id, b.id, a.id]
    assert ids("bbox=108.01,12.61,108.035,12.635") == [c.id, a.id]
    assert ids("status=submitted") == [b.id]
    assert ids("status=assigned,submitted") == [c.id, b.id, a.id]
    assert ids("category=waste") == [c.id]
    assert ids(f"since={(base + timedelta(hours=12)).isoformat().replace('+', '%2B')}") == \
        [c.id, b.id]
    assert ids("page_size=1&page=2") == [b.id]


def test_feed_total_is_counted_up_to_the_limit(refdata, client, citizen, monkeypatch):
    """Beyond COUNT_LIMIT matches a page says so (total_exact false) instead of counting all."""
    from reports_app.common import pagination

    monkeypatch.setattr(pagination, "COUNT_LIMIT", 3)
    base = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    for i in range(5):
        file_case(refdata, citizen, now=base + timedelta(hours=i))
    page = client.get("/api/v1/public/reports?page_size=2").get_json()
    assert (page["total"], page["total_exact"], page["pages"]) == (3, False, 2)
    assert len(page["items"]) == 2
    monkeypatch.setattr(pagination, "COUNT_LIMIT", 5)
    page = client.get("/api/v1/public/reports?page_size=2").get_json()
    assert (page["total"], page["total_exact"], page["pages"]) == (5, True, 3)


def test_last_page_gives_the_exact_total(refdata, client, citizen):
    """A page shorter than page_size ends the list: its total is exact, whatever the limit."""
    base = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    for i in range(3):
        file_case(refdata, citizen, now=base + timedelta(hours=i))
    for query, expected in (("page_size=5", (3, True, 1)), ("page_size=2&page=2", (3, True, 2)),
                            ("page_size=2&page=3", (3, True, 2))):
        page = client.get(f"/api/v1/public/reports?{query}").get_json()
        assert (page["total"], page["total_exact"], page["pages"]) == expected, query


def test_a_feed_page_and_its_total_come_in_one_query(refdata, client, citizen):
    """The count rides with the page: one query picks the page's ids and counts the matches,
    one loads those reports (their photos one more)."""
    import sqlalchemy as sa

    base = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    for i in range(3):
        file_case(refdata, citizen, now=base + timedelta(hours=i))
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = client.get("/api/v1/public/reports?page_size=2").get_json()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert (page["total"], page["total_exact"], len(page["items"])) == (3, True, 2)
    assert len(seen) == 3
    assert "count(*)" in seen[0]



def test_a_feed_box_is_written_into_its_query(refdata, client, citizen):
    """The box's bounds are part of the statement, so a prepared statement's generic plan
    cannot plan a city centre's box as if it were a village's."""
    import sqlalchemy as sa

    file_case(refdata, citizen)
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.get("/api/v1/public/reports?bbox=108.0125,12.6125,108.0375,12.6375")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200
    assert all(bound in seen[0] for bound in ("108.0125", "12.6125", "108.0375", "12.6375"))

def test_public_feed_hides_spam_and_abuse_but_not_other_rejections(refdata, client, citizen):
    """Spam and abusive reports are never published; an out-of-scope one stays visible."""
    operator = make_user(Role.OPERATOR)
    spam = file_case(refdata, citizen, routed=False)
    scope = file_case(refdata, citizen, routed=False)
    act(spam, "reject", operator, reason="spam")
    act(scope, "reject", operator, reason="out_of_scope")
    items = client.get("/api/v1/public/reports").get_json()["items"]
    assert [i["id"] for i in items] == [scope.id]
    assert items[0]["reject_reason"] == "out_of_scope"
    assert client.get(f"/api/v1/public/reports/{spam.tracking_code}").status_code == 404


@pytest.mark.parametrize("query", ["bbox=1,2,3", "bbox=108.1,12,108.0,13", "bbox=a,b,c,d",
                                   "status=lost", "since=yesterday", "page=0"])
def test_public_feed_refuses_bad_filters(client, refdata, query):
    """Malformed filters are a 422 naming the parameter."""
    response = client.get(f"/api/v1/public/reports?{query}")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {query.split("=")[0]}


def test_public_report_is_found_by_its_tracking_code_as_typed(refdata, client, citizen):
    """A code read over the phone ('pa 2611 7kq3') finds the report; private ones stay hidden."""
    with time_machine.travel(datetime(2026, 11, 16, 2, 0, tzinfo=UTC), tick=False):
        case = file_case(refdata, citizen)
        hidden = file_case(refdata, citizen, is_public=False)
    typed = case.tracking_code.lower().replace("-", " ")
    body = client.get(f"/api/v1/public/reports/{typed}").get_json()
    assert body["id"] == case.id
    assert [e["action"] for e in body["timeline"]] == ["submit"]
    assert "note" not in body["timeline"][0]
    assert client.get(f"/api/v1/public/reports/{case.id}").get_json()["id"] == case.id
    assert client.get(f"/api/v1/public/reports/{hidden.tracking_code}").status_code == 404
    assert client.get("/api/v1/public/reports/PA-0000-XXXX").status_code == 404
    assert client.get("/api/v1/public/reports/not-a-code").status_code == 404


# --------------------------------------------------------------------------- privacy


def test_no_personal_data_in_any_public_response(refdata, client, submit, citizen):
    """Names, phones and e-mails of reporters never appear in public output, anonymous or not."""
    named = make_user(Role.CITIZEN, full_name="Trần Thị Bí Mật", email="bimat@example.test",
                      phone="0912 345 678")
    hidden = make_user(Role.CITIZEN, full_name="Phạm Ẩn Danh", email="andanh@example.test")
    staff = make_user(Role.STAFF, agency=refdata.department, full_name="Võ Nhân Viên",
                      email="nhanvien@example.test")
    cases = [
        submit(form(photos=[jpeg(colour=(7, 7, 7))]), as_headers=auth_headers(named)).get_json(),
        submit(form(is_anonymous="true", photos=[jpeg(colour=(8, 8, 8))]),
               as_headers=auth_headers(hidden)).get_json(),
    ]
    hotline = file_case(refdata, None, offset(30, 30), entered_by=make_user(Role.OPERATOR),
                        reporter_name="Đỗ Gọi Điện",
                        reporter_phone="0987654321", reporter_email="goidien@example.test")
    act(hotline, "accept", staff, note="Đã tiếp nhận")
    secrets = [named.full_name, named.email, named.phone, named.phone.replace("+84", "0"),
               hidden.full_name, hidden.email, "Đỗ Gọi Điện", "0987654321",
               "goidien@example.test", staff.full_name, staff.email]
    lat, lon = CENTRE
    responses = [client.get("/api/v1/public/reports?page_size=100"),
                 client.get(f"/api/v1/reports/nearby?lat={lat}&lon={lon}")]
    codes = [c["tracking_code"] for c in cases] + [hotline.tracking_code]
    responses += [client.get(f"/api/v1/public/reports/{code}") for code in codes]
    assert len(responses[0].get_json()["items"]) == 3
    assert len(responses[1].get_json()["items"]) == 3
    for response in responses:
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        for secret in secrets:
            assert secret not in text, (secret, response.request.path)
        for key in _keys(response.get_json()):
            assert not key.startswith(("reporter", "exif", "original")), key
            assert key not in ("email", "phone", "full_name", "actor_id", "user_id"), key


def _keys(value) -> set[str]:
    """Every key in a JSON document, at any depth."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()
