"""Cross-origin access for browser apps on other sites (flask-cors), configured by CORS_ORIGINS.

Default: no origin is listed, no CORS header is ever sent, and browsers keep other sites'
scripts out of the API. Listed origins may call /api/ and /open311/ with a bearer token (no
cookies: credentials are never allowed) and read the headers clients need for retries.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_cors import CORS

RESOURCES = (r"/api/*", r"/open311/*")
PREFIXES = ("/api/", "/open311/")
ALLOWED_HEADERS = ["Authorization", "Content-Type", "Accept-Language", "Idempotency-Key",
                   "If-None-Match", "X-Request-ID"]
EXPOSED_HEADERS = ["Retry-After", "Idempotent-Replayed", "Location", "ETag", "X-Request-ID",
                   "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
METHODS = ["GET", "POST", "PATCH", "DELETE"]


def init_cors(app: Flask) -> None:
    """Answer CORS requests from the configured origins only; none configured: no CORS at all."""
    origins: list[str] = list(app.config.get("CORS_ORIGINS") or [])
    if not origins:
        return
    any_origin = "*" in origins
    CORS(app, resources={path: {} for path in RESOURCES},
         origins="*" if any_origin else origins, send_wildcard=any_origin,
         methods=METHODS, allow_headers=ALLOWED_HEADERS, expose_headers=EXPOSED_HEADERS,
         supports_credentials=False, max_age=app.config.get("CORS_MAX_AGE"), vary_header=True)

    @app.after_request
    def _vary_on_origin(response: Response) -> Response:
        """The answer differs by Origin (allowed or not), so shared caches must key on it."""
        if request.path.startswith(PREFIXES):
            response.vary.add("Origin")
        return response
