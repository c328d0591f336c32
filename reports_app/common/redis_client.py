"""The app's Redis connection (REDIS_URL), shared by every instance of a deployment, or none."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reports_app.common.app_cache import per_app

if TYPE_CHECKING:
    import redis

_NONE = object()
"""Cached when REDIS_URL is unset, so the config is read once per app."""


def _build(config: Mapping[str, Any]) -> Any:
    url = config.get("REDIS_URL")
    if not url:
        return _NONE
    import redis  # optional backend: loaded only with REDIS_URL

    timeout = float(config.get("REDIS_TIMEOUT_SECONDS") or 1)
    # Short timeouts: Redis only speeds things up, so a stalled Redis must not stall requests.
    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout,
                                health_check_interval=30)


def app_redis() -> redis.Redis | None:
    """The Redis client built once per app, or None when REDIS_URL is unset."""
    client = per_app("redis_client", _build)
    return None if client is _NONE else client


def prefixed(config: Mapping[str, Any], *parts: object) -> str:
    """A key under REDIS_KEY_PREFIX, so deployments (and test runs) sharing one Redis never meet."""
    return ":".join([str(config.get("REDIS_KEY_PREFIX") or "reports_app"), *map(str, parts)])
