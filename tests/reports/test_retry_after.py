"""Retry-After tells a phone app when to send again: only on refusals, and the right figure."""

from __future__ import annotations

from datetime import timedelta

from reports_app.db import utcnow
from reports_app.extensions import db
from reports_app.models import IdempotencyKey
from tests.reports.conftest import form
from tests.reports.test_idempotency import _digest_of


def test_retry_after_is_only_on_refusals(app, refdata, submit, citizen, monkeypatch):
    """A rate-limited endpoint's success carries no Retry-After, and a 409 request_in_progress
    says the idempotency wait, not the rate-limit window (which can be an hour)."""
    monkeypatch.setitem(app.config, "REPORT_RATE_LIMIT", "30/hour")
    monkeypatch.setitem(app.config, "IDEMPOTENCY_WAIT_SECONDS", 0.0)
    ok = submit()
    assert ok.status_code == 201
    assert "Retry-After" not in ok.headers
    assert ok.headers["X-RateLimit-Limit"]
    assert "X-RateLimit-Retry-After" not in ok.headers
    now = utcnow()
    db.session.add(IdempotencyKey(user_id=citizen.id, key="busy", request_hash=_digest_of(form()),
                                  created_at=now, expires_at=now + timedelta(days=1)))
    db.session.commit()
    busy = submit(form(), key="busy")
    assert busy.status_code == 409
    assert busy.headers["Retry-After"] == "1"


def test_a_429_still_says_when_to_come_back(app, refdata, submit, monkeypatch):
    """Over the limit: 429 with the window's Retry-After."""
    monkeypatch.setitem(app.config, "REPORT_RATE_LIMIT", "1/hour")
    assert submit().status_code == 201
    refused = submit(form(description="Lần thứ hai"))
    assert refused.status_code == 429
    assert 60 < int(refused.headers["Retry-After"]) <= 3600
