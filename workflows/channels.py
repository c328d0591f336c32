"""Notification channels: plug-ins that deliver one outbox message, chosen by NOTIFY_CHANNELS.

A channel either returns (delivered) or raises (the dispatcher retries later). Two ship here:
`log` for development and a signed `webhook` towards the mobile push gateway or the Zalo/SMS
relays: the JSON body is signed with HMAC-SHA256 so the receiver can trust it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Signature"
TIMESTAMP_HEADER = "X-Timestamp"
MESSAGE_ID_HEADER = "X-Message-Id"
MIN_SECRET_LENGTH = 32


class DeliveryFailed(Exception):
    """The channel could not deliver this time; the dispatcher schedules another attempt."""


@dataclass(frozen=True)
class Delivery:
    """One message as a channel sees it: who gets what, in which language."""

    message_id: int
    key: str  # stable per message: receivers drop a repeat after a crash between send and commit
    topic: str
    language: str
    payload: Mapping[str, Any]
    created_at: datetime
    recipient: Mapping[str, Any] = field(default_factory=dict)


class Channel(Protocol):
    """A way to reach people; `send` returns when delivered and raises otherwise."""

    name: str

    def send(self, delivery: Delivery, now: datetime) -> None:
        """Deliver one message or raise."""


class LogChannel:
    """Development channel: the message goes to the log (titles carry no personal data)."""

    name = "log"

    def send(self, delivery: Delivery, now: datetime) -> None:
        """Log the message."""
        log.info("notify %s [%s] to %s: %s", delivery.key, delivery.language,
                 delivery.recipient.get("user_id") or delivery.recipient.get("agency_id"),
                 delivery.payload.get("title"))


Transport = Callable[[str, bytes, Mapping[str, str], float], int]
"""Sends `(url, body, headers, timeout)` as a POST and returns the HTTP status."""


def urllib_transport(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST with the standard library; an HTTP error status is returned, not raised."""
    # The scheme is checked to be http(s) when the channel is built.
    req = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310
            response.read(65536)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def sign(secret: str, body: bytes) -> str:
    """The signature header value: `sha256=<hex HMAC-SHA256 of the raw body>`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), header)


class WebhookChannel:
    """POST the message as JSON, signed; any 2xx is delivered, anything else is retried."""

    name = "webhook"

    def __init__(self, url: str, secret: str, *, timeout: float = 5.0,
                 transport: Transport = urllib_transport) -> None:
        scheme = urllib.parse.urlsplit(url).scheme
        if scheme not in ("http", "https"):
            raise ValueError("NOTIFY_WEBHOOK_URL must be an http(s) URL")
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"NOTIFY_WEBHOOK_SECRET must have at least {MIN_SECRET_LENGTH} "
                             "characters")
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.transport = transport

    def body(self, delivery: Delivery, now: datetime) -> bytes:
        """The JSON document sent; its timestamp is inside the signed body."""
        document = {
            "id": delivery.message_id, "key": delivery.key, "topic": delivery.topic,
            "language": delivery.language, "recipient": dict(delivery.recipient),
            "payload": dict(delivery.payload), "created_at": delivery.created_at.isoformat(),
            "timestamp": int(now.timestamp()),
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                          sort_keys=True).encode()

    def send(self, delivery: Delivery, now: datetime) -> None:
        """Sign and post; raise DeliveryFailed on a non-2xx answer (network errors propagate)."""
        body = self.body(delivery, now)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   SIGNATURE_HEADER: sign(self.secret, body),
                   TIMESTAMP_HEADER: str(int(now.timestamp())),
                   MESSAGE_ID_HEADER: delivery.key,
                   "User-Agent": "reports_app-notify/1"}
        status = self.transport(self.url, body, headers, self.timeout)
        if not 200 <= status < 300:
            raise DeliveryFailed(f"webhook answered HTTP {status}")


ChannelFactory = Callable[[Mapping[str, Any]], Channel]

_FACTORIES: dict[str, ChannelFactory] = {}


def register_channel(name: str, factory: ChannelFactory) -> None:
    """Make a channel available to NOTIFY_CHANNELS under `name` (plug-ins call this)."""
    _FACTORIES[name] = factory


def _webhook(config: Mapping[str, Any]) -> Channel:
    url = str(config.get("NOTIFY_WEBHOOK_URL") or "")
    secret = str(config.get("NOTIFY_WEBHOOK_SECRET") or "")
    timeout = float(config.get("NOTIFY_WEBHOOK_TIMEOUT") or 5.0)
    return WebhookChannel(url, secret, timeout=timeout)


register_channel("log", lambda _config: LogChannel())
register_channel("webhook", _webhook)


def channel_names(config: Mapping[str, Any]) -> list[str]:
    """The configured channel names, in order, each once (`NOTIFY_CHANNELS`, default `log`)."""
    raw = config.get("NOTIFY_CHANNELS", "log")
    items = raw.split(",") if isinstance(raw, str) else list(raw or [])
    names: list[str] = []
    for item in items:
        name = str(item).strip().lower()
        if name and name not in names:
            names.append(name)
    return names


def channels_from_config(config: Mapping[str, Any]) -> dict[str, Channel]:
    """Build the configured channels; a name nobody registered is a configuration error."""
    channels: dict[str, Channel] = {}
    for name in channel_names(config):
        factory = _FACTORIES.get(name)
        if factory is None:
            raise ValueError(f"NOTIFY_CHANNELS names an unknown channel {name!r}; known: "
                             f"{', '.join(sorted(_FACTORIES))}")
        channels[name] = factory(config)
    return channels
