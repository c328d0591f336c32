"""Notification channels: the signed webhook (against a local server) and the configuration."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa

from reports_app.db import utcnow
from reports_app.extensions import db
from reports_app.models import OutboxMessage
from reports_app.workflow_context import app_calendar
from tests.factories import make_user
from workflows import channels as channels_module
from workflows.channels import (
    Delivery,
    DeliveryFailed,
    LogChannel,
    WebhookChannel,
    channel_names,
    channels_from_config,
    register_channel,
    sign,
    verify,
)
from workflows.dispatch import dispatch_outbox
from workflows.jobs import JobContext
from workflows.notifications import enqueue
from workflows.roles import Role

SECRET = "s3cret-for-the-push-gateway-0123456789"
NOW = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)


@dataclass
class Received:
    """What the fake gateway got, and what it answers."""

    status: int = 200
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@contextmanager
def gateway(status: int = 200) -> Iterator[tuple[str, Received]]:
    """A push gateway on 127.0.0.1 that records requests; stopped on exit."""
    received = Received(status=status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.requests.append((dict(self.headers), body))
            self.send_response(received.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: object) -> None:
            """Keep the test output quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 5
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/notify", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _delivery() -> Delivery:
    return Delivery(message_id=7, key="event:3:user:4", topic="status_changed", language="vi",
                    payload={"title": "Phản ánh PA-2611-7KQ3: Đã xử lý", "case_id": 3},
                    created_at=NOW, recipient={"user_id": 4})


def test_webhook_posts_signed_json(app):
    """The body is JSON; X-Signature is sha256=HMAC-SHA256(secret, raw body); 2xx delivers."""
    with gateway() as (url, received):
        WebhookChannel(url, SECRET, timeout=5).send(_delivery(), NOW)
    [(headers, body)] = received.requests
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Signature"] == expected
    assert verify(SECRET, body, headers["X-Signature"])
    assert not verify("another-secret-of-enough-length-000000", body, headers["X-Signature"])
    assert headers["X-Timestamp"] == str(int(NOW.timestamp()))
    assert headers["X-Message-Id"] == "event:3:user:4"
    assert headers["Content-Type"].startswith("application/json")
    document = json.loads(body)
    assert document["payload"]["title"] == "Phản ánh PA-2611-7KQ3: Đã xử lý"
    assert document["timestamp"] == int(NOW.timestamp())
    assert (document["id"], document["key"], document["recipient"]) == (
        7, "event:3:user:4", {"user_id": 4})


@pytest.mark.parametrize("status", [301, 400, 404, 500, 503])
def test_webhook_non_2xx_is_a_failed_delivery(app, status):
    """Anything but 2xx means the gateway did not take it: retry later."""
    with gateway(status) as (url, _received), pytest.raises(DeliveryFailed, match=str(status)):
        WebhookChannel(url, SECRET, timeout=5).send(_delivery(), NOW)


def test_webhook_unreachable_raises(app):
    """A closed port is an exception the dispatcher turns into a retry."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(urllib.error.URLError, match="refused"):
        WebhookChannel(f"http://127.0.0.1:{port}/x", SECRET, timeout=2).send(_delivery(), NOW)


def test_injected_transport_sees_what_would_be_sent():
    """The transport is a plain function, so tests need no network."""
    calls = []

    def transport(url, body, headers, timeout):
        calls.append((url, body, headers, timeout))
        return 204

    WebhookChannel("https://push.example.test/hook", SECRET, timeout=3,
                   transport=transport).send(_delivery(), NOW)
    [(url, body, headers, timeout)] = calls
    assert (url, timeout) == ("https://push.example.test/hook", 3)
    assert headers["X-Signature"] == sign(SECRET, body)


@pytest.mark.parametrize(
    ("url", "secret", "problem"),
    [("ftp://push.example.test", SECRET, "http"), ("", SECRET, "http"),
     ("file:///etc/passwd", SECRET, "http"), ("https://push.example.test", "short", "32")],
)
def test_webhook_configuration_is_checked(url, secret, problem):
    """Only http(s) URLs, and a secret long enough to mean something."""
    with pytest.raises(ValueError, match=problem):
        WebhookChannel(url, secret)


def test_channels_from_config():
    """NOTIFY_CHANNELS picks channels by name, in order, each once; unknown names fail loudly."""
    assert channel_names({}) == ["log"]
    assert channel_names({"NOTIFY_CHANNELS": " Webhook , log,webhook"}) == ["webhook", "log"]
    assert channel_names({"NOTIFY_CHANNELS": ""}) == []
    built = channels_from_config({"NOTIFY_CHANNELS": "log,webhook",
                                  "NOTIFY_WEBHOOK_URL": "https://push.example.test",
                                  "NOTIFY_WEBHOOK_SECRET": SECRET})
    assert isinstance(built["log"], LogChannel)
    assert isinstance(built["webhook"], WebhookChannel)
    with pytest.raises(ValueError, match="unknown channel 'pigeon'"):
        channels_from_config({"NOTIFY_CHANNELS": "pigeon"})
    with pytest.raises(ValueError, match="NOTIFY_WEBHOOK_URL"):
        channels_from_config({"NOTIFY_CHANNELS": "webhook"})


def test_a_plug_in_channel_can_be_registered(monkeypatch):
    """New channels (Zalo, SMS) plug in by name without touching the dispatcher."""
    monkeypatch.setattr(channels_module, "_FACTORIES", dict(channels_module._FACTORIES))
    sent = []

    class Pigeon:
        name = "pigeon"

        def send(self, delivery: Delivery, now: datetime) -> None:
            sent.append(delivery.key)

    register_channel("pigeon", lambda _config: Pigeon())
    channel = channels_from_config({"NOTIFY_CHANNELS": "pigeon"})["pigeon"]
    channel.send(_delivery(), NOW)
    assert sent == ["event:3:user:4"]


def test_dispatcher_delivers_through_the_webhook(app):
    """End to end: a queued message reaches the gateway, signed, in the recipient's language."""
    user = make_user(Role.CITIZEN, language="en", phone="0911222333")
    enqueue(db.session, dedupe_key="test:webhook", topic="case_updated", case=None, user=user,
            values={"code": "PA-2611-7KQ3"}, body={"vi": "Có cập nhật", "en": "There is news"})
    db.session.commit()
    with gateway() as (url, received):
        config = {"NOTIFY_CHANNELS": "webhook", "NOTIFY_WEBHOOK_URL": url,
                  "NOTIFY_WEBHOOK_SECRET": SECRET, "NOTIFY_WEBHOOK_TIMEOUT": 5}
        result = dispatch_outbox(db.session, JobContext(now=utcnow(), calendar=app_calendar(),
                                                        config=config))
    assert result.sent == 1
    [(headers, body)] = received.requests
    assert verify(SECRET, body, headers["X-Signature"])
    document = json.loads(body)
    assert document["language"] == "en"
    assert document["payload"]["title"] == "Case PA-2611-7KQ3 was updated"
    assert document["payload"]["body"] == "There is news"
    assert document["recipient"]["phone"] == "+84911222333"
    message = db.session.scalar(sa.select(OutboxMessage))
    assert (message.status, message.channel) == ("sent", "webhook")
