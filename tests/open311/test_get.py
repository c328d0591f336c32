"""GET requests, requests/{id} and tokens/{token}: public reports as service requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from reports_app.extensions import db
from reports_app.open311 import service as open311_service
from reports_app.workflow_context import workflow_context
from tests.factories import make_agency, make_area, square
from tests.open311.conftest import PRIVATE, case_in, open311_error, request_form, xml_of
from workflows.notifications import reason_label
from workflows.operations import Actor, NewReport, submit_report

HCM = ZoneInfo("Asia/Ho_Chi_Minh")


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.data
    return [item["service_request_id"] for item in response.get_json()]


def test_list_validates_and_shows_no_personal_data(client, refdata, cast, post_request, api_key,
                                                   schemas):
    """requests.json validates; neither an app reporter's nor an Open311 submitter's identity
    appears, nor the private `_` attributes' keys."""
    case_in(refdata, cast, "in_progress")
    post_request(request_form(api_key, first_name="Trần Thị", last_name="Riêng Tư",
                              email="rieng.tu@example.test", phone="0987654321",
                              media_url="https://example.org/p.jpg"))
    response = client.get("/open311/v2/requests.json")
    body = response.get_json()
    schemas.check("requests.json", body)
    assert len(body) == 2
    text = response.get_data(as_text=True)
    for secret in PRIVATE:
        assert secret not in text
    assert "_media_url" not in text
    xml = client.get("/open311/v2/requests.xml").get_data(as_text=True)
    for secret in PRIVATE:
        assert secret not in xml


def test_request_fields_map_our_case(client, refdata, cast, schemas):
    """Status, names, agency, dates in the province's offset, place, deadline."""
    case = case_in(refdata, cast, "in_progress")
    [item] = client.get(f"/open311/v2/requests/{case.id}.json").get_json()
    schemas.check("request.json", item)
    assert item["service_request_id"] == str(case.id)
    assert item["status"] == "open"
    assert item["status_notes"] == "Đang xử lý"
    assert item["service_code"] == "other"
    assert item["service_name"] == refdata.other.name_vi
    assert item["agency_responsible"] == refdata.department.name_vi
    assert item["description"] == case.description
    assert (item["lat"], item["long"]) == (case.lat, case.lon)
    assert item["requested_datetime"] == case.submitted_at.astimezone(HCM).isoformat(
        timespec="seconds")
    assert item["requested_datetime"].endswith("+07:00")
    expected = case.resolve_due_at or case.due_at
    assert item["expected_datetime"] == expected.astimezone(HCM).isoformat(timespec="seconds")
    assert case.tracking_code in item["service_notice"]
    assert refdata.department.name_vi in item["service_notice"]
    english = client.get(f"/open311/v2/requests/{case.id}.json?locale=en").get_json()[0]
    assert english["agency_responsible"] == refdata.department.name_en
    assert english["status_notes"] == "In progress"


@pytest.mark.parametrize(("state", "status"), [
    ("submitted", "open"), ("assigned", "open"), ("in_progress", "open"), ("need_info", "open"),
    ("resolved", "closed"), ("closed", "closed"), ("rejected", "closed"),
])
def test_states_map_to_open_or_closed(client, refdata, cast, schemas, state, status):
    """Resolved, closed and rejected are `closed` (closed = resolved, per the spec)."""
    case = case_in(refdata, cast, state)
    body = client.get(f"/open311/v2/requests/{case.id}.json").get_json()
    schemas.check("requests.json", body)
    assert body[0]["status"] == status
    if status == "closed":
        assert body[0]["expected_datetime"] is None


def test_status_notes_tell_the_reply_or_the_refusal(client, refdata, cast):
    """The agency's public reply once resolved; a rejection's reason in words."""
    resolved = case_in(refdata, cast, "resolved")
    rejected = case_in(refdata, cast, "rejected", reason="out_of_scope")
    notes = {item["service_request_id"]: item["status_notes"]
             for item in client.get("/open311/v2/requests.json?locale=en").get_json()}
    assert notes[str(resolved.id)] == "Đã dọn xong."
    assert notes[str(rejected.id)] == reason_label("out_of_scope", "en")


def test_only_public_reports_are_shown(client, refdata, cast):
    """Private reports and spam or abusive rejections never appear, by list or by id."""
    shown = case_in(refdata, cast, "assigned")
    private = case_in(refdata, cast, "assigned", is_public=False)
    spam = case_in(refdata, cast, "rejected", reason="spam")
    abusive = case_in(refdata, cast, "rejected", reason="abusive")
    assert _ids(client.get("/open311/v2/requests.json")) == [str(shown.id)]
    for hidden in (private, spam, abusive):
        open311_error(client.get(f"/open311/v2/requests/{hidden.id}.json"), 404)
        open311_error(client.get(f"/open311/v2/tokens/{hidden.id}.json"), 404)
        assert _ids(client.get(f"/open311/v2/requests.json?service_request_id={hidden.id}")) == []


def test_newest_first_within_the_last_90_days_by_default(client, refdata, cast):
    """Without dates: requests submitted in the last 90 days, newest first."""
    now = datetime.now(UTC)
    old = case_in(refdata, cast, "assigned", now=now - timedelta(days=100))
    older = case_in(refdata, cast, "assigned", now=now - timedelta(days=80))
    newer = case_in(refdata, cast, "assigned", now=now - timedelta(days=2))
    assert _ids(client.get("/open311/v2/requests.json")) == [str(newer.id), str(older.id)]
    start = (now - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _ids(client.get(f"/open311/v2/requests.json?start_date={start}&end_date="
                           f"{now.strftime('%Y-%m-%dT%H:%M:%SZ')}")) == [
        str(newer.id), str(older.id), str(old.id)]


def test_a_single_date_spans_90_days_from_it(client, refdata, cast):
    """start_date alone: 90 days on from it; end_date alone: the 90 days before it."""
    base = datetime(2025, 1, 1, 12, tzinfo=UTC)
    first = case_in(refdata, cast, "assigned", now=base)
    second = case_in(refdata, cast, "assigned", now=base + timedelta(days=100))
    assert _ids(client.get("/open311/v2/requests.json?start_date=2024-12-31T00:00:00Z")) == [
        str(first.id)]
    assert _ids(client.get("/open311/v2/requests.json?end_date=2025-04-15T00:00:00Z")) == [
        str(second.id)]


def test_a_span_over_90_days_is_allowed(client, refdata, cast):
    """Longer spans are answered (still newest first, at most 1,000 requests)."""
    base = datetime(2024, 1, 1, 12, tzinfo=UTC)
    first = case_in(refdata, cast, "assigned", now=base)
    last = case_in(refdata, cast, "assigned", now=base + timedelta(days=300))
    assert _ids(client.get("/open311/v2/requests.json?start_date=2023-12-01T00:00:00Z"
                           "&end_date=2024-12-31T00:00:00Z")) == [str(last.id), str(first.id)]


@pytest.mark.parametrize(("start", "end", "found"), [
    ("2025-03-10T00:00:00Z", "2025-03-10T23:59:59Z", True),
    ("2025-03-10T07:00:00+07:00", "2025-03-10T09:00:00+07:00", True),
    ("2025-03-10T09:00:00+07:00", "2025-03-10T10:00:00+07:00", False),
    ("2025-03-10T08:00:00 07:00", "2025-03-10T08:30:00 07:00", True),
    ("2025-03-10T08:00:00", "2025-03-10T08:30:00", True),
    ("2025-03-10", "2025-03-10", True),
    ("2025-03-11", "2025-03-12", False),
    ("2025-03-10T01:00:00.000Z", "2025-03-10T01:30:00.5+00:00", True),
])
def test_dates_with_z_offset_or_local_time(client, refdata, cast, start, end, found):
    """Z and offsets are honoured; no zone means the province's time; a date alone spans the
    local day; a '+' lost to an unencoded query string is put back."""
    case = case_in(refdata, cast, "assigned",
                   now=datetime(2025, 3, 10, 8, 15, tzinfo=HCM))
    ids = _ids(client.get("/open311/v2/requests.json",
                          query_string={"start_date": start, "end_date": end}))
    assert ids == ([str(case.id)] if found else [])


@pytest.mark.parametrize("query", [
    "start_date=yesterday", "end_date=2025-13-01", "start_date=2025-02-30T00:00:00Z",
    "start_date=0001-01-01T00:00:00+14:00", "end_date=10000-01-01", "start_date=2025-03-10T25:00",
    "start_date=2025-03-11T00:00:00Z&end_date=2025-03-10T00:00:00Z",
])
def test_bad_dates_are_400(client, refdata, query):
    """Dates that are not RFC 3339 (or are out of order) are refused with a clear message."""
    body = open311_error(client.get(f"/open311/v2/requests.json?{query}"), 400)
    assert any("date" in e["description"] for e in body)
    root = xml_of(client.get(f"/open311/v2/requests.xml?{query}"))
    assert root.findtext("error/code") == "400"


def test_status_filter(client, refdata, cast):
    """status=open, closed, or both (comma-separated); anything else is 400."""
    open_case = case_in(refdata, cast, "in_progress")
    closed_case = case_in(refdata, cast, "resolved")
    assert _ids(client.get("/open311/v2/requests.json?status=open")) == [str(open_case.id)]
    assert _ids(client.get("/open311/v2/requests.json?status=closed")) == [str(closed_case.id)]
    assert len(_ids(client.get("/open311/v2/requests.json?status=open,closed"))) == 2
    assert len(_ids(client.get("/open311/v2/requests.json?status="))) == 2
    open311_error(client.get("/open311/v2/requests.json?status=pending"), 400)
    open311_error(client.get("/open311/v2/requests.json?status=,"), 400)


def test_service_code_filter_takes_a_list(client, refdata, cast):
    """service_code=a,b matches either; an unknown code matches nothing."""
    roads = case_in(refdata, cast, "assigned", category=refdata.roads)
    other = case_in(refdata, cast, "assigned")
    assert _ids(client.get("/open311/v2/requests.json?service_code=roads")) == [str(roads.id)]
    assert _ids(client.get("/open311/v2/requests.json?service_code=roads,other")) == [
        str(other.id), str(roads.id)]
    assert _ids(client.get("/open311/v2/requests.json?service_code=nothing")) == []


def test_service_request_id_list_overrides_the_other_filters(client, refdata, cast):
    """ids (and tracking codes) are found whatever the dates, status and service say."""
    old = case_in(refdata, cast, "resolved", now=datetime(2020, 1, 1, tzinfo=UTC))
    new = case_in(refdata, cast, "assigned")
    query = (f"service_request_id={old.id},{new.tracking_code.lower()},999999,garbage"
             "&status=open&service_code=roads&start_date=2030-01-01T00:00:00Z")
    assert _ids(client.get(f"/open311/v2/requests.json?{query}")) == [str(new.id), str(old.id)]


def test_too_many_ids_are_refused(client, refdata):
    """More than 1,000 ids at once: 400."""
    ids = ",".join(str(i) for i in range(1, 1002))
    open311_error(client.get(f"/open311/v2/requests.json?service_request_id={ids}"), 400)


def test_at_most_the_newest_results_are_returned(client, refdata, cast, monkeypatch):
    """Answers are capped (1,000 in production), keeping the newest."""
    monkeypatch.setattr(open311_service, "MAX_RESULTS", 2)
    now = datetime.now(UTC)
    cases = [case_in(refdata, cast, "assigned", now=now - timedelta(hours=h)) for h in (3, 2, 1)]
    assert _ids(client.get("/open311/v2/requests.json")) == [str(cases[2].id), str(cases[1].id)]


def test_jurisdiction_scopes_the_list(client, refdata, cast):
    """jurisdiction_id=P1 lists the cases placed in P1 and its wards, not another province's."""
    mine = case_in(refdata, cast, "assigned")
    elsewhere = make_area("P2", level="province", boundary=square(100.0, 10.0, 0.5))
    db.session.commit()
    theirs = submit_report(db.session, NewReport(
        category=refdata.other, description="Rác", lat=10.1, lon=100.1, area_id=elsewhere.id),
        Actor(cast.reporter), workflow_context(), reporter=cast.reporter)
    db.session.commit()
    assert _ids(client.get("/open311/v2/requests.json?jurisdiction_id=P1")) == [str(mine.id)]
    assert _ids(client.get("/open311/v2/requests.json?jurisdiction_id=P2")) == [str(theirs.id)]
    assert len(_ids(client.get("/open311/v2/requests.json"))) == 2


def test_one_request_is_an_array_of_one(client, refdata, cast, schemas):
    """requests/{id}: an array of one, by id or tracking code, JSON or XML."""
    case = case_in(refdata, cast, "assigned")
    for key in (str(case.id), case.tracking_code):
        body = client.get(f"/open311/v2/requests/{key}.json").get_json()
        schemas.check("requests.json", body)
        assert [item["service_request_id"] for item in body] == [str(case.id)]
    root = xml_of(client.get(f"/open311/v2/requests/{case.id}.xml"))
    assert root.tag == "service_requests"
    [request] = root.findall("request")
    assert [child.tag for child in request] == [
        "service_request_id", "status", "status_notes", "service_name", "service_code",
        "description", "agency_responsible", "service_notice", "requested_datetime",
        "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
        "long", "media_url"]
    assert float(request.findtext("lat")) == case.lat


@pytest.mark.parametrize("key", ["999999", "abc", "PA-0000-XXXX", "1" * 30, "²", "%00", "١٢٣"])
def test_unknown_request_is_404(client, refdata, key):
    """The spec: 404 for a request that does not exist."""
    [error] = open311_error(client.get(f"/open311/v2/requests/{key}.json"), 404)
    assert "service_request_id" in error["description"]
    assert xml_of(client.get(f"/open311/v2/requests/{key}.xml")).tag == "errors"


def test_token_stands_for_the_request_id(client, refdata, cast, schemas):
    """We create requests at once; tokens/{id} still answers with the id (swagger
    TokenResponse), and an unknown token is 404."""
    case = case_in(refdata, cast, "assigned")
    body = client.get(f"/open311/v2/tokens/{case.id}.json").get_json()
    schemas.check_swagger("TokenResponse", body)
    assert body == [{"service_request_id": str(case.id), "token": str(case.id)}]
    root = xml_of(client.get(f"/open311/v2/tokens/{case.id}.xml"))
    assert root.findtext("request/token") == str(case.id)
    [error] = open311_error(client.get("/open311/v2/tokens/nope.json"), 404)
    assert "token" in error["description"]


def test_closed_request_updated_time_is_when_it_closed(client, refdata, cast):
    """updated_datetime of a closed request is the time of its last change (the close)."""
    when = datetime(2025, 6, 2, 3, 0, tzinfo=UTC)
    case = case_in(refdata, cast, "closed", now=when)
    [item] = client.get(f"/open311/v2/requests/{case.id}.json").get_json()
    assert item["updated_datetime"] == "2025-06-02T10:00:00+07:00"


def test_agency_name_follows_the_case(client, refdata, cast):
    """agency_responsible is the agency that holds the case now (after a reassignment)."""
    case = case_in(refdata, cast, "assigned")
    other = make_agency("UTIL")
    from tests.factories import act

    act(case, "transfer", cast.operator, agency_id=other.id, reason="Thuộc đơn vị khác")
    [item] = client.get(f"/open311/v2/requests/{case.id}.json").get_json()
    assert item["agency_responsible"] == other.name_vi
