"""Abuse limits: every limited endpoint answers 429 in its error shape with Retry-After, per
account and per address, and a caller the limit is not about is still served."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from reports_app.extensions import db
from reports_app.models import Case
from reports_app.open311.keys import issue_key
from tests import factories
from tests.reports.conftest import form, multipart
from workflows.roles import Role

_phones = itertools.count(1)


@dataclass
class Callers:
    """Accounts and keys the limits are counted for."""

    citizens: list[Any]
    keys: list[str]


@pytest.fixture
def callers(app: Flask) -> Callers:
    factories.make_refdata()
    citizens = [factories.make_user(Role.CITIZEN, email=f"limit{i}@example.test")
                for i in range(3)]
    keys = [issue_key(f"Client {i}", rate_limit_per_minute=2 if i == 0 else 1000)[1]
            for i in range(3)]
    db.session.commit()
    return Callers(citizens, keys)


WRONG_PASSWORD = "not the password"


def _login(client: Any, callers: Callers, who: int, ip: str, password: str | None = None) -> Any:
    return client.post("/api/v1/auth/login", environ_base={"REMOTE_ADDR": ip}, json={
        "username": callers.citizens[who].email, "password": password or WRONG_PASSWORD})


def _register(client: Any, _callers: Callers, _who: int, ip: str) -> Any:
    return client.post("/api/v1/auth/register", environ_base={"REMOTE_ADDR": ip},
                       json={"phone": f"0976{next(_phones):06d}", "password": "mật khẩu dài"})


def _report(client: Any, callers: Callers, who: int, ip: str) -> Any:
    payload, content_type = multipart(form())
    return client.post("/api/v1/reports", data=payload, content_type=content_type,
                       environ_base={"REMOTE_ADDR": ip},
                       headers=factories.auth_headers(callers.citizens[who]))


def _open311(client: Any, callers: Callers, who: int, ip: str) -> Any:
    return client.post("/open311/v2/requests.json", environ_base={"REMOTE_ADDR": ip}, data={
        "api_key": callers.keys[who], "service_code": "roads", "lat": "12.62", "long": "108.02",
        "description": "Ổ gà"})


@dataclass(frozen=True)
class Limit:
    """A limit: the setting lowered to 2, how to send, and which part changes between calls."""

    name: str
    setting: str | None
    send: Callable[..., Any]
    per: str
    """"address": one address, several accounts; "account": one account, several addresses."""
    error: str | None = "rate_limited"
    """None: the Open311 error list."""


LIMITS = [
    Limit("sign-in per address", "LOGIN_RATE_LIMIT", _login, "address"),
    Limit("sign-in per account name", "LOGIN_ACCOUNT_RATE_LIMIT", _login, "account"),
    Limit("sign-up per address", "REGISTER_RATE_LIMIT", _register, "address"),
    Limit("reports per account", "REPORT_RATE_LIMIT", _report, "account"),
    Limit("reports per address", "REPORT_ADDRESS_RATE_LIMIT", _report, "address"),
    Limit("Open311 POSTs per key", None, _open311, "account", error=None),
    Limit("Open311 POSTs per address", "OPEN311_ADDRESS_RATE_LIMIT", _open311, "address",
          error=None),
]


def _assert_429(response: Any, error: str | None) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)[:200]
    assert int(response.headers["Retry-After"]) > 0
    body = response.get_json()
    if error is None:
        assert body == [{"code": 429, "description": body[0]["description"]}]
    else:
        assert (body["code"], body["status"], body["error"]) == (429, "Too Many Requests", error)
        assert body["message"]


@pytest.mark.parametrize("limit", LIMITS, ids=lambda item: item.name)
def test_limited_endpoints_answer_429_with_retry_after(app, client, callers, monkeypatch,
                                                       limit):
    """Two calls pass, the third from the same address (or account, or key) gets 429 with
    Retry-After in the endpoint's error shape; another address (or account) still passes."""
    if limit.setting:
        monkeypatch.setitem(app.config, limit.setting, "2/minute")
    # Per address: the account (or key) changes; per account: the address changes.
    calls = [(0, "10.1.0.1"), (1, "10.1.0.1"), (2, "10.1.0.1")] if limit.per == "address" \
        else [(0, "10.2.0.1"), (0, "10.2.0.2"), (0, "10.2.0.3")]
    first, second, third = (limit.send(client, callers, who, ip) for who, ip in calls)
    assert first.status_code != 429
    assert second.status_code != 429
    _assert_429(third, limit.error)
    other = (1, "10.3.0.9") if limit.per == "account" else (2, "10.4.0.9")
    assert limit.send(client, callers, *other).status_code != 429


def test_a_refused_report_over_the_limit_stores_nothing(app, client, callers, monkeypatch):
    """A report refused by the limit is not filed."""
    monkeypatch.setitem(app.config, "REPORT_RATE_LIMIT", "1/minute")
    assert _report(client, callers, 0, "10.5.0.1").status_code == 201
    _assert_429(_report(client, callers, 0, "10.5.0.1"), "rate_limited")
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 1


def test_repeated_wrong_passwords_lock_the_account_with_retry_after(app, client, callers,
                                                                    monkeypatch):
    """After LOGIN_LOCKOUT_ATTEMPTS failures, even the right password is refused for a while,
    from any address; other accounts are not affected."""
    monkeypatch.setitem(app.config, "LOGIN_LOCKOUT_ATTEMPTS", 2)
    for ip in ("10.6.0.1", "10.6.0.2"):
        assert _login(client, callers, 0, ip).status_code == 401
    locked = _login(client, callers, 0, "10.6.0.3", password=factories.PASSWORD)
    _assert_429(locked, "account_locked")
    assert _login(client, callers, 1, "10.6.0.3", password=factories.PASSWORD).status_code == 200
