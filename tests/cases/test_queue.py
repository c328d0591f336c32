"""`GET /cases`: who sees which cases, the filters, the order and the pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from reports_app.db import utcnow
from reports_app.extensions import db
from tests.factories import act, make_area, make_case, square


def _ids(client, user, as_user, query: str = "") -> list[int]:
    response = client.get(f"/api/v1/cases{query}", headers=as_user(user))
    assert response.status_code == 200, response.get_json()
    return [item["id"] for item in response.get_json()["items"]]


def test_staff_see_only_their_agencys_cases(client, case_in, people, refdata, as_user):
    """Agency staff get their own agency's queue; other agencies' and untriaged cases stay hidden."""
    ours = case_in("assigned")
    unrouted = case_in("submitted")
    theirs = case_in("submitted")
    act(theirs, "assign", people.operator, agency_id=refdata.ward_agency.id)
    assert _ids(client, people.staff, as_user) == [ours.id]
    assert _ids(client, people.other_staff, as_user) == [theirs.id]
    assert sorted(_ids(client, people.operator, as_user)) == sorted([ours.id, unrouted.id,
                                                                     theirs.id])
    for role in ("supervisor", "admin"):
        assert len(_ids(client, people.by_role(role), as_user)) == 3


def test_staff_rows_carry_no_reporter(client, case_in, people, as_user):
    """The queue names the reporter to operators only."""
    case_in("assigned")
    staff_row = client.get("/api/v1/cases", headers=as_user(people.staff)).get_json()["items"][0]
    assert "reporter" not in staff_row
    operator_row = client.get("/api/v1/cases",
                              headers=as_user(people.operator)).get_json()["items"][0]
    assert operator_row["reporter"]["name"] == people.reporter.full_name
    assert operator_row["reporter"]["email"] == people.reporter.email
    assert operator_row["reporter"]["phone"] == people.reporter.phone


@pytest.mark.parametrize("query", ["?status=assigned&status=need_info",
                                   "?status=assigned,need_info", "?status=assigned, need_info"])
def test_status_filter_repeats_or_lists(query, client, case_in, people, as_user):
    """`status` may repeat or be a comma list."""
    assigned = case_in("assigned")
    waiting = case_in("need_info")
    case_in("submitted")
    assert sorted(_ids(client, people.operator, as_user, query)) == sorted(
        [assigned.id, waiting.id])


def test_unknown_status_is_refused(client, people, as_user):
    """A misspelt state is a 422, not an empty queue."""
    response = client.get("/api/v1/cases?status=asigned", headers=as_user(people.operator))
    assert response.status_code == 422
    assert "status" in response.get_json()["errors"]


def test_category_filter(client, case_in, people, refdata, as_user):
    """Filter by category code; an unknown code is a 422."""
    roads = case_in("assigned")
    other = case_in("assigned", category=refdata.other)
    assert _ids(client, people.operator, as_user, "?category=roads") == [roads.id]
    assert _ids(client, people.operator, as_user, "?category=other") == [other.id]
    response = client.get("/api/v1/cases?category=nope", headers=as_user(people.operator))
    assert response.status_code == 422
    assert "category" in response.get_json()["errors"]


def test_area_filter_includes_the_areas_inside(client, case_in, people, refdata, as_user):
    """A province code finds the cases of its wards; a sibling ward's code does not."""
    sibling = make_area("W2", parent=refdata.province, boundary=square(107.95, 12.55, 0.04))
    in_ward = case_in("assigned")
    in_sibling = case_in("assigned")
    in_sibling.area_id = sibling.id  # placed in the other ward
    db.session.commit()
    assert sorted(_ids(client, people.operator, as_user, "?area=P1")) == sorted(
        [in_ward.id, in_sibling.id])
    assert _ids(client, people.operator, as_user, "?area=W1") == [in_ward.id]
    assert _ids(client, people.operator, as_user, "?area=W2") == [in_sibling.id]
    assert client.get("/api/v1/cases?area=ZZ",
                      headers=as_user(people.operator)).status_code == 422


def test_agency_filter_by_id_or_code(client, case_in, people, refdata, as_user):
    """`agency` takes an id or a code."""
    ours = case_in("assigned")
    case_in("submitted")
    assert _ids(client, people.operator, as_user, f"?agency={refdata.department.id}") == [ours.id]
    assert _ids(client, people.operator, as_user, "?agency=SXD") == [ours.id]
    assert _ids(client, people.operator, as_user, "?agency=UBND-W1") == []
    assert client.get("/api/v1/cases?agency=NOPE",
                      headers=as_user(people.operator)).status_code == 422


def test_overdue_and_due_before(client, case_in, people, as_user):
    """Overdue: open with the deadline passed; due_before bounds the deadline."""
    late = case_in("assigned", now=datetime(2024, 3, 4, 2, 0, tzinfo=UTC))
    fresh = case_in("assigned")
    done_late = case_in("resolved", now=datetime(2024, 3, 4, 2, 0, tzinfo=UTC))
    assert _ids(client, people.operator, as_user, "?overdue=true") == [late.id]
    assert sorted(_ids(client, people.operator, as_user, "?overdue=false")) == sorted(
        [fresh.id, done_late.id])
    cutoff = (utcnow() - timedelta(days=30)).isoformat().replace("+00:00", "Z")
    assert _ids(client, people.operator, as_user, f"?due_before={cutoff}") == [late.id]
    rows = client.get("/api/v1/cases?overdue=true",
                      headers=as_user(people.operator)).get_json()["items"]
    assert rows[0]["is_overdue"] is True


def test_due_before_needs_a_time_zone(client, people, as_user):
    """A naive instant is ambiguous: 422."""
    response = client.get("/api/v1/cases?due_before=2026-01-01T00:00:00",
                          headers=as_user(people.operator))
    assert response.status_code == 422


@pytest.mark.parametrize("q", ["duong", "đường", "ĐƯỜNG", "Le Duan duong", "le duẩn"])
def test_search_with_or_without_diacritics(q, client, case_in, people, as_user):
    """Searching "duong" finds "đường" and the other way round; words match in any order."""
    hit = case_in("assigned", description="Ổ gà lớn trên đường", address="12 Lê Duẩn")
    case_in("assigned", description="Đèn chiếu sáng hỏng", address="Phan Bội Châu")
    assert _ids(client, people.operator, as_user, f"?q={q}") == [hit.id]


def test_search_by_tracking_code(client, case_in, people, as_user):
    """A tracking code, in any case, finds its case."""
    hit = case_in("assigned")
    case_in("assigned")
    assert _ids(client, people.operator, as_user, f"?q={hit.tracking_code.lower()}") == [hit.id]


def test_search_wildcards_are_literal(client, case_in, people, as_user):
    """`%` and `_` in the query match themselves, not everything."""
    case_in("assigned", description="Ổ gà")
    assert _ids(client, people.operator, as_user, "?q=%25") == []
    assert _ids(client, people.operator, as_user, "?q=_") == []


def test_search_quotes_and_backslashes_match_themselves(client, case_in, people, as_user):
    """The search words are written into the statement: quotes and backslashes in them are
    text to find, never SQL."""
    hit = case_in("assigned", description="Biển ghi 'cấm đỗ' C:\\duong")
    case_in("assigned", description="Ổ gà")
    assert _ids(client, people.operator, as_user, "?q='cấm") == [hit.id]
    assert _ids(client, people.operator, as_user, "?q=C:\\duong") == [hit.id]
    assert _ids(client, people.operator, as_user, "?q=x'; DELETE FROM cases; --") == []
    assert len(_ids(client, people.operator, as_user)) == 2


def test_soonest_deadline_first_and_none_last(client, case_in, people, as_user):
    """The queue is sorted by due time, cases without a deadline at the end."""
    later = case_in("assigned")
    sooner = case_in("assigned", now=utcnow() - timedelta(days=20))
    paused = case_in("need_info")
    done = case_in("resolved")
    assert _ids(client, people.operator, as_user) == [sooner.id, later.id, paused.id, done.id]


def test_pages(client, case_in, people, as_user):
    """page and page_size cut the queue; the totals say how much there is."""
    made = [case_in("assigned") for _ in range(5)]
    body = client.get("/api/v1/cases?page=2&page_size=2",
                      headers=as_user(people.operator)).get_json()
    assert (body["page"], body["page_size"], body["total"], body["pages"]) == (2, 2, 5, 3)
    assert len(body["items"]) == 2
    assert {i["id"] for i in body["items"]} <= {c.id for c in made}


def test_staff_filters_never_widen_the_queue(client, case_in, people, refdata, as_user):
    """Asking for another agency's cases gives staff nothing, not those cases."""
    theirs = case_in("submitted")
    act(theirs, "assign", people.operator, agency_id=refdata.ward_agency.id)
    assert _ids(client, people.staff, as_user, "?agency=UBND-W1") == []
    assert _ids(client, people.staff, as_user, f"?q={theirs.tracking_code}") == []


def test_queue_row_shape(client, case_in, people, as_user):
    """A row says what, where, whose, and when it is due."""
    case = case_in("assigned")
    row = client.get("/api/v1/cases", headers=as_user(people.staff)).get_json()["items"][0]
    assert row["tracking_code"] == case.tracking_code
    assert row["state_label"] == {"vi": "Đã chuyển xử lý", "en": "Assigned"}
    assert row["category"]["code"] == "roads"
    assert row["area"]["code"] == "W1"
    assert row["agency"]["code"] == "SXD"
    assert row["due_step"] == "accept"
    assert row["version"] == case.version



def test_rows_carry_the_working_time_left(client, refdata, people, as_user):
    """Each open row says how many working minutes remain before its deadline."""
    monday_9 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    make_case(refdata, people.reporter, routed=False, now=monday_9)
    # Four working hours of triage from Monday 09:00; at 10:00 three remain.
    with time_machine.travel(monday_9 + timedelta(hours=1), tick=False):
        row = client.get("/api/v1/cases", headers=as_user(people.operator)).get_json()["items"][0]
    assert row["remaining_minutes"] == 180


def test_pending_extension_filter_lists_cases_awaiting_a_decision(client, case_in, people,
                                                                  as_user):
    """Supervisors find the extension requests they must decide."""
    waiting = case_in("in_progress")
    case_in("in_progress")
    act(waiting, "request_extension", people.staff, reason="Cần thêm vật tư",
        due_at=utcnow() + timedelta(days=30))
    assert _ids(client, people.supervisor, as_user, "?pending_extension=true") == [waiting.id]
