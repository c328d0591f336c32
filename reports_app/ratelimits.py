"""Abuse limits: request rates per address and per account, and login lockout (flask-limiter)."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, current_app, request
from flask_jwt_extended import get_jwt_identity, verify_jwt_in_request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits import parse

from reports_app.errors import abort

log = logging.getLogger(__name__)


def client_address() -> str:
    """The caller's address (ProxyFix has already applied a trusted X-Forwarded-For)."""
    return get_remote_address() or "unknown"


def account_or_address() -> str:
    """The signed-in account when there is one, else the address."""
    try:
        verify_jwt_in_request(optional=True)
        identity = get_jwt_identity()
    except Exception:  # noqa: BLE001 - a bad token is rejected by the view itself
        identity = None
    return f"user:{identity}" if identity else f"ip:{client_address()}"


limiter = Limiter(key_func=client_address, headers_enabled=True, strategy="moving-window")

LIMITER_RETRY_AFTER = "X-RateLimit-Retry-After"
"""Where flask-limiter writes its Retry-After (it would put one on every limited response)."""


def init_limiter(app: Flask) -> None:
    """Bind the limiter; Retry-After then appears only on a 429 and on our own 409s."""
    # flask-limiter stamps Retry-After (the window's reset, up to an hour) on every response of a
    # limited endpoint and raises any Retry-After a view set to it: a `409 request_in_progress`
    # meant to say "2 s" said "3600 s". It writes its value under another name; this hook, added
    # before the limiter's own (after_request hooks run last-added first), keeps it for 429s only.
    app.config.setdefault("RATELIMIT_HEADER_RETRY_AFTER", LIMITER_RETRY_AFTER)
    app.after_request(_retry_after_only_when_limited)
    limiter.init_app(app)


def _retry_after_only_when_limited(response: Response) -> Response:
    value = response.headers.pop(LIMITER_RETRY_AFTER, None)
    if response.status_code == 429 and value is not None and "Retry-After" not in response.headers:
        response.headers["Retry-After"] = value
    return response


def limit_from_config(name: str) -> str:
    """The limit string for `name` from the config (e.g. LOGIN_RATE_LIMIT='10/minute')."""
    return current_app.config[name]


def _lockout_item():  # noqa: ANN202 - a limits RateLimitItem
    attempts = current_app.config["LOGIN_LOCKOUT_ATTEMPTS"]
    minutes = current_app.config["LOGIN_LOCKOUT_MINUTES"]
    return parse(f"{attempts}/{minutes} minutes")


def check_login_lockout(username: str) -> None:
    """Refuse sign-in for an account name that failed too often recently (429 with Retry-After)."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    item = _lockout_item()
    key = f"login-fail:{username.strip().lower()}"
    try:
        locked = not limiter.limiter.test(item, key)
        reset, _remaining = limiter.limiter.get_window_stats(item, key) if locked else (0, 0)
    except Exception as exc:  # noqa: BLE001 - storage down: the rate limits still apply
        log.warning("login lockout unavailable (rate-limit storage): %s", exc)
        return
    if locked:
        retry = max(1, int(reset - time.time()))
        abort(429, "account_locked", headers={"Retry-After": str(retry)})


def record_login_failure(username: str) -> None:
    """Count a failed sign-in towards the lockout."""
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    try:
        limiter.limiter.hit(_lockout_item(), f"login-fail:{username.strip().lower()}")
    except Exception as exc:  # noqa: BLE001 - storage down: the rate limits still apply
        log.warning("login failure not counted (rate-limit storage): %s", exc)


def login_username_key() -> str:
    """Rate-limit key for sign-in attempts against one account name."""
    body = request.get_json(silent=True) or {}
    username = body.get("username") if isinstance(body, dict) else None
    return f"login:{str(username or '').strip().lower()}"
