"""Idempotency keys for submissions sent over weak links: a retry returns the first result.

The database row of (user_id, key) is the source of truth: it holds the first response, written
in the same transaction as the report, so "report exists" and "response recorded" are one fact
and a retry after a crash can never make a second report. Only successful responses are kept: a
request that fails gives the key back, so the client may correct and retry.

Who may run a key's request meanwhile (the in-flight claim) is decided in one of two ways:

* database (no REDIS_URL): the row is inserted first, in its own short transaction, before any
  work; the unique index decides which of two simultaneous retries runs. A loser waits briefly for
  the winner's response and replays it; if the winner is still running after the wait it answers
  409 `request_in_progress` with Retry-After. A claim left by a crashed worker is taken over once
  it is older than the lock time.
* Redis (REDIS_URL set): the claim is a Redis lock (SET NX PX with a random token, deleted by
  compare-and-delete), so claiming and giving back cost no database transaction and a waiting
  retry polls Redis, not the database. The row is inserted only with the response, in the
  report's transaction; its unique index still turns any race the lock missed (the lock expired
  under a slow request, Redis restarted, an instance still in database mode) into a failed
  commit, never a second report. The response is also kept in Redis for replays that need no
  database read; every cached reply carries its expiry and is checked against the same clock.
  When Redis cannot be reached the request falls back to the database claim.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reports_app.db import utcnow
from reports_app.models import IdempotencyKey

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
"""How often a waiting retry looks for the first request's response."""


class IdempotencyError(Exception):
    """A retry key that cannot be honoured now; `code` is what the client switches on."""

    code = "idempotency_error"


class KeyReused(IdempotencyError):
    """The key came before with a different body (API: 422)."""

    code = "idempotency_key_reused"


class RequestInProgress(IdempotencyError):
    """The first request with this key is still running (API: 409 with Retry-After)."""

    code = "request_in_progress"

    def __init__(self, retry_after: int) -> None:
        self.retry_after = retry_after
        super().__init__("the first request with this key is still running")


@dataclass(frozen=True)
class Settings:
    """How long keys live, how long a retry waits, when a claim counts as abandoned."""

    ttl: timedelta = timedelta(hours=24)
    wait_seconds: float = 5.0
    lock_seconds: float = 60.0


@dataclass(frozen=True)
class SharedLocks:
    """Redis for claims and cached replies (REDIS_URL set): a client and the key prefix."""

    client: Any
    prefix: str

    def lock_key(self, user_id: int, key: str) -> str:
        """Held while one request runs the key."""
        return f"{self.prefix}:idempotency:{user_id}:{key}:lock"

    def reply_key(self, user_id: int, key: str) -> str:
        """The first response, cached after its transaction committed."""
        return f"{self.prefix}:idempotency:{user_id}:{key}:reply"


@dataclass(frozen=True)
class Claim:
    """This request owns the key and must either record its response or release it."""

    row_id: int | None = None
    """The database claim row (database mode); None when a Redis lock is the claim."""
    user_id: int = 0
    key: str = ""
    digest: str = ""
    shared: SharedLocks | None = None
    token: str | None = None
    """The Redis lock's value, so only its owner deletes it."""
    ttl: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class Replay:
    """The first request's response, to be sent again unchanged."""

    status: int
    body: dict[str, Any]
    case_id: int | None


def request_hash(fields: Iterable[tuple[str, str]], files: Iterable[tuple[str, bytes]]) -> str:
    """SHA-256 over the form fields (sorted) and each file's own SHA-256 (in order)."""
    canonical = {
        "fields": sorted([str(k), str(v)] for k, v in fields),
        "files": [[name, hashlib.sha256(data).hexdigest()] for name, data in files],
    }
    encoded = json.dumps(canonical, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()


_UNLOCK = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
"""Compare-and-delete: a request whose lock expired never deletes the next owner's lock."""


def begin(session: Session, user_id: int, key: str, digest: str,
          settings: Settings = Settings(), shared: SharedLocks | None = None) -> Claim | Replay:
    """Claim the key for this request, or return the recorded response of the first one."""
    if shared is not None:
        from redis.exceptions import RedisError  # loaded only with REDIS_URL, like the client

        try:
            return _begin_with_redis(session, user_id, key, digest, settings, shared)
        except RedisError as exc:
            session.rollback()
            log.warning("Redis unreachable for idempotency (%s); using the database claim", exc)
    return _begin_in_database(session, user_id, key, digest, settings)


def _begin_in_database(session: Session, user_id: int, key: str, digest: str,
                       settings: Settings) -> Claim | Replay:
    """The database claim: insert the row first; the unique index picks the winner."""
    deadline = time.monotonic() + settings.wait_seconds
    while True:
        now = utcnow()
        row = session.execute(
            sa.select(IdempotencyKey.id, IdempotencyKey.request_hash,
                      IdempotencyKey.response_status, IdempotencyKey.response_body,
                      IdempotencyKey.case_id, IdempotencyKey.created_at,
                      IdempotencyKey.expires_at)
            .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)).first()
        if row is None:
            claim = _insert(session, user_id, key, digest, now, settings.ttl)
            if claim is not None:
                return claim
            continue  # another request inserted it first: read what it left
        if row.expires_at <= now:
            _delete(session, row.id, IdempotencyKey.expires_at <= now)
            continue
        if row.request_hash != digest:
            session.rollback()
            raise KeyReused("this key was used with a different request body")
        if row.response_status is not None:
            session.rollback()
            return Replay(row.response_status, row.response_body or {}, row.case_id)
        if row.created_at <= now - timedelta(seconds=settings.lock_seconds):
            log.warning("idempotency key %s of user %s abandoned; taking it over", row.id, user_id)
            _delete(session, row.id, IdempotencyKey.response_status.is_(None))
            continue
        if time.monotonic() >= deadline:
            session.rollback()
            raise RequestInProgress(retry_after=max(1, round(settings.wait_seconds)))
        session.rollback()  # end the snapshot so the next read sees the winner's commit
        time.sleep(POLL_SECONDS)


def _insert(session: Session, user_id: int, key: str, digest: str, now: datetime,
            ttl: timedelta) -> Claim | None:
    """Insert the claim in its own transaction; None when a concurrent request won."""
    session.rollback()
    row = IdempotencyKey(user_id=user_id, key=key, request_hash=digest, created_at=now,
                         expires_at=now + ttl)
    session.add(row)
    try:
        session.flush()
        claim = Claim(row.id, user_id=user_id, key=key, digest=digest, ttl=ttl)
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return claim


def _delete(session: Session, row_id: int, condition: sa.ColumnElement[bool]) -> None:
    """Remove an expired or abandoned claim, if it still is one, in its own transaction."""
    session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == row_id, condition))
    session.commit()


def _begin_with_redis(session: Session, user_id: int, key: str, digest: str,
                      settings: Settings, shared: SharedLocks) -> Claim | Replay:
    """The Redis claim: a cached reply replays; else the lock's holder runs, after reading the row."""
    deadline = time.monotonic() + settings.wait_seconds
    lock_key = shared.lock_key(user_id, key)
    while True:
        cached = _cached_reply(shared, user_id, key, digest)
        if cached is not None:
            session.rollback()
            return cached
        token = secrets.token_hex(16)
        if shared.client.set(lock_key, token, nx=True, px=max(1, int(settings.lock_seconds * 1000))):
            claim = Claim(None, user_id=user_id, key=key, digest=digest, shared=shared,
                          token=token, ttl=settings.ttl)
            outcome = _stored_for_lock_holder(session, claim, settings)
            if outcome is not None:
                _unlock(claim)
                if isinstance(outcome, Replay):
                    return outcome
            else:
                return claim
        if time.monotonic() >= deadline:
            # The holder may have committed and then lost Redis before caching and unlocking.
            stored = _stored_reply(session, user_id, key, digest)
            if stored is not None:
                return stored
            raise RequestInProgress(retry_after=max(1, round(settings.wait_seconds)))
        session.rollback()  # hold no connection while waiting
        time.sleep(POLL_SECONDS)


class _Busy:
    """A database-mode claim of another instance is running the key."""


def _stored_for_lock_holder(session: Session, claim: Claim,
                            settings: Settings) -> Replay | _Busy | None:
    """What the database says once we hold the lock: a reply to replay, a busy claim, or nothing."""
    now = utcnow()
    row = session.execute(
        sa.select(IdempotencyKey.id, IdempotencyKey.request_hash, IdempotencyKey.response_status,
                  IdempotencyKey.response_body, IdempotencyKey.case_id,
                  IdempotencyKey.created_at, IdempotencyKey.expires_at)
        .where(IdempotencyKey.user_id == claim.user_id, IdempotencyKey.key == claim.key)).first()
    if row is None:
        session.rollback()
        return None
    if row.expires_at <= now:
        _delete(session, row.id, IdempotencyKey.expires_at <= now)
        return None
    if row.request_hash != claim.digest:
        session.rollback()
        _unlock(claim)
        raise KeyReused("this key was used with a different request body")
    if row.response_status is not None:
        session.rollback()
        replay = Replay(row.response_status, row.response_body or {}, row.case_id)
        _cache_reply(claim, replay, row.expires_at)
        return replay
    # A claim row without a response: an instance in database mode (or one that lost Redis).
    if row.created_at <= now - timedelta(seconds=settings.lock_seconds):
        log.warning("idempotency key %s of user %s abandoned; taking it over", row.id, claim.user_id)
        _delete(session, row.id, IdempotencyKey.response_status.is_(None))
        return None
    session.rollback()
    return _Busy()


def _stored_reply(session: Session, user_id: int, key: str, digest: str) -> Replay | None:
    """The committed response in the database, if there is one (KeyReused for another body)."""
    row = session.execute(
        sa.select(IdempotencyKey.request_hash, IdempotencyKey.response_status,
                  IdempotencyKey.response_body, IdempotencyKey.case_id, IdempotencyKey.expires_at)
        .where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key,
               IdempotencyKey.response_status.is_not(None),
               IdempotencyKey.expires_at > utcnow())).first()
    session.rollback()
    if row is None:
        return None
    if row.request_hash != digest:
        raise KeyReused("this key was used with a different request body")
    return Replay(row.response_status, row.response_body or {}, row.case_id)


def _cached_reply(shared: SharedLocks, user_id: int, key: str, digest: str) -> Replay | None:
    """The reply cached in Redis, unless it has expired by our clock."""
    raw = shared.client.get(shared.reply_key(user_id, key))
    if raw is None:
        return None
    cached = json.loads(raw)
    if datetime.fromisoformat(cached["expires_at"]) <= utcnow():
        return None
    if cached["hash"] != digest:
        raise KeyReused("this key was used with a different request body")
    return Replay(cached["status"], cached["body"], cached["case_id"])


def _cache_reply(claim: Claim, replay: Replay, expires_at: datetime) -> None:
    """Keep the committed reply in Redis for fast replays; a failure only costs a database read."""
    if claim.shared is None:
        return
    ttl_ms = int((expires_at - utcnow()).total_seconds() * 1000)
    if ttl_ms <= 0:
        return
    value = json.dumps({"hash": claim.digest, "status": replay.status, "body": replay.body,
                        "case_id": replay.case_id, "expires_at": expires_at.isoformat()},
                       ensure_ascii=False, default=str)
    from redis.exceptions import RedisError

    try:
        claim.shared.client.set(claim.shared.reply_key(claim.user_id, claim.key), value, px=ttl_ms)
    except RedisError as exc:
        log.warning("could not cache idempotency reply in Redis: %s", exc)


def _unlock(claim: Claim) -> None:
    """Delete our Redis lock if it is still ours; otherwise it expires by itself."""
    if claim.shared is None or claim.token is None:
        return
    from redis.exceptions import RedisError

    try:
        claim.shared.client.eval(_UNLOCK, 1, claim.shared.lock_key(claim.user_id, claim.key),
                                 claim.token)
    except RedisError as exc:
        log.warning("could not release idempotency lock in Redis: %s", exc)


def record(session: Session, claim: Claim, status: int, body: dict[str, Any],
           case_id: int | None) -> bool:
    """Store the response in the caller's transaction; False if the key was lost meanwhile."""
    if claim.row_id is None:
        # Redis mode: the row comes into being with the response; the unique index settles races.
        now = utcnow()
        session.add(IdempotencyKey(user_id=claim.user_id, key=claim.key, request_hash=claim.digest,
                                   response_status=status, response_body=body, case_id=case_id,
                                   created_at=now, expires_at=now + claim.ttl))
        try:
            session.flush()
        except IntegrityError:
            log.warning("idempotency key of user %s was recorded by another request", claim.user_id)
            return False
        return True
    result = session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.row_id, IdempotencyKey.response_status.is_(None))
        .values(response_status=status, response_body=body, case_id=case_id))
    return result.rowcount == 1


def finish(claim: Claim, status: int, body: dict[str, Any], case_id: int | None) -> None:
    """After the commit: cache the reply in Redis and drop the lock (nothing in database mode)."""
    if claim.shared is None:
        return
    _cache_reply(claim, Replay(status, body, case_id), utcnow() + claim.ttl)
    _unlock(claim)


def release(session: Session, claim: Claim) -> None:
    """Give the key back after a failure, so a corrected retry may use it."""
    if claim.row_id is None:
        _unlock(claim)
        return
    try:
        session.rollback()
        session.execute(sa.delete(IdempotencyKey).where(
            IdempotencyKey.id == claim.row_id, IdempotencyKey.response_status.is_(None)))
        session.commit()
    except Exception:
        session.rollback()
        log.exception("could not release idempotency key %s", claim.row_id)
