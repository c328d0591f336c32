"""Configuration from environment variables, with embedded defaults under the instance folder."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

DEV_SECRET = "dev-only-secret-change-me-in-production-000000"  # noqa: S105 - refused in production


class ConfigError(RuntimeError):
    """The app cannot start safely with this configuration."""


def database_url(raw: str) -> str:
    """Use the psycopg 3 driver for plain postgres URLs (that is the driver we install)."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix) :]
    return raw


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(?::\d{1,5})?$")


def parse_origins(raw: str) -> list[str]:
    """CORS_ORIGINS: comma-separated origins (`https://app.example.vn`), or `*` for any."""
    origins = [part.strip().rstrip("/") for part in raw.split(",") if part.strip()]
    wrong = [o for o in origins if o != "*" and not _ORIGIN.match(o)]
    if wrong:
        raise ConfigError(f"CORS_ORIGINS: not an origin (scheme://host[:port]): {', '.join(wrong)}")
    return origins


def load_config(instance_path: str, env: os._Environ[str] | dict[str, str] | None = None) -> dict[str, Any]:
    """Build the Flask config mapping from the environment."""
    env = os.environ if env is None else env
    instance = Path(instance_path)
    environment = env.get("APP_ENV", env.get("FLASK_ENV", "development")).lower()
    db_url = env.get("DATABASE_URL") or f"sqlite:///{instance / 'reports.sqlite3'}"
    redis_prefix = env.get("REDIS_KEY_PREFIX", "reports_app")
    redis_timeout = float(env.get("REDIS_TIMEOUT_SECONDS", "1"))
    ping_after_idle = float(env.get("DB_PING_AFTER_IDLE_SECONDS", "10"))
    return {
        "APP_ENV": environment,
        "SECRET_KEY": env.get("SECRET_KEY") or env.get("JWT_SECRET_KEY") or DEV_SECRET,
        "JWT_SECRET_KEY": env.get("JWT_SECRET_KEY") or DEV_SECRET,
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=int(env.get("JWT_ACCESS_MINUTES", "15"))),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=int(env.get("JWT_REFRESH_DAYS", "30"))),
        "JWT_TOKEN_LOCATION": ["headers"],
        "SQLALCHEMY_DATABASE_URI": database_url(db_url),
        "PASSWORD_TIME_COST": int(env.get("PASSWORD_TIME_COST", "3")),
        "PASSWORD_MEMORY_KIB": int(env.get("PASSWORD_MEMORY_KIB", "65536")),
        # Ping a pooled connection only after it sat idle this long (0: before every use).
        "DB_PING_AFTER_IDLE_SECONDS": ping_after_idle,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": ping_after_idle <= 0},
        "MEDIA_STORAGE": env.get("MEDIA_STORAGE", "local"),
        "MEDIA_ROOT": env.get("MEDIA_ROOT") or str(instance / "media"),
        "S3_BUCKET": env.get("S3_BUCKET"),
        "S3_ENDPOINT_URL": env.get("S3_ENDPOINT_URL"),
        "S3_REGION": env.get("S3_REGION"),
        "S3_ACCESS_KEY_ID": env.get("S3_ACCESS_KEY_ID"),
        "S3_SECRET_ACCESS_KEY": env.get("S3_SECRET_ACCESS_KEY"),
        "S3_PREFIX": env.get("S3_PREFIX", ""),
        # Redis (issue 9): shared rate limits and idempotency locks for several instances.
        "REDIS_URL": env.get("REDIS_URL") or None,
        "REDIS_KEY_PREFIX": redis_prefix,
        "REDIS_TIMEOUT_SECONDS": redis_timeout,
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_STORAGE_URI": env.get("REDIS_URL") or "memory://",
        "RATELIMIT_STORAGE_OPTIONS": ratelimit_storage_options(env.get("REDIS_URL"), redis_prefix,
                                                               redis_timeout),
        # Redis unreachable: every process keeps counting on its own rather than failing requests.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "20/minute;200/hour"),
        "LOGIN_ACCOUNT_RATE_LIMIT": env.get("LOGIN_ACCOUNT_RATE_LIMIT", "10/minute"),
        "REGISTER_RATE_LIMIT": env.get("REGISTER_RATE_LIMIT", "10/hour"),
        "REPORT_RATE_LIMIT": env.get("REPORT_RATE_LIMIT", "30/hour"),
        "REPORT_ADDRESS_RATE_LIMIT": env.get("REPORT_ADDRESS_RATE_LIMIT", "120/hour"),
        # Cross-origin browser access to /api and /open311 (issue 10): none unless listed.
        "CORS_ORIGINS": parse_origins(env.get("CORS_ORIGINS", "")),
        "CORS_MAX_AGE": int(env.get("CORS_MAX_AGE", "600")),
        "LOGIN_LOCKOUT_ATTEMPTS": int(env.get("LOGIN_LOCKOUT_ATTEMPTS", "5")),
        "LOGIN_LOCKOUT_MINUTES": int(env.get("LOGIN_LOCKOUT_MINUTES", "15")),
        "PROXY_FIX_X_FOR": int(env.get("PROXY_FIX_X_FOR", "0")),
        "TIMEZONE": env.get("TIMEZONE", "Asia/Ho_Chi_Minh"),
        "OFFICE_HOURS": env.get("OFFICE_HOURS", "07:30-11:30,13:30-17:00"),
        "EXTRA_DAYS_OFF": env.get("EXTRA_DAYS_OFF", ""),
        "MAKEUP_WORKDAYS": env.get("MAKEUP_WORKDAYS", ""),
        "FEEDBACK_WINDOW_DAYS": int(env.get("FEEDBACK_WINDOW_DAYS", "7")),
        "STATS_PUBLIC_CACHE_SECONDS": int(env.get("STATS_PUBLIC_CACHE_SECONDS", "300")),
        "LOG_FORMAT": env.get("LOG_FORMAT", ""),
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO"),
        "DEFAULT_LANGUAGE": env.get("DEFAULT_LANGUAGE", "vi"),
        "PHONE_REGION": env.get("PHONE_REGION", "VN"),
        "SCHEDULER_ENABLED": _bool(env.get("SCHEDULER_ENABLED"), environment == "development"),
        "SCHEDULER_MISFIRE_GRACE_SECONDS": int(env.get("SCHEDULER_MISFIRE_GRACE_SECONDS", "30")),
        "SLA_SWEEP_BATCH_SIZE": int(env.get("SLA_SWEEP_BATCH_SIZE", "1000")),
        "SLA_DIGEST_AFTER": int(env.get("SLA_DIGEST_AFTER", "10")),
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(80 * 1024 * 1024))),
        # Citizen reports (issue 3): photo limits, idempotency, location checks, geocoder.
        "MAX_PHOTO_BYTES": int(env.get("MAX_PHOTO_BYTES", str(15 * 1024 * 1024))),
        "MAX_PHOTO_PIXELS": int(env.get("MAX_PHOTO_PIXELS", "50000000")),
        "MAX_PHOTOS": int(env.get("MAX_PHOTOS", "5")),
        "MEDIA_PUBLIC_URL": env.get("MEDIA_PUBLIC_URL", ""),
        "IDEMPOTENCY_TTL_HOURS": int(env.get("IDEMPOTENCY_TTL_HOURS", "24")),
        "IDEMPOTENCY_WAIT_SECONDS": float(env.get("IDEMPOTENCY_WAIT_SECONDS", "5")),
        "IDEMPOTENCY_LOCK_SECONDS": float(env.get("IDEMPOTENCY_LOCK_SECONDS", "60")),
        "MEDIA_ORPHAN_GRACE_MINUTES": int(env.get("MEDIA_ORPHAN_GRACE_MINUTES", "60")),
        "LOCATION_MISMATCH_M": float(env.get("LOCATION_MISMATCH_M", "500")),
        "GEOCODER": env.get("GEOCODER", "offline"),
        "NOMINATIM_URL": env.get("NOMINATIM_URL", "https://nominatim.openstreetmap.org"),
        "GEOCODER_TIMEOUT": float(env.get("GEOCODER_TIMEOUT", "2")),
        "GEOCODER_USER_AGENT": env.get("GEOCODER_USER_AGENT", "reports_app"),
        # Notifications (issue 4): channels by name, the signed webhook, retries.
        "NOTIFY_CHANNELS": env.get("NOTIFY_CHANNELS", "log"),
        "NOTIFY_WEBHOOK_URL": env.get("NOTIFY_WEBHOOK_URL", ""),
        "NOTIFY_WEBHOOK_SECRET": env.get("NOTIFY_WEBHOOK_SECRET", ""),
        "NOTIFY_WEBHOOK_TIMEOUT": float(env.get("NOTIFY_WEBHOOK_TIMEOUT", "5")),
        "NOTIFY_MAX_ATTEMPTS": int(env.get("NOTIFY_MAX_ATTEMPTS", "8")),
        "NOTIFY_BATCH_SIZE": int(env.get("NOTIFY_BATCH_SIZE", "20")),
        "NOTIFY_BACKOFF_SECONDS": float(env.get("NOTIFY_BACKOFF_SECONDS", "30")),
        "NOTIFY_BACKOFF_MAX_SECONDS": float(env.get("NOTIFY_BACKOFF_MAX_SECONDS", "21600")),
        # Open311 GeoReport v2 (issue 7): POSTs per client address (each key has its own limit),
        # and what the discovery document tells client developers.
        "OPEN311_ADDRESS_RATE_LIMIT": env.get("OPEN311_ADDRESS_RATE_LIMIT", "120/minute"),
        "OPEN311_CONTACT": env.get("OPEN311_CONTACT", ""),
        "OPEN311_KEY_SERVICE": env.get("OPEN311_KEY_SERVICE", ""),
        # Web console (issue 8): a tile layer only where the deployment has internet.
        "MAP_TILE_URL": env.get("MAP_TILE_URL", ""),
        "MAP_TILE_ATTRIBUTION": env.get("MAP_TILE_ATTRIBUTION", ""),
        "API_TITLE": "reports_app",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "JSON_SORT_KEYS": False,
    }


def ratelimit_storage_options(redis_url: str | None, prefix: str,
                              timeout: float) -> dict[str, Any]:
    """Options for the limits library's Redis storage: our key prefix and short timeouts."""
    if not redis_url:
        return {}
    # The prefix also covers the login lockout counters, which bypass flask-limiter's own prefix.
    return {"key_prefix": f"{prefix}:limits", "socket_timeout": timeout,
            "socket_connect_timeout": timeout}


def check_production(config: dict[str, Any]) -> None:
    """Refuse to serve production with a default or missing secret."""
    if config.get("APP_ENV") != "production":
        return
    for key in ("JWT_SECRET_KEY", "SECRET_KEY"):
        value = config.get(key)
        if not value or value == DEV_SECRET or len(str(value)) < 32:
            raise ConfigError(
                f"{key} must be set to a random value of at least 32 characters in production "
                f"(APP_ENV=production); refusing to start with a default or missing secret."
            )
