"""Abuse limits on report submission: per account, with retries free."""

from __future__ import annotations

import pytest


@pytest.fixture
def two_per_hour(app, monkeypatch):
    """A production-like limit for one test."""
    monkeypatch.setitem(app.config, "REPORT_RATE_LIMIT", "2/hour")


def test_submissions_over_the_limit_get_429_with_retry_after(refdata, submit, two_per_hour):
    """A flood of reports from one account is refused with Retry-After."""
    assert submit().status_code == 201
    assert submit().status_code == 201
    response = submit()
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_idempotent_retries_do_not_count_against_the_limit(refdata, submit, two_per_hour):
    """A phone retrying the same report over a weak link is not punished for it."""
    assert submit(key="retry-1").status_code == 201
    for _ in range(3):
        assert submit(key="retry-1").headers["Idempotent-Replayed"] == "true"
    assert submit(key="another").status_code == 201
