"""Request ids, structured JSON logs and security headers on every response."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Flask, Response, g, has_request_context, request

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "geolocation=(self), camera=(), microphone=()",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id when there is a request."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = getattr(g, "request_id", None)
            entry["method"] = request.method
            entry["path"] = request.path
        for key in ("status", "duration_ms"):
            if hasattr(record, key):
                entry[key] = getattr(record, key)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(app: Flask) -> None:
    """JSON lines on stderr when LOG_FORMAT=json (production default), plain text otherwise."""
    fmt = app.config.get("LOG_FORMAT") or ("json" if app.config["APP_ENV"] == "production"
                                            else "text")
    root = logging.getLogger()
    if fmt == "json" and not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))


def init_request_hooks(app: Flask) -> None:
    """Give every request an id (the proxy's X-Request-ID if sane), time it, and harden headers."""
    access = logging.getLogger("reports_app.access")

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        response.headers["X-Request-ID"] = getattr(g, "request_id", "")
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        started = getattr(g, "started", None)
        if started is not None:
            access.info("%s %s %s", request.method, request.path, response.status_code,
                        extra={"status": response.status_code,
                               "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        return response
