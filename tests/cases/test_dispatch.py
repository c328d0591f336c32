"""The outbox dispatcher: retries with backoff, gives up cleanly, never sends twice."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy.orm import Session

from reports_app.extensions import db
from reports_app.models import OutboxMessage
from reports_app.workflow_context import app_calendar
from tests.factories import make_user
from workflows.channels import Delivery, DeliveryFailed
from workflows.dispatch import (
    DispatchSettings,
    backoff_delay,
    claim_batch,
    dispatch_outbox,
)
from workflows.jobs import JobContext, declared_jobs
from workflows.notifications import enqueue
from workflows.roles import Role

T0 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
CONFIG = {"NOTIFY_BACKOFF_SECONDS": 30, "NOTIFY_BACKOFF_MAX_SECONDS": 3600,
          "NOTIFY_MAX_ATTEMPTS": 4, "NOTIFY_BATCH_SIZE": 20}


class FakeChannel:
    """Fails the first `failures` sends (or raises `error`), then delivers; records everything."""

    def __init__(self, name: str = "fake", failures: int = 0,
                 error: Exception | None = None) -> None:
        self.name = name
        self.failures = failures
        self.error = error or DeliveryFailed("gateway answered HTTP 503")
        self.attempts: list[tuple[str, datetime]] = []
        self.delivered: list[Delivery] = []

    def send(self, delivery: Delivery, now: datetime) -> None:
        self.attempts.append((delivery.key, now))
        if len(self.attempts) <= self.failures:
            raise self.error
        self.delivered.append(delivery)


def _ctx(now: datetime, **config) -> JobContext:
    return JobContext(now=now, calendar=app_calendar(), config={**CONFIG, **config})


def _queue(count: int = 1, *, language: str = "vi") -> list[OutboxMessage]:
    """Messages queued at T0 as an action would queue them."""
    user = make_user(Role.CITIZEN, language=language)
    with time_machine.travel(T0, tick=False):
        for n in range(count):
            enqueue(db.session, dedupe_key=f"test:{user.id}:{n}", topic="case_updated",
                    case=None, user=user, values={"code": f"PA-2611-000{n}"},
                    body={"vi": "Có cập nhật", "en": "There is news"})
        db.session.commit()
    return list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))


def _reload(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def test_fails_twice_then_succeeds_with_backoff(app):
    """Each failure is counted and retried later, doubling the wait; success marks it sent."""
    [message] = _queue()
    channel = FakeChannel(failures=2)
    rng = random.Random(7)
    settings = DispatchSettings.from_config(CONFIG)

    first = dispatch_outbox(db.session, _ctx(T0), channels={"fake": channel}, rng=rng)
    assert (first.claimed, first.sent, first.retried) == (1, 0, 1)
    row = _reload(message.id)
    assert (row.status, row.attempts, row.channel) == ("pending", 1, "fake")
    assert row.last_error == "DeliveryFailed: gateway answered HTTP 503"
    wait = row.next_attempt_at - T0
    assert timedelta(seconds=15) <= wait <= timedelta(seconds=30)
    assert wait == backoff_delay(1, settings, random.Random(7))

    # Not due yet: nothing happens.
    early = dispatch_outbox(db.session, _ctx(row.next_attempt_at - timedelta(seconds=1)),
                            channels={"fake": channel}, rng=rng)
    assert early.claimed == 0
    assert len(channel.attempts) == 1

    t1 = row.next_attempt_at
    dispatch_outbox(db.session, _ctx(t1), channels={"fake": channel}, rng=rng)
    row = _reload(message.id)
    assert (row.status, row.attempts) == ("pending", 2)
    assert timedelta(seconds=30) <= row.next_attempt_at - t1 <= timedelta(seconds=60)

    t2 = row.next_attempt_at
    third = dispatch_outbox(db.session, _ctx(t2), channels={"fake": channel}, rng=rng)
    assert third.sent == 1
    row = _reload(message.id)
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 3, t2, None)
    assert [at for _key, at in channel.attempts] == [T0, t1, t2]
    assert channel.delivered[0].payload["body"] == "Có cập nhật"


def test_a_sent_message_is_never_sent_again(app):
    """Once marked sent, later runs leave it alone."""
    [message] = _queue()
    channel = FakeChannel()
    for hours in (0, 1, 24, 24 * 30):
        dispatch_outbox(db.session, _ctx(T0 + timedelta(hours=hours)),
                        channels={"fake": channel})
    assert len(channel.attempts) == 1
    assert _reload(message.id).status == "sent"


@pytest.mark.parametrize("error", [RuntimeError("bug in the channel"),
                                   ConnectionRefusedError("gateway down"),
                                   TimeoutError("timed out")])
def test_a_channel_that_raises_is_retried(app, error):
    """Any exception from a channel is a failed attempt, recorded and retried, not a crash."""
    [message] = _queue()
    result = dispatch_outbox(db.session, _ctx(T0), channels={"fake": FakeChannel(
        failures=1, error=error)})
    assert result.retried == 1
    row = _reload(message.id)
    assert row.status == "pending"
    assert row.last_error.startswith(type(error).__name__)
    assert row.next_attempt_at > T0


def test_gives_up_after_max_attempts_and_keeps_the_message(app):
    """After NOTIFY_MAX_ATTEMPTS failures the message is `failed`, kept for inspection."""
    [message] = _queue()
    channel = FakeChannel(failures=100)
    now = T0
    for _ in range(4):
        dispatch_outbox(db.session, _ctx(now), channels={"fake": channel})
        now = _reload(message.id).next_attempt_at
    row = _reload(message.id)
    assert (row.status, row.attempts) == ("failed", 4)
    assert row.last_error
    later = dispatch_outbox(db.session, _ctx(T0 + timedelta(days=30)),
                            channels={"fake": channel})
    assert later.claimed == 0
    assert len(channel.attempts) == 4


def test_backoff_doubles_up_to_the_cap_with_jitter():
    """The wait doubles per attempt, is capped, and varies between half and all of it."""
    settings = DispatchSettings(backoff_base=timedelta(seconds=30),
                                backoff_max=timedelta(minutes=10))
    rng = random.Random(1)
    for attempts, raw in [(1, 30), (2, 60), (3, 120), (5, 480), (6, 600), (20, 600)]:
        for _ in range(20):
            wait = backoff_delay(attempts, settings, rng).total_seconds()
            assert raw / 2 <= wait <= raw
    waits = {backoff_delay(3, settings, rng) for _ in range(20)}
    assert len(waits) > 1  # jitter spreads retries out


def test_every_configured_channel_gets_its_own_copy(app):
    """With two channels, each delivers once; a failure on one never repeats the other."""
    [message] = _queue()
    log_like = FakeChannel("first")
    flaky = FakeChannel("second", failures=1)
    channels = {"first": log_like, "second": flaky}
    dispatch_outbox(db.session, _ctx(T0), channels=channels)
    rows = list(db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)))
    assert [(r.channel, r.status) for r in rows] == [("first", "sent"), ("second", "pending")]
    assert rows[1].dedupe_key == f"{message.dedupe_key}@second"
    dispatch_outbox(db.session, _ctx(T0 + timedelta(hours=1)), channels=channels)
    assert len(log_like.attempts) == 1
    assert len(flaky.delivered) == 1
    assert {r.status for r in db.session.scalars(sa.select(OutboxMessage))} == {"sent"}


def test_a_channel_no_longer_configured_is_a_failed_attempt(app):
    """A message bound to a channel that was switched off waits and retries, it is not lost."""
    [message] = _queue()
    message.channel = "sms"
    db.session.commit()
    result = dispatch_outbox(db.session, _ctx(T0), channels={"fake": FakeChannel()})
    assert result.retried == 1
    assert "not configured" in _reload(message.id).last_error


def test_no_channels_leaves_messages_queued(app):
    """With NOTIFY_CHANNELS empty nothing is claimed, so nothing is lost."""
    [message] = _queue()
    result = dispatch_outbox(db.session, _ctx(T0, NOTIFY_CHANNELS=""))
    assert result.claimed == 0
    row = _reload(message.id)
    assert (row.status, row.attempts) == ("pending", 0)


def test_a_claimed_message_is_leased(app):
    """While one dispatcher holds a batch, another finds nothing to do."""
    _queue(3)
    settings = DispatchSettings.from_config(CONFIG)
    first = claim_batch(db.session, T0, settings, ["fake"])
    assert len(first) == 3
    assert claim_batch(db.session, T0, settings, ["fake"]) == []
    # A dispatcher that died mid-batch only delays its messages until the lease ends.
    assert len(claim_batch(db.session, T0 + settings.lease, settings, ["fake"])) == 3


def test_messages_go_out_in_small_batches(app):
    """Batches follow NOTIFY_BATCH_SIZE; one run handles several of them."""
    _queue(7)
    channel = FakeChannel()
    result = dispatch_outbox(db.session, _ctx(T0, NOTIFY_BATCH_SIZE=3),
                             channels={"fake": channel})
    assert (result.claimed, result.sent) == (7, 7)


def test_log_channel_is_the_default(app, caplog):
    """NOTIFY_CHANNELS defaults to `log`: the title goes to the log, in the user's language."""
    [message] = _queue(language="en")
    with caplog.at_level("INFO", logger="workflows.channels"):
        result = dispatch_outbox(db.session, JobContext(now=T0, calendar=app_calendar(),
                                                        config={}))
    assert result.sent == 1
    assert "Case PA-2611-0000 was updated" in caplog.text
    assert _reload(message.id).channel == "log"


def test_dispatch_is_a_declared_job(app):
    """The scheduler runs dispatch_outbox every 30 seconds."""
    job = next(j for j in declared_jobs() if j.id == "dispatch_outbox")
    assert job.run is dispatch_outbox
    assert (job.trigger, dict(job.trigger_args)) == ("interval", {"seconds": 30})


def test_the_scheduler_runs_it(app):
    """Through the scheduler's runner, with the app's config (log channel)."""
    from reports_app.scheduler import run_job

    [message] = _queue()
    job = next(j for j in declared_jobs() if j.id == "dispatch_outbox")
    run_job(app, job, T0)
    assert _reload(message.id).status == "sent"


@pytest.mark.postgres_only
def test_locked_messages_are_skipped_not_waited_for(app, is_postgres):
    """On PostgreSQL a second dispatcher skips rows another one holds (SKIP LOCKED)."""
    if not is_postgres:
        pytest.skip("row locks need PostgreSQL")
    messages = _queue(3)
    held = messages[0].id
    locked = threading.Event()
    release = threading.Event()
    engine = db.engine  # the thread has no app context of its own

    def hold_one() -> None:
        with Session(engine) as other:
            other.execute(sa.select(OutboxMessage).where(OutboxMessage.id == held)
                          .with_for_update())
            locked.set()
            release.wait(timeout=10)
            other.rollback()

    thread = threading.Thread(target=hold_one)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        channel = FakeChannel()
        result = dispatch_outbox(db.session, _ctx(T0), channels={"fake": channel})
        assert result.sent == 2
        assert held not in [d.message_id for d in channel.delivered]
    finally:
        release.set()
        thread.join(timeout=10)
    assert _reload(held).status == "pending"
    later = dispatch_outbox(db.session, _ctx(T0), channels={"fake": FakeChannel()})
    assert later.sent == 1
