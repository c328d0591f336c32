"""A request from a generic Open311 client, followed through the whole case workflow."""

from __future__ import annotations

import io

from tests.factories import auth_headers
from tests.open311.conftest import jpeg, request_form


def test_open311_request_lives_as_an_ordinary_case(client, refdata, cast, post_request, api_key,
                                                   schemas):
    """Posted with form fields only: readable by id and in the list, in the reports API and the
    staff queue, counted in the figures, and `closed` once staff resolve it and it closes."""
    response = post_request(request_form(api_key, first_name="Lan", last_name="Nguyễn",
                                         email="lan.nguyen@example.test"))
    assert response.status_code == 200, response.data
    request_id = response.get_json()[0]["service_request_id"]

    # Read back by id and in the list, as an Open311 client would.
    [item] = client.get(f"/open311/v2/requests/{request_id}.json").get_json()
    assert item["status"] == "open"
    assert item["agency_responsible"] == refdata.department.name_vi
    listed = client.get("/open311/v2/requests.json?status=open&service_code=roads").get_json()
    assert [i["service_request_id"] for i in listed] == [request_id]
    schemas.check("requests.json", listed)

    # The reports API: the operator's case file, with the private contact.
    operator = auth_headers(cast.operator)
    case = client.get(f"/api/v1/cases/{request_id}", headers=operator).get_json()
    assert case["source"] == "open311"
    assert case["state"] == "assigned"
    assert case["reporter"]["name"] == "Lan Nguyễn"
    assert case["reporter"]["email"] == "lan.nguyen@example.test"
    assert case["tracking_code"] in item["service_notice"]
    public = client.get(f"/api/v1/public/reports/{case['tracking_code']}")
    assert public.status_code == 200

    # The department's queue has it, without the reporter.
    staff = auth_headers(cast.staff)
    queue = client.get("/api/v1/cases", headers=staff).get_json()
    row = next(r for r in queue["items"] if r["id"] == int(request_id))
    assert "reporter" not in row

    # The figures count it like any report.
    supervisor = auth_headers(cast.supervisor)
    figures = client.get("/api/v1/stats/summary?breakdown=", headers=supervisor).get_json()
    assert figures["figures"]["received"] == 1

    # Staff accept and resolve with an "after" photo: Open311 says closed, with the reply.
    version = case["version"]
    accepted = client.post(f"/api/v1/cases/{request_id}/actions/accept", headers=staff,
                           json={"version": version})
    assert accepted.status_code == 200, accepted.get_json()
    resolved = client.post(
        f"/api/v1/cases/{request_id}/actions/resolve", headers=staff,
        data={"version": str(accepted.get_json()["version"]), "note": "Đã vá ổ gà.",
              "photos": [(io.BytesIO(jpeg((200, 200, 200))), "after.jpg", "image/jpeg")]},
        content_type="multipart/form-data")
    assert resolved.status_code == 200, resolved.get_json()
    [item] = client.get(f"/open311/v2/requests/{request_id}.json").get_json()
    assert item["status"] == "closed"
    assert item["status_notes"] == "Đã vá ổ gà."
    assert item["expected_datetime"] is None
    assert client.get("/open311/v2/requests.json?status=open").get_json() == []

    # A supervisor closes the case: still closed, updated at the close.
    closed = client.post(f"/api/v1/cases/{request_id}/actions/close", headers=supervisor,
                         json={"version": resolved.get_json()["version"]})
    assert closed.status_code == 200, closed.get_json()
    assert closed.get_json()["state"] == "closed"
    [item] = client.get(f"/open311/v2/requests/{request_id}.json").get_json()
    schemas.check("request.json", item)
    assert item["status"] == "closed"
    listed = client.get("/open311/v2/requests.json?status=closed").get_json()
    assert [i["service_request_id"] for i in listed] == [request_id]
    figures = client.get("/api/v1/stats/summary?breakdown=", headers=supervisor).get_json()
    assert figures["figures"]["handled"] == 1
