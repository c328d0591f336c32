"""Delivering the outbox: every queued notification reaches its channel, once, eventually.

Two short transactions per message, so several dispatchers (processes) can run at once:

1. *Claim* a small batch of due messages (`FOR UPDATE SKIP LOCKED` on PostgreSQL), count the
   attempt and push `next_attempt_at` out by a lease, then commit. Nobody else picks them up
   while the lease runs, and a dispatcher that dies mid-batch only delays its messages.
2. *Deliver* each one under its row lock: the channel sends, and the message is marked `sent`
   in the same transaction right after; a failure schedules the next attempt with exponential
   backoff and jitter, and after `max_attempts` the message is kept as `failed` for inspection.

A message is never lost (it stays in the table until sent or given up) and never sent again
once marked sent. A crash between a channel's success and the commit can repeat that one
message, so deliveries carry a stable `key` receivers use to drop repeats.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.models import OutboxMessage, User
from workflows.channels import Channel, Delivery, DeliveryFailed, channels_from_config
from workflows.jobs import JobContext

log = logging.getLogger(__name__)

PENDING = "pending"
SENT = "sent"
FAILED = "failed"
DEFAULT_CHANNEL = "default"
"""Queued without a channel: delivered through every configured channel (one row each)."""

_KEY_LENGTH = 200


@dataclass(frozen=True)
class DispatchSettings:
    """Batch size, attempts and backoff; from NOTIFY_* settings, with safe defaults."""

    batch_size: int = 20
    max_batches: int = 10
    max_attempts: int = 8
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=6)
    lease: timedelta = timedelta(minutes=5)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DispatchSettings:
        """Read NOTIFY_BATCH_SIZE, NOTIFY_MAX_ATTEMPTS, NOTIFY_BACKOFF_SECONDS, ..."""
        default = cls()

        def number(key: str, fallback: float) -> float:
            value = config.get(key)
            return fallback if value in (None, "") else float(value)

        batch = max(1, int(number("NOTIFY_BATCH_SIZE", default.batch_size)))
        timeout = number("NOTIFY_WEBHOOK_TIMEOUT", 5.0)
        # The lease must outlast a whole batch of slow deliveries.
        lease = max(default.lease, timedelta(seconds=batch * timeout + 60))
        return cls(
            batch_size=batch,
            max_batches=max(1, int(number("NOTIFY_MAX_BATCHES", default.max_batches))),
            max_attempts=max(1, int(number("NOTIFY_MAX_ATTEMPTS", default.max_attempts))),
            backoff_base=timedelta(seconds=number(
                "NOTIFY_BACKOFF_SECONDS", default.backoff_base.total_seconds())),
            backoff_max=timedelta(seconds=number(
                "NOTIFY_BACKOFF_MAX_SECONDS", default.backoff_max.total_seconds())),
            lease=lease,
        )


@dataclass
class DispatchResult:
    """What one run did, for the log and the tests."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff_delay(attempts: int, settings: DispatchSettings, rng: random.Random) -> timedelta:
    """Wait before attempt `attempts + 1`: base·2^(attempts-1), capped, then "equal jitter"
    (between half and all of it) so that a gateway coming back is not hit by every retry at once.
    """
    raw = min(settings.backoff_max, settings.backoff_base * 2 ** max(attempts - 1, 0))
    return raw / 2 + raw / 2 * rng.random()


def _channel_key(key: str, channel: str) -> str:
    """The dedupe key of a message's copy for one more channel (fits the column)."""
    suffix = f"@{channel}"
    if len(key) + len(suffix) > _KEY_LENGTH:
        key = hashlib.sha256(key.encode()).hexdigest()
    return key + suffix


def _due(session: Session, now: datetime, limit: int) -> sa.Select[Any]:
    stmt = (sa.select(OutboxMessage)
            .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


def claim_batch(session: Session, now: datetime, settings: DispatchSettings,
                channel_names: list[str]) -> list[int]:
    """Take up to a batch of due messages for this dispatcher and commit the claim."""
    messages = list(session.scalars(_due(session, now, settings.batch_size)))
    claimed: list[OutboxMessage] = []
    for message in messages:
        if message.channel == DEFAULT_CHANNEL and channel_names:
            message.channel = channel_names[0]
            for name in channel_names[1:]:
                copy = OutboxMessage(
                    dedupe_key=_channel_key(message.dedupe_key, name), topic=message.topic,
                    case_id=message.case_id, recipient_user_id=message.recipient_user_id,
                    recipient_agency_id=message.recipient_agency_id, language=message.language,
                    channel=name, payload=message.payload, status=PENDING, attempts=0,
                    next_attempt_at=now, created_at=message.created_at)
                session.add(copy)
                claimed.append(copy)
        claimed.append(message)
    for message in claimed:
        message.attempts += 1
        message.next_attempt_at = now + settings.lease
    session.flush()
    ids = [m.id for m in claimed]
    session.commit()
    return ids


def recipients_of(session: Session, message_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Where each claimed message goes: the account's contact (one query for the batch)."""
    rows = session.execute(
        sa.select(OutboxMessage.id, OutboxMessage.recipient_user_id,
                  OutboxMessage.recipient_agency_id, User.phone, User.email)
        .outerjoin(User, User.id == OutboxMessage.recipient_user_id)
        .where(OutboxMessage.id.in_(message_ids)))
    recipients: dict[int, dict[str, Any]] = {}
    for row in rows:
        recipient: dict[str, Any] = {}
        if row.recipient_user_id is not None:
            recipient = {"user_id": row.recipient_user_id, "phone": row.phone,
                         "email": row.email}
        if row.recipient_agency_id is not None:
            recipient["agency_id"] = row.recipient_agency_id
        recipients[row.id] = recipient
    session.rollback()  # a read only: end it before the deliveries
    return recipients


def _delivery(message: OutboxMessage, recipient: Mapping[str, Any]) -> Delivery:
    return Delivery(message_id=message.id, key=message.dedupe_key, topic=message.topic,
                    language=message.language, payload=message.payload or {},
                    created_at=message.created_at, recipient=recipient)


def deliver_one(session: Session, message_id: int, channels: Mapping[str, Channel],
                now: datetime, settings: DispatchSettings, rng: random.Random,
                recipient: Mapping[str, Any] | None = None) -> str:
    """Send one claimed message and record the outcome in the same transaction.

    The row stays locked while the channel sends, so no other dispatcher can take it even
    if this one outlives its lease.
    """
    stmt = sa.select(OutboxMessage).where(OutboxMessage.id == message_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    message = session.scalar(stmt.execution_options(populate_existing=True))
    if message is None or message.status != PENDING:
        session.rollback()
        return "skipped"
    try:
        channel = channels.get(message.channel)
        if channel is None:
            raise DeliveryFailed(f"channel {message.channel!r} is not configured")
        channel.send(_delivery(message, recipient or {}), now)
    except Exception as exc:
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= settings.max_attempts:
            message.status = FAILED
            outcome = "failed"
            log.warning("outbox %s failed for good after %s attempts: %s", message.id,
                        message.attempts, message.last_error)
        else:
            message.next_attempt_at = now + backoff_delay(message.attempts, settings, rng)
            outcome = "retried"
            log.info("outbox %s attempt %s failed (%s); next at %s", message.id,
                     message.attempts, message.last_error, message.next_attempt_at.isoformat())
        session.commit()
        return outcome
    message.status = SENT
    message.sent_at = now
    message.last_error = None
    session.commit()
    return "sent"


_RNG = random.Random()  # noqa: S311 - jitter, not security


def dispatch_outbox(session: Session, ctx: JobContext, *,
                    channels: Mapping[str, Channel] | None = None,
                    rng: random.Random | None = None) -> DispatchResult:
    """The scheduled job: deliver due messages in small batches; commits per message."""
    channels = channels if channels is not None else channels_from_config(ctx.config)
    settings = DispatchSettings.from_config(ctx.config)
    rng = rng or _RNG
    result = DispatchResult()
    if not channels:
        log.warning("NOTIFY_CHANNELS is empty: notifications stay queued")
        return result
    names = list(channels)
    for _ in range(settings.max_batches):
        ids = claim_batch(session, ctx.now, settings, names)
        if not ids:
            break
        result.claimed += len(ids)
        recipients = recipients_of(session, ids)
        for message_id in ids:
            outcome = deliver_one(session, message_id, channels, ctx.now, settings, rng,
                                  recipients.get(message_id))
            if outcome == "sent":
                result.sent += 1
            elif outcome == "retried":
                result.retried += 1
            elif outcome == "failed":
                result.failed += 1
    log.info("dispatch_outbox at %s: claimed %s, sent %s, retried %s, failed %s",
             ctx.now.isoformat(), result.claimed, result.sent, result.retried, result.failed)
    return result
