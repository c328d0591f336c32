"""Every error is JSON in one shape with a stable machine-readable code."""

from __future__ import annotations

import pytest

from reports_app import create_app

SHAPE = {"code", "status", "error", "message"}


def assert_shape(response, status, error):
    assert response.status_code == status
    assert response.is_json, response.data[:200]
    body = response.get_json()
    assert set(body) >= SHAPE
    assert body["code"] == status
    assert body["error"] == error
    return body


def test_unknown_route_is_json_404(client):
    """No HTML error page leaks out of the API."""
    assert_shape(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_json_405(client):
    """A method a route does not take is a 405 in the same shape."""
    assert_shape(client.delete("/api/v1/categories"), 405, "method_not_allowed")


def test_malformed_json_is_400(client):
    """A body that is not JSON is a bad request."""
    response = client.post("/api/v1/auth/login", data="{not json",
                           content_type="application/json")
    assert_shape(response, 400, "bad_request")


def test_validation_failure_is_422_with_field_errors(client):
    """Field errors are listed under `errors` by field name."""
    body = assert_shape(client.post("/api/v1/auth/login", json={}), 422, "validation_error")
    assert set(body["errors"]) == {"username", "password"}


def test_oversized_body_is_413(app):
    """Bodies over the configured limit are refused before they are read."""
    app_small = create_app({**app.config, "MAX_CONTENT_LENGTH": 1000})
    response = app_small.test_client().post("/api/v1/auth/login", data="x" * 5000,
                                            content_type="application/json")
    assert_shape(response, 413, "payload_too_large")


def test_unexpected_exception_is_json_500(app):
    """A bug answers in the common shape, never with a stack trace."""
    buggy = create_app({**app.config, "PROPAGATE_EXCEPTIONS": False, "TESTING": False})

    @buggy.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret detail")

    response = buggy.test_client().get("/api/v1/boom")
    body = assert_shape(response, 500, "internal_error")
    assert "secret detail" not in response.get_data(as_text=True)
    assert body["message"]


@pytest.mark.parametrize(("lang", "text"), [("vi", "Không tìm thấy."), ("en", "Not found.")])
def test_messages_follow_the_callers_language(client, lang, text):
    """Error messages are in Vietnamese or English as the client asks."""
    response = client.get("/api/v1/nothing", headers={"Accept-Language": lang})
    assert response.get_json()["message"] == text


def test_health_and_readiness(client):
    """Load balancers get answers without a token."""
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["database"] == "ok"


def test_every_response_carries_a_request_id_and_security_headers(client):
    """Logs and support calls can be matched to a request; browsers get safe defaults."""
    response = client.get("/api/v1/categories")
    assert len(response.headers["X-Request-ID"]) == 32
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_a_sane_incoming_request_id_is_kept(client):
    """A proxy's X-Request-ID travels through; a hostile one is replaced."""
    kept = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert kept.headers["X-Request-ID"] == "abc-123"
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>"})
    assert replaced.headers["X-Request-ID"] != "<script>"


def test_json_log_lines_carry_the_request_id(app):
    """In production logs are one JSON object per line with the request id."""
    import json
    import logging

    from reports_app.observability import JsonFormatter

    formatter = JsonFormatter()
    with app.test_request_context("/api/v1/x"):
        from flask import g

        g.request_id = "rid-1"
        line = formatter.format(logging.LogRecord("t", logging.INFO, __file__, 1, "hello %s",
                                                  ("world",), None))
    entry = json.loads(line)
    assert entry["request_id"] == "rid-1"
    assert entry["message"] == "hello world"
