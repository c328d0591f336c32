"""The supervisor's SLA API, called as the web console calls it."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from tests.factories import act
from tests.sla.conftest import MONDAY_9, vn

BREACHES = "/api/v1/sla/breaches"
DUE_SOON = "/api/v1/sla/due-soon"
ACCEPT_DUE = vn(2026, 11, 17, 9, 0)  # a case routed Monday 09:00 must be accepted by then


@pytest.fixture
def breached(new_case, sweep):
    """A case routed Monday 09:00 whose accept clock was swept as breached on Tuesday 09:30."""
    case = new_case()
    sweep(vn(2026, 11, 17, 9, 30))
    return case


def get(client, auth, user, url, **params):
    with time_machine.travel(params.pop("at", vn(2026, 11, 17, 14, 0)), tick=False):
        return client.get(url, headers=auth(user), query_string=params)


def test_breached_case_appears_with_how_late_it_is(client, auth, people, breached, refdata):
    """At 14:00 a breach due 09:00 is 3 working hours and 5 clock hours late."""
    response = get(client, auth, people.supervisors[0], BREACHES, kind="breach")
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 1
    item = body["items"][0]
    assert item["case_id"] == breached.id
    assert item["tracking_code"] == breached.tracking_code
    assert (item["kind"], item["step"], item["case_open"]) == ("breach", "accept", True)
    assert item["agency"]["code"] == refdata.department.code
    assert item["category"]["code"] == "roads"
    assert item["due_at"] == ACCEPT_DUE.isoformat()
    assert item["late_working_hours"] == 3.0
    assert item["late_clock_hours"] == 5.0
    assert item["step_done_at"] is None
    assert item["acknowledged_at"] is None


def test_lateness_stops_when_the_step_is_done(client, auth, people, breached):
    """Accepted Tuesday 15:00, the breach stays 4 working hours late ever after."""
    act(breached, "accept", people.staff[0], now=vn(2026, 11, 17, 15, 0))
    response = get(client, auth, people.supervisors[0], BREACHES, kind="breach",
                   at=vn(2026, 12, 10, 9, 0))
    item = response.get_json()["items"][0]
    assert item["step_done_at"] == vn(2026, 11, 17, 15, 0).isoformat()
    assert (item["late_working_hours"], item["late_clock_hours"]) == (4.0, 6.0)


def test_warnings_are_listed_without_lateness(client, auth, people, breached):
    """Warnings are in the same list, filtered by kind; they have no lateness."""
    response = get(client, auth, people.supervisors[0], BREACHES, kind="warning")
    items = response.get_json()["items"]
    assert [(i["kind"], i["late_working_hours"]) for i in items] == [("warning", None)]
    assert get(client, auth, people.supervisors[0], BREACHES).get_json()["total"] == 2


def test_breaches_filter_by_open_or_handled(client, auth, people, new_case, sweep):
    """open=true lists cases still open, open=false the handled ones."""
    still_open = new_case()
    handled = new_case()
    sweep(vn(2026, 11, 17, 9, 30))
    act(handled, "accept", people.staff[0], now=vn(2026, 11, 17, 10, 0))
    act(handled, "resolve", people.staff[0], now=vn(2026, 11, 17, 11, 0), note="Xong",
        photos=["p"])
    sup = people.supervisors[0]
    opened = get(client, auth, sup, BREACHES, kind="breach", open="true").get_json()["items"]
    closed = get(client, auth, sup, BREACHES, kind="breach", open="false").get_json()["items"]
    assert [i["case_id"] for i in opened] == [still_open.id]
    assert [i["case_id"] for i in closed] == [handled.id]
    assert closed[0]["case_state"] == "resolved"


def test_breaches_filter_by_agency_category_and_step(client, auth, people, breached, refdata):
    """Filters narrow the list; a filter nothing matches gives an empty page."""
    sup = people.supervisors[0]
    assert get(client, auth, sup, BREACHES, agency=refdata.department.id).get_json()["total"] == 2
    assert get(client, auth, sup, BREACHES, agency=refdata.ward_agency.id).get_json()["total"] == 0
    assert get(client, auth, sup, BREACHES, category=refdata.roads.id).get_json()["total"] == 2
    assert get(client, auth, sup, BREACHES, category=refdata.other.id).get_json()["total"] == 0
    assert get(client, auth, sup, BREACHES, step="accept").get_json()["total"] == 2
    assert get(client, auth, sup, BREACHES, step="resolve").get_json()["total"] == 0


def test_breaches_filter_by_period(client, auth, people, breached):
    """A date means midnight office time; `to` is exclusive."""
    sup = people.supervisors[0]
    assert get(client, auth, sup, BREACHES, **{"from": "2026-11-17"}).get_json()["total"] == 2
    assert get(client, auth, sup, BREACHES, to="2026-11-17").get_json()["total"] == 0
    instant = {"from": "2026-11-17T09:29:00+07:00", "to": "2026-11-17T09:31:00+07:00"}
    assert get(client, auth, sup, BREACHES, **instant).get_json()["total"] == 2


@pytest.mark.parametrize(("params", "field"), [
    ({"from": "2026-11-18", "to": "2026-11-17"}, "to"),
    ({"from": "2026-11-17T09:00:00"}, "from"),
    ({"from": "yesterday"}, "from"),
    ({"kind": "late"}, "kind"),
    ({"step": "fix"}, "step"),
    ({"page_size": "1000"}, "page_size"),
])
def test_bad_filters_are_refused(client, auth, people, params, field):
    """A reversed period, a date-time without zone or an unknown value is a 422 naming the field."""
    response = get(client, auth, people.supervisors[0], BREACHES, **params)
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "validation_error"
    assert field in body["errors"]


@pytest.mark.parametrize("role", ["citizen", "operator", "staff"])
def test_only_supervisors_and_admins_list_breaches(client, auth, people, role):
    """Breaches are the supervisors' view (and the admin's)."""
    user = {"citizen": people.citizen, "operator": people.operator, "staff": people.staff[0]}[role]
    assert get(client, auth, user, BREACHES).status_code == 403
    assert get(client, auth, people.admin, BREACHES).status_code == 200


def test_breaches_need_a_token(client):
    """Anonymous callers get 401 in the one error shape."""
    response = client.get(BREACHES)
    assert response.status_code == 401
    assert response.get_json()["error"]


def test_supervisor_acknowledges_a_breach_with_a_note(client, auth, people, breached):
    """The note and who wrote it are kept; the breach leaves the unacknowledged list."""
    sup = people.supervisors[0]
    breach = get(client, auth, sup, BREACHES, kind="breach").get_json()["items"][0]
    with time_machine.travel(vn(2026, 11, 17, 15, 0), tick=False):
        response = client.post(f"{BREACHES}/{breach['id']}/acknowledge", headers=auth(sup),
                               json={"note": "Đã gọi điện nhắc Sở Xây dựng"})
    assert response.status_code == 200
    item = response.get_json()
    assert item["acknowledged_at"] == vn(2026, 11, 17, 15, 0).isoformat()
    assert item["acknowledged_by"]["id"] == sup.id
    assert item["acknowledgement_note"] == "Đã gọi điện nhắc Sở Xây dựng"
    left = get(client, auth, sup, BREACHES, kind="breach", acknowledged="false").get_json()
    assert left["total"] == 0


def test_a_breach_is_acknowledged_once(client, auth, people, breached):
    """The second acknowledgement is a conflict; the first note stands."""
    first, second = people.supervisors
    breach = get(client, auth, first, BREACHES, kind="breach").get_json()["items"][0]
    url = f"{BREACHES}/{breach['id']}/acknowledge"
    assert client.post(url, headers=auth(first), json={"note": "Đã xem"}).status_code == 200
    response = client.post(url, headers=auth(second), json={"note": "Tôi cũng xem"})
    assert response.status_code == 409
    assert response.get_json()["error"] == "already_acknowledged"
    item = get(client, auth, first, BREACHES, kind="breach").get_json()["items"][0]
    assert item["acknowledgement_note"] == "Đã xem"


@pytest.mark.parametrize(("body", "field"), [
    ({}, "note"), ({"note": "   "}, "note"), ({"note": "x" * 2001}, "note"),
    ({"note": "ok", "extra": 1}, "extra")])
def test_acknowledgement_needs_a_real_note(client, auth, people, breached, body, field):
    """A missing, blank or oversized note, or an unknown field, is refused with 422."""
    breach = get(client, auth, people.supervisors[0], BREACHES).get_json()["items"][0]
    response = client.post(f"{BREACHES}/{breach['id']}/acknowledge",
                           headers=auth(people.supervisors[0]), json=body)
    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def test_acknowledging_an_unknown_breach_is_404(client, auth, people):
    """No such event: 404 in the one error shape."""
    response = client.post(f"{BREACHES}/999999/acknowledge", headers=auth(people.supervisors[0]),
                           json={"note": "?"})
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_staff_cannot_acknowledge(client, auth, people, breached):
    """Acknowledging is the supervisor's."""
    breach = get(client, auth, people.supervisors[0], BREACHES).get_json()["items"][0]
    response = client.post(f"{BREACHES}/{breach['id']}/acknowledge", headers=auth(people.staff[0]),
                           json={"note": "Đã xem"})
    assert response.status_code == 403


def test_due_soon_counts_working_hours_ahead(client, auth, people, new_case):
    """At Monday 16:00 a deadline Tuesday 09:00 is 2.5 working hours away, not 17 clock hours."""
    case = new_case()
    sup = people.supervisors[0]
    at = vn(2026, 11, 16, 16, 0)
    assert get(client, auth, sup, DUE_SOON, within_hours=2, at=at).get_json()["total"] == 0
    body = get(client, auth, sup, DUE_SOON, within_hours=3, at=at).get_json()
    assert body["total"] == 1
    item = body["items"][0]
    assert (item["case_id"], item["step"], item["remaining_minutes"]) == (case.id, "accept", 150)
    assert item["due_at"] == ACCEPT_DUE.isoformat()


def test_due_soon_leaves_out_overdue_cases_unless_asked(client, auth, people, new_case):
    """Past deadlines are the breaches list's; include_overdue adds them here."""
    new_case()
    sup = people.supervisors[0]
    at = vn(2026, 11, 17, 10, 0)
    assert get(client, auth, sup, DUE_SOON, at=at).get_json()["total"] == 0
    body = get(client, auth, sup, DUE_SOON, include_overdue="true", at=at).get_json()
    assert body["items"][0]["remaining_minutes"] == -60


def test_staff_see_only_their_agencys_cases_due_soon(client, auth, people, new_case, refdata):
    """Staff get their own agency's queue and may not ask for another's."""
    new_case()
    at = vn(2026, 11, 16, 16, 0)
    mine = get(client, auth, people.staff[0], DUE_SOON, within_hours=8, at=at).get_json()
    theirs = get(client, auth, people.other_staff, DUE_SOON, within_hours=8, at=at).get_json()
    assert (mine["total"], theirs["total"]) == (1, 0)
    response = get(client, auth, people.other_staff, DUE_SOON, agency=refdata.department.id)
    assert response.status_code == 403
    assert get(client, auth, people.operator, DUE_SOON, at=at).status_code == 200
    assert get(client, auth, people.citizen, DUE_SOON, at=at).status_code == 403


def test_due_soon_skips_paused_cases(client, auth, people, new_case):
    """A case waiting on the citizen has no running deadline."""
    case = new_case()
    act(case, "accept", people.staff[0], now=MONDAY_9)
    act(case, "request_info", people.staff[0], now=MONDAY_9, note="Ở đâu?")
    body = get(client, auth, people.supervisors[0], DUE_SOON, within_hours=1000,
               at=MONDAY_9 + timedelta(hours=1)).get_json()
    assert body["total"] == 0


@pytest.mark.parametrize("hours", ["0", "-1", "1001", "soon"])
def test_due_soon_refuses_a_bad_window(client, auth, people, hours):
    """within_hours must be a positive number up to 1000."""
    response = get(client, auth, people.supervisors[0], DUE_SOON, within_hours=hours)
    assert response.status_code == 422
    assert "within_hours" in response.get_json()["errors"]


def test_case_clocks_show_the_deadline_and_the_working_time_left(client, auth, people, new_case):
    """At Monday 14:00 the accept clock has 4.5 working hours left; resolve runs alongside."""
    case = new_case()
    body = get(client, auth, people.supervisors[0], f"/api/v1/sla/cases/{case.id}",
               at=vn(2026, 11, 16, 14, 0)).get_json()
    assert (body["case_id"], body["due_step"], body["state"]) == (case.id, "accept", "running")
    assert body["due_at"] == ACCEPT_DUE.isoformat()
    assert body["remaining_minutes"] == 270
    steps = {s["step"]: s for s in body["steps"]}
    assert set(steps) == {"accept", "resolve"}
    assert steps["resolve"]["original_due_at"] == steps["resolve"]["due_at"]
    assert steps["resolve"]["extended"] is False


def test_case_clocks_show_late_and_paused(client, auth, people, new_case):
    """Late clocks show negative time; a paused clock shows the time frozen at the pause."""
    case = new_case()
    act(case, "accept", people.staff[0], now=vn(2026, 11, 17, 10, 0))  # an hour late
    act(case, "request_info", people.staff[0], now=vn(2026, 11, 17, 10, 0), note="Ở đâu?")
    body = get(client, auth, people.staff[0], f"/api/v1/sla/cases/{case.id}",
               at=vn(2026, 11, 30, 9, 0)).get_json()
    steps = {s["step"]: s for s in body["steps"]}
    assert (steps["accept"]["state"], steps["accept"]["remaining_minutes"]) == ("stopped", -60)
    assert steps["accept"]["is_late"] is True
    assert steps["resolve"]["state"] == "paused"
    assert steps["resolve"]["remaining_minutes"] == 7.5 * 4 * 60 - 60  # Tue 10:00 to Mon 09:00
    assert body["due_at"] is None


def test_case_clocks_are_hidden_from_other_agencies_and_citizens(client, auth, people, new_case):
    """Another agency's staff get 404, as if the case did not exist; citizens get 403."""
    case = new_case()
    url = f"/api/v1/sla/cases/{case.id}"
    assert get(client, auth, people.other_staff, url).status_code == 404
    assert get(client, auth, people.citizen, url).status_code == 403
    assert get(client, auth, people.operator, url).status_code == 200
    assert get(client, auth, people.supervisors[0], "/api/v1/sla/cases/999999").status_code == 404
