"""Two app servers and one scheduler against one PostgreSQL database behave as one system.

Real processes, started as in production: `gunicorn -c gunicorn.conf.py wsgi:app` twice (each
on its own port, sharing MEDIA_ROOT and Redis) and one `flask --app wsgi scheduler`. A full case
travels between them over HTTP; every step is sent to the server the previous one did not use.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from reports_app.demo.loader import DEMO_PASSWORD
from tests.deploy.processes import (
    WEBHOOK_SECRET,
    WebhookReceiver,
    multipart,
    wait_for,
)
from workflows.channels import verify

pytestmark = pytest.mark.postgres_only

BMT = ("12.65955", "108.03247")
"""Inside the demo ward of Buôn Ma Thuột; category `other` has no routing rule: triage."""


def _report(description: str, photo: bytes) -> tuple[bytes, str]:
    return multipart({"category": "other", "lat": BMT[0], "lon": BMT[1],
                      "description": description}, [(photo, "IMG_0001.jpg")])


def _act(server, token: str, case_id: int, action: str, **fields) -> dict:
    version = server.get(f"/api/v1/cases/{case_id}", token=token).json()["version"]
    reply = server.post(f"/api/v1/cases/{case_id}/actions/{action}", token=token,
                        json_body={"version": version, **fields})
    assert reply.status == 200, (action, reply.body)
    return reply.json()


def test_two_servers_and_one_scheduler_work_one_case(deployment, redis_for_test, shared_dir):
    """A case submitted on one server is worked on the other, photos and tokens and retries
    and rate limits are the same on both, and the scheduler sweeps and delivers for both."""
    photos = shared_dir / "photos" / "orientation"
    before, after = (photos / "landscape_1.jpg").read_bytes(), (photos / "portrait_3.jpg").read_bytes()
    with WebhookReceiver(deployment.ports.take()) as webhook:
        deployment.settings.update({
            "REDIS_URL": redis_for_test.url, "REDIS_KEY_PREFIX": redis_for_test.prefix,
            "REGISTER_RATE_LIMIT": "3/hour",
            "NOTIFY_CHANNELS": "log,webhook", "NOTIFY_WEBHOOK_URL": webhook.url,
            "NOTIFY_WEBHOOK_SECRET": WEBHOOK_SECRET})
        one, two = deployment.server("server-1"), deployment.server("server-2")
        one.wait_ready()
        two.wait_ready()

        # A citizen signs up and reports on server 1; the retry reaches server 2 and replays.
        signup = one.post("/api/v1/auth/register", json_body={
            "phone": "0912 345 678", "password": "mat-khau-123", "full_name": "Trần Thị Dân"})
        assert signup.status == 201, signup.body
        citizen = signup.json()["access_token"]
        body, content_type = _report("Cột đèn đổ chắn lối đi bộ trước chợ.", before)
        key = {"Idempotency-Key": str(uuid.uuid4())}
        first = one.post("/api/v1/reports", body=body, content_type=content_type, token=citizen,
                         headers=key)
        assert first.status == 201, first.body
        retry = two.post("/api/v1/reports", body=body, content_type=content_type, token=citizen,
                         headers=key)
        assert retry.status == 201, retry.body
        assert retry.headers.get("idempotent-replayed") == "true"
        assert retry.json() == first.json()
        report = first.json()
        case_id = report["id"]
        assert report["status"]["code"] == "submitted"
        assert deployment.scalar("SELECT count(*) FROM cases") == 1

        # The photo was written by server 1; both servers serve it (one MEDIA_ROOT).
        photo_url = report["photos"][0]["display_url"]
        served = [server.get(photo_url) for server in (one, two)]
        assert [r.status for r in served] == [200, 200]
        assert served[0].body == served[1].body
        assert served[1].headers["content-type"] == "image/jpeg"

        # The workflow, alternating servers.
        operator = two.login("operator@demo.test", DEMO_PASSWORD)
        staff = one.login("staff.ubnd-bmt@demo.test", DEMO_PASSWORD)
        agency_id = deployment.scalar("SELECT id FROM agencies WHERE code = 'UBND-BMT'")
        _act(two, operator, case_id, "assign", agency_id=agency_id)
        _act(one, staff, case_id, "accept")
        _act(two, staff, case_id, "request_info", note="Cột đèn nằm ở phía cổng nào của chợ?")
        answer = one.post(f"/api/v1/reports/{case_id}/info", token=citizen,
                          json_body={"note": "Cổng phía đường Phan Bội Châu."})
        assert answer.status == 200, answer.body
        version = one.get(f"/api/v1/cases/{case_id}", token=staff).json()["version"]
        resolve_body, resolve_type = multipart(
            {"version": str(version), "note": "Đã dựng lại cột đèn và dọn lối đi."},
            [(after, "after.jpg")])
        resolved = two.post(f"/api/v1/cases/{case_id}/actions/resolve", body=resolve_body,
                            content_type=resolve_type, token=staff)
        assert resolved.status == 200, resolved.body
        rated = one.post(f"/api/v1/reports/{case_id}/feedback", token=citizen,
                         json_body={"rating": "satisfied", "comment": "Cảm ơn các anh."})
        assert rated.status == 201, rated.body
        assert rated.json()["case"]["state"] == "closed"

        # The citizen's view on server 2 has the whole public timeline and both photos.
        mine = two.get(f"/api/v1/reports/{case_id}", token=citizen).json()
        actions = [event["action"] for event in mine["timeline"]]
        assert actions == ["submit", "assign", "accept", "request_info", "provide_info",
                           "resolve", "close"]
        after_url = next(p["display_url"] for p in mine["photos"] if p["kind"] == "after")
        assert one.get(after_url).status == 200

        # A second report is left waiting until its triage deadline has passed: real processes
        # cannot travel in time, so its running clock is moved into the past in the database.
        late_body, late_type = _report("Nắp cống bị vỡ trên vỉa hè.", after)
        late = two.post("/api/v1/reports", body=late_body, content_type=late_type,
                        token=citizen).json()
        with deployment.engine.begin() as conn:
            conn.execute(sa.text(
                "UPDATE case_clocks SET started_at = now() - interval '3 days', "
                "warn_at = now() - interval '2 days', due_at = now() - interval '1 day', "
                "original_due_at = now() - interval '1 day', "
                "next_check_at = now() - interval '2 days' "
                "WHERE case_id = :id AND stopped_at IS NULL"), {"id": late["id"]})

        # Signing out on server 1 revokes the token on server 2 too.
        assert one.post("/api/v1/auth/logout", token=citizen).status == 200
        refused = two.get("/api/v1/me", token=citizen)
        assert refused.status == 401
        assert refused.json()["error"] == "token_revoked"

        # Rate limits are counted in Redis: 3 sign-ups an hour from this address in all.
        for phone in ("0912 000 001", "0912 000 002"):
            assert one.post("/api/v1/auth/register", json_body={
                "phone": phone, "password": "mat-khau-123"}).status == 201
        limited = two.post("/api/v1/auth/register", json_body={
            "phone": "0912 000 003", "password": "mat-khau-123"})
        assert limited.status == 429, limited.body
        assert int(limited.headers["retry-after"]) > 0
        assert any(key.startswith(f"{redis_for_test.prefix}:limits") for key in redis_for_test.written())

        # The scheduler: on start it sweeps (the breach, escalated) and delivers the outbox.
        jobs = deployment.scheduler()
        wait_for(lambda: "scheduler started" in jobs.log(), 60, "the scheduler to start",
                 deployment.logs)
        breaches = deployment.rows(
            "SELECT case_id, step FROM sla_events WHERE kind = 'breach'")
        assert [(row.case_id, row.step) for row in breaches] == [(late["id"], "triage")]
        supervisor = one.login("supervisor@demo.test", DEMO_PASSWORD)
        listed = two.get("/api/v1/sla/breaches?kind=breach", token=supervisor).json()
        assert [item["case_id"] for item in listed["items"]] == [late["id"]]

        outbox = deployment.rows("SELECT status, channel, dedupe_key FROM outbox")
        assert outbox, "the workflow queued notifications"
        assert {row.status for row in outbox} == {"sent"}, outbox
        webhook_keys = {row.dedupe_key for row in outbox if row.channel == "webhook"}
        assert len(webhook_keys) == len(outbox) // 2  # every message through both channels
        delivered = webhook.received.requests
        assert sorted(headers["x-message-id"] for headers, _ in delivered) == sorted(webhook_keys)
        assert all(verify(WEBHOOK_SECRET, body, headers["x-signature"])
                   for headers, body in delivered)
        topics = {document["topic"] for document in webhook.received.bodies()}
        assert {"status_changed", "sla_breach"} <= topics, topics

        # Everything stops cleanly (SIGTERM), as a deployment would.
        assert [process.stop() for process in deployment.processes] == [0, 0, 0], deployment.logs()
