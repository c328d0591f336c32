"""Abuse limits on sign-in and sign-up."""

from __future__ import annotations

import pytest

from tests.factories import PASSWORD
from workflows.roles import Role


@pytest.fixture
def low_limits(app, monkeypatch):
    """Production-like limits for one test."""
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", "3/minute")
    monkeypatch.setitem(app.config, "REGISTER_RATE_LIMIT", "2/hour")
    monkeypatch.setitem(app.config, "LOGIN_LOCKOUT_ATTEMPTS", 3)


def login(client, username, password, ip="10.0.0.1"):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": ip})


def test_login_is_rate_limited_per_address_with_retry_after(client, low_limits):
    """A flood of sign-ins from one address gets 429 with Retry-After."""
    for _ in range(3):
        login(client, "someone@example.test", "x")
    response = login(client, "someone@example.test", "x")
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0


def test_repeated_failures_lock_the_account_name(client, make_user, low_limits):
    """After repeated wrong passwords even the right one is refused for a while."""
    make_user(Role.CITIZEN, email="victim@example.test")
    for i in range(3):
        login(client, "victim@example.test", "wrong", ip=f"10.0.1.{i}")
    response = login(client, "victim@example.test", PASSWORD, ip="10.0.2.1")
    assert response.status_code == 429
    assert response.get_json()["error"] == "account_locked"
    assert int(response.headers["Retry-After"]) > 0


def test_registration_is_rate_limited_per_address(client, low_limits):
    """One address cannot mass-create accounts."""
    for phone in ("0912345671", "0912345672"):
        client.post("/api/v1/auth/register", json={"phone": phone, "password": PASSWORD},
                    environ_base={"REMOTE_ADDR": "10.9.9.9"})
    response = client.post("/api/v1/auth/register",
                           json={"phone": "0912345673", "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert response.status_code == 429
