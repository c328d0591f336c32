"""Browsers on other sites get no access unless CORS_ORIGINS lists them; uploads are never
served as anything a browser would run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from reports_app import create_app
from reports_app.config import ConfigError, load_config
from reports_app.extensions import db
from reports_app.models import CasePhoto
from reports_app.reports.photos import app_storage
from tests import factories
from tests.reports.conftest import form, jpeg, multipart
from workflows.roles import Role

APP_ORIGIN = "https://app.example.vn"
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key"}


@pytest.fixture
def with_cors(app: Flask) -> Iterator[Callable[[list[str]], Any]]:
    """A test client of the app built with CORS_ORIGINS; its connections closed afterwards."""
    built: list[Flask] = []

    def make(origins: list[str]) -> Any:
        built.append(create_app({**app.config, "CORS_ORIGINS": origins}))
        return built[-1].test_client()

    yield make
    for other in built:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def _origin(response: Any) -> str | None:
    return response.headers.get("Access-Control-Allow-Origin")


def test_by_default_no_other_site_gets_cross_origin_access(client):
    """Without CORS_ORIGINS no response carries CORS headers, preflights included."""
    for origin in ("https://evil.example", APP_ORIGIN, "null"):
        assert _origin(client.get("/api/v1/categories", headers={"Origin": origin})) is None
        preflight = client.options("/api/v1/reports", headers={"Origin": origin, **PREFLIGHT})
        assert _origin(preflight) is None
        assert "Access-Control-Allow-Methods" not in preflight.headers


def test_a_listed_origin_may_call_the_api_with_a_token_but_no_cookies(with_cors):
    """A configured origin gets CORS on /api and /open311: methods, the headers a phone web
    app sends, the retry headers it must read; never credentials."""
    client = with_cors([APP_ORIGIN])
    preflight = client.options("/api/v1/reports", headers={"Origin": APP_ORIGIN, **PREFLIGHT})
    assert preflight.status_code == 200
    assert _origin(preflight) == APP_ORIGIN
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "content-type", "idempotency-key"} <= {
        h.strip() for h in allowed.split(",")}
    assert preflight.headers["Access-Control-Max-Age"] == "600"
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    answer = client.get("/api/v1/categories", headers={"Origin": APP_ORIGIN})
    assert _origin(answer) == APP_ORIGIN
    assert "Origin" in answer.headers["Vary"]
    exposed = answer.headers["Access-Control-Expose-Headers"]
    assert "Retry-After" in exposed
    assert "Idempotent-Replayed" in exposed
    assert _origin(client.get("/open311/v2/services.json", headers={"Origin": APP_ORIGIN})) \
        == APP_ORIGIN
    error = client.get("/api/v1/nothing", headers={"Origin": APP_ORIGIN})
    assert (error.status_code, _origin(error)) == (404, APP_ORIGIN)


def test_other_origins_stay_out_even_when_one_is_listed(with_cors):
    """Only the exact listed origin matches (no prefix, suffix or scheme tricks)."""
    client = with_cors([APP_ORIGIN])
    for origin in ("https://evil.example", "https://app.example.vn.evil.example",
                   "http://app.example.vn", "https://evilapp.example.vn", "null"):
        assert _origin(client.get("/api/v1/categories", headers={"Origin": origin})) is None
        preflight = client.options("/api/v1/reports", headers={"Origin": origin, **PREFLIGHT})
        assert _origin(preflight) is None, origin


def test_pages_are_never_shared_cross_origin(with_cors):
    """CORS covers the API and Open311 only, not the console pages."""
    client = with_cors([APP_ORIGIN])
    assert _origin(client.get("/console/login", headers={"Origin": APP_ORIGIN})) is None


def test_a_wildcard_allows_any_origin_without_credentials(with_cors):
    """CORS_ORIGINS=* (an open-data deployment): any origin, the `*` answer, no credentials."""
    client = with_cors(["*"])
    answer = client.get("/open311/v2/requests.json", headers={"Origin": "https://any.example"})
    assert _origin(answer) == "*"
    assert "Access-Control-Allow-Credentials" not in answer.headers


@pytest.mark.parametrize("raw", ["https://*.example.vn", "javascript:alert(1)",
                                 "https://app.example.vn/path", "app.example.vn"])
def test_origins_that_are_not_origins_refuse_to_start(tmp_path, raw):
    """A pattern, a path or a scheme-less host in CORS_ORIGINS is a configuration error."""
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {"CORS_ORIGINS": f"{APP_ORIGIN}, {raw}"})


def test_cors_origins_are_read_from_the_environment(tmp_path):
    """A comma-separated list, spaces and trailing slashes ignored; empty by default."""
    assert load_config(str(tmp_path), {})["CORS_ORIGINS"] == []
    config = load_config(str(tmp_path), {"CORS_ORIGINS": " https://a.example.vn/ ,http://b:8080"})
    assert config["CORS_ORIGINS"] == ["https://a.example.vn", "http://b:8080"]


# ----------------------------------------------------------------------------- media


@pytest.fixture
def photo(app: Flask, client, media_root) -> CasePhoto:
    """A stored report photo."""
    factories.make_refdata()
    citizen = factories.make_user(Role.CITIZEN)
    payload, content_type = multipart(form(photos=[jpeg(size=(400, 300))]))
    response = client.post("/api/v1/reports", data=payload, content_type=content_type,
                           headers=factories.auth_headers(citizen))
    assert response.status_code == 201
    return db.session.scalars(sa.select(CasePhoto)).one()


def test_derivatives_are_served_as_jpeg_that_cannot_run(client, photo):
    """Our derivatives: image/jpeg, nosniff, and a CSP under which nothing runs or loads."""
    for key in (photo.display_key, photo.thumb_key):
        response = client.get(f"/media/{key}")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "image/jpeg"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"


PLANTED = [
    ("display/{sha}.html", b"<script>alert(1)</script>"),
    ("display/{sha}.svg", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ("thumb/{sha}.jpg.html", b"<html></html>"),
    ("display/{sha}", b"\xff\xd8\xff\xe0 no extension"),
    ("display/extra/{sha}.jpg", b"\xff\xd8\xff\xe0 nested"),
    ("display/{SHA}.jpg", b"\xff\xd8\xff\xe0 upper case"),
    ("original/{sha}.jpg", b"\xff\xd8\xff\xe0 the private original"),
]
"""Objects under names that are not a derivative's: HTML, SVG, double or missing extension,
a nested path, upper-case hex, the private original."""


def test_only_our_own_jpeg_names_are_ever_served(client, photo):
    """Even an object planted in storage under a public prefix is never served unless its key
    is exactly a derivative's name (kind/sha256.jpg): never as HTML or SVG."""
    for pattern, data in PLANTED:
        key = pattern.format(sha=photo.sha256, SHA=photo.sha256.upper())
        app_storage().put(key, data, "text/html")
        response = client.get(f"/media/{key}")
        assert response.status_code == 404, key
        assert response.is_json
        assert "image/svg" not in response.headers["Content-Type"]
        assert "text/html" not in response.headers["Content-Type"]


def test_a_derivative_whose_bytes_are_not_jpeg_is_not_served(client, photo):
    """Bytes under a derivative's name that we did not encode (not JPEG) are never sent."""
    app_storage().put(photo.display_key, b"<html><script>alert(1)</script></html>", "image/jpeg")
    response = client.get(f"/media/{photo.display_key}")
    assert response.status_code == 404
    assert b"<script>" not in response.data
