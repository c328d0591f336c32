"""Rate limits shared by every instance when REDIS_URL is set, and what happens if Redis is down.

The end-to-end proof (two servers counting together) is tests/deploy/test_two_instances.py.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

import redis
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from reports_app import ratelimits
from reports_app.config import load_config
from tests.factories import PASSWORD
from workflows.roles import Role


def test_redis_url_moves_the_limits_to_redis_under_the_prefix(tmp_path):
    """REDIS_URL: limits in Redis, keys under REDIS_KEY_PREFIX, short timeouts, memory fallback."""
    config = load_config(str(tmp_path), {"REDIS_URL": "redis://cache:6379/2",
                                         "REDIS_KEY_PREFIX": "hcm", "REDIS_TIMEOUT_SECONDS": "0.5"})
    assert config["RATELIMIT_STORAGE_URI"] == "redis://cache:6379/2"
    assert config["RATELIMIT_STORAGE_OPTIONS"] == {
        "key_prefix": "hcm:limits", "socket_timeout": 0.5, "socket_connect_timeout": 0.5}
    assert config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True


def test_without_redis_each_process_counts_alone(tmp_path):
    """No REDIS_URL: in-memory limits (one process), no Redis options."""
    config = load_config(str(tmp_path), {})
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert config["RATELIMIT_STORAGE_OPTIONS"] == {}
    assert config["REDIS_URL"] is None


def test_the_limits_library_takes_our_options_and_prefixes_every_key(tmp_path, redis_for_test):
    """Our storage options are accepted by a real Redis storage, and its keys carry our prefix."""
    config = load_config(str(tmp_path), {"REDIS_URL": redis_for_test.url,
                                         "REDIS_KEY_PREFIX": redis_for_test.prefix})
    storage = storage_from_string(config["RATELIMIT_STORAGE_URI"],
                                  **config["RATELIMIT_STORAGE_OPTIONS"])
    limiter = MovingWindowRateLimiter(storage)
    item = parse("2/minute")
    assert limiter.hit(item, "login-fail:someone")
    assert limiter.hit(item, "login-fail:someone")
    assert not limiter.hit(item, "login-fail:someone")
    written = redis_for_test.written()
    assert written
    assert all(key.startswith(f"{redis_for_test.prefix}:limits") for key in written)


class Unreachable:
    """A rate-limit strategy whose storage cannot be reached."""

    def test(self, *args, **kwargs):
        raise redis.exceptions.ConnectionError("Connection refused")

    hit = get_window_stats = test


def test_sign_in_works_when_the_lockout_storage_is_down(client, make_user, monkeypatch, caplog):
    """Redis down under the lockout counters: sign-in still answers 401/200, never 500."""
    make_user(Role.CITIZEN, email="dan@example.test")
    monkeypatch.setattr(ratelimits, "limiter", SimpleNamespace(limiter=Unreachable()))
    caplog.set_level(logging.WARNING, logger="reports_app.ratelimits")
    wrong = client.post("/api/v1/auth/login", json={"username": "dan@example.test",
                                                    "password": "wrong-password"})
    right = client.post("/api/v1/auth/login", json={"username": "dan@example.test",
                                                    "password": PASSWORD})
    assert (wrong.status_code, right.status_code) == (401, 200)
    assert "login lockout unavailable" in caplog.text
    assert "login failure not counted" in caplog.text


def test_app_redis_is_none_without_redis_url(app, monkeypatch):
    """The shared Redis client exists only when REDIS_URL is set, and is built once."""
    from reports_app.common.redis_client import app_redis

    app.extensions.pop("redis_client", None)
    assert app_redis() is None
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:18399/0")  # never dialled
    app.extensions.pop("redis_client", None)
    try:
        client = app_redis()
        assert client is not None
        assert app_redis() is client
    finally:
        app.extensions.pop("redis_client", None)

