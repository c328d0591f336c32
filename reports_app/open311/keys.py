"""Open311 client keys: issued and revoked by admins, one per client application, each with its
own rate limit. Only a key's SHA-256 is stored; the key itself is shown once, when issued."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import request

from reports_app.db import utcnow
from reports_app.extensions import db
from reports_app.models import ApiKey, User

log = logging.getLogger(__name__)

KEY_PREFIX = "o311_"
PREFIX_LENGTH = 12
"""How much of a key is kept readable, so an admin can tell keys apart."""
ENVIRON_KEY = "reports_app.open311.api_key"


def hash_key(plain: str) -> str:
    """The stored form of a key: SHA-256, hex (a random key needs no slow password hash)."""
    return hashlib.sha256(plain.encode("utf-8", "replace")).hexdigest()


def new_key() -> str:
    """A fresh random key (about 190 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(24)


def issue_key(name: str, *, contact_email: str | None = None, rate_limit_per_minute: int = 30,
              created_by: User | None = None, plain: str | None = None) -> tuple[ApiKey, str]:
    """Add a key (flush only) and return it with the plain key, which is never stored."""
    plain = plain or new_key()
    key = ApiKey(name=name, key_hash=hash_key(plain), key_prefix=plain[:PREFIX_LENGTH],
                 contact_email=contact_email, rate_limit_per_minute=rate_limit_per_minute,
                 is_active=True, created_by_id=created_by.id if created_by else None,
                 created_at=utcnow())
    db.session.add(key)
    db.session.flush()
    log.info("Open311 key %s (%s) issued for %r", key.id, key.key_prefix, name)
    return key, plain


def revoke_key(key: ApiKey, now: datetime | None = None) -> ApiKey:
    """Refuse the key from now on; revoking twice keeps the first time."""
    if key.is_active or key.revoked_at is None:
        key.is_active = False
        key.revoked_at = key.revoked_at or now or utcnow()
        log.info("Open311 key %s (%s) revoked", key.id, key.key_prefix)
    return key


def find_active_key(plain: str) -> ApiKey | None:
    """The active key with this value, if any."""
    return db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == hash_key(plain),
                                                     ApiKey.is_active.is_(True)))


def given_key() -> str | None:
    """The `api_key` the request carries, in the form body or the query string."""
    value = request.form.get("api_key") or request.args.get("api_key")
    return value.strip() or None if value else None


def request_api_key() -> ApiKey | None:
    """The active key this request carries, looked up once per request (views and limits).

    Kept in the WSGI environ, which lives exactly as long as the request (`g` belongs to the
    application context, which a test or a CLI command may keep across requests).
    """
    if ENVIRON_KEY not in request.environ:
        plain = given_key()
        request.environ[ENVIRON_KEY] = find_active_key(plain) if plain else None
    return request.environ[ENVIRON_KEY]


def mark_used(key_id: int, now: datetime | None = None) -> None:
    """Record when a key was last used (the caller commits)."""
    db.session.execute(sa.update(ApiKey).where(ApiKey.id == key_id)
                       .values(last_used_at=now or utcnow()))


def ensure_demo_keys(items: Iterable[Mapping[str, Any]],
                     count: Callable[[str, bool], None]) -> None:
    """Create the demo data's keys, or re-activate them; running it twice changes nothing."""
    for item in items:
        key = db.session.scalar(sa.select(ApiKey).where(ApiKey.key_hash == hash_key(item["key"])))
        if key is None:
            issue_key(item["name"], plain=item["key"])
            count("api_keys", True)
        elif not key.is_active or key.name != item["name"]:
            key.is_active, key.revoked_at, key.name = True, None, item["name"]
            count("api_keys", False)
