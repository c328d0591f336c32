"""Idempotency keys for submissions sent over weak links: a retry returns the first result.

The unique (user_id, key) row is inserted first, in its own short transaction, before any work:
the database decides which of two simultaneous retries runs. The winner stores its response in
the same transaction as the report it creates, so "report exists" and "response recorded" are one
fact. A loser waits briefly for the winner's response and replays it; if the winner is still
running after the wait it answers 409 `request_in_progress` with Retry-After. A request that fails
releases its key (only successful responses are kept), so the client may correct and retry.
A claim left by a crashed worker is taken over once it is older than the lock time.

With REDIS_URL set, issue #9 may move this to Redis; this database version stays the reference.
"""

from __future__ import annotations

import hashlib
import json
import logging
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
class Claim:
    """This request owns the key and must either record its response or release it."""

    row_id: int


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


def begin(session: Session, user_id: int, key: str, digest: str,
          settings: Settings = Settings()) -> Claim | Replay:
    """Claim the key for this request, or return the recorded response of the first one."""
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
        claim = Claim(row.id)
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return claim


def _delete(session: Session, row_id: int, condition: sa.ColumnElement[bool]) -> None:
    """Remove an expired or abandoned claim, if it still is one, in its own transaction."""
    session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.id == row_id, condition))
    session.commit()


def record(session: Session, claim: Claim, status: int, body: dict[str, Any],
           case_id: int | None) -> bool:
    """Store the response in the caller's transaction; False if the claim was lost meanwhile."""
    result = session.execute(
        sa.update(IdempotencyKey)
        .where(IdempotencyKey.id == claim.row_id, IdempotencyKey.response_status.is_(None))
        .values(response_status=status, response_body=body, case_id=case_id))
    return result.rowcount == 1


def release(session: Session, claim: Claim) -> None:
    """Give the key back after a failure, so a corrected retry may use it."""
    try:
        session.rollback()
        session.execute(sa.delete(IdempotencyKey).where(
            IdempotencyKey.id == claim.row_id, IdempotencyKey.response_status.is_(None)))
        session.commit()
    except Exception:
        session.rollback()
        log.exception("could not release idempotency key %s", claim.row_id)

