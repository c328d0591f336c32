"""API keys: issued and revoked by admins, stored as hashes, checked on every POST."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from reports_app.demo.loader import load_demo
from reports_app.extensions import db
from reports_app.models import ApiKey
from tests.factories import auth_headers, make_user
from tests.open311.conftest import open311_error, request_form
from workflows.roles import Role

KEYS = "/api/v1/admin/api-keys"
DEMO_POINT = ("12.65955", "108.03247")
"""Inside the demo ward of Buôn Ma Thuột."""


@pytest.fixture
def admin(app):
    return auth_headers(make_user(Role.ADMIN))


def _issue(client, admin, **body):
    body = {"name": "Ứng dụng FixMyStreet VN", **body}
    response = client.post(KEYS, json=body, headers=admin)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


@pytest.mark.parametrize("role", [Role.CITIZEN, Role.STAFF, Role.OPERATOR, Role.SUPERVISOR])
def test_only_admins_manage_keys(client, refdata, admin, role):
    """Everyone but an admin gets 403 (the API's own error shape) on every key endpoint."""
    key_id = _issue(client, admin)["id"]
    user = make_user(role, agency=refdata.department if role == Role.STAFF else None)
    headers = auth_headers(user)
    for method, path in (("get", KEYS), ("post", KEYS), ("get", f"{KEYS}/{key_id}"),
                         ("delete", f"{KEYS}/{key_id}")):
        response = getattr(client, method)(path, json={"name": "x"}, headers=headers)
        assert response.status_code == 403, (method, path)
        assert response.get_json()["error"] == "forbidden"
    assert client.get(KEYS).status_code == 401


def test_an_issued_key_is_shown_once_and_only_its_hash_is_stored(client, refdata, admin):
    """The plain key is in the creation answer only; the row keeps its SHA-256 and a prefix."""
    issued = _issue(client, admin, contact_email="dev@example.test", rate_limit_per_minute=60)
    plain = issued["key"]
    assert len(plain) >= 32
    assert issued["key_prefix"] == plain[:12]
    assert issued["rate_limit_per_minute"] == 60
    assert issued["is_active"] is True
    row = db.session.get(ApiKey, issued["id"])
    assert row.key_hash == hashlib.sha256(plain.encode()).hexdigest()
    stored = [str(v) for v in db.session.execute(sa.select(ApiKey.__table__)).one()]
    assert plain not in stored
    listed = client.get(KEYS, headers=admin).get_json()
    assert listed["total"] == 1
    assert "key" not in listed["items"][0]
    assert "key_hash" not in listed["items"][0]
    one = client.get(f"{KEYS}/{issued['id']}", headers=admin).get_json()
    assert "key" not in one
    assert plain not in client.get(KEYS, headers=admin).get_data(as_text=True)


def test_a_created_key_works_and_a_revoked_key_is_refused(client, refdata, admin,
                                                          post_request):
    """Issue → POST accepted; revoke → POST refused with 403, the Open311 way."""
    issued = _issue(client, admin)
    assert post_request(request_form(issued["key"])).status_code == 200
    revoked = client.delete(f"{KEYS}/{issued['id']}", headers=admin)
    assert revoked.status_code == 200
    assert revoked.get_json()["is_active"] is False
    assert revoked.get_json()["revoked_at"] is not None
    [error] = open311_error(post_request(request_form(issued["key"])), 403)
    assert "api_key" in error["description"]
    again = client.delete(f"{KEYS}/{issued['id']}", headers=admin).get_json()
    assert again["revoked_at"] == revoked.get_json()["revoked_at"]


def test_list_filters_by_state(client, refdata, admin):
    """?active=true lists usable keys, ?active=false the revoked ones."""
    first, second = _issue(client, admin), _issue(client, admin, name="Other")
    client.delete(f"{KEYS}/{first['id']}", headers=admin)
    active = client.get(f"{KEYS}?active=true", headers=admin).get_json()["items"]
    revoked = client.get(f"{KEYS}?active=false", headers=admin).get_json()["items"]
    assert [k["id"] for k in active] == [second["id"]]
    assert [k["id"] for k in revoked] == [first["id"]]


@pytest.mark.parametrize("body", [
    {}, {"name": ""}, {"name": "x", "rate_limit_per_minute": 0},
    {"name": "x", "rate_limit_per_minute": 10_001}, {"name": "x", "contact_email": "nope"},
    {"name": "x", "key": "chosen-by-client"},
])
def test_bad_key_requests_are_422(client, refdata, admin, body):
    """Invalid input is a clear 422 in the API's error shape; nothing is issued."""
    response = client.post(KEYS, json=body, headers=admin)
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_error"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiKey)) == 0


def test_unknown_key_id_is_404(client, refdata, admin):
    """Reading or revoking a key that does not exist: 404."""
    assert client.get(f"{KEYS}/999", headers=admin).status_code == 404
    assert client.delete(f"{KEYS}/999", headers=admin).status_code == 404


def test_key_endpoints_are_in_the_openapi_document(client):
    """The admin endpoints are documented; the Open311 paths are not /api/v1 routes."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths[KEYS]) >= {"get", "post"}
    assert set(paths[f"{KEYS}/{{key_id}}"]) >= {"get", "delete"}
    assert all(op["summary"] for op in paths[KEYS].values())
    assert not [p for p in paths if p.startswith("/open311")]


def test_demo_province_has_a_working_demo_key(client, demo, post_request):
    """The demo loader issues `demo-open311-key`, which files a request in the demo province."""
    response = post_request(request_form("demo-open311-key", lat=DEMO_POINT[0],
                                         long=DEMO_POINT[1], jurisdiction_id="66"))
    assert response.status_code == 200, response.data
    [key] = db.session.scalars(sa.select(ApiKey)).all()
    assert key.key_hash == hashlib.sha256(b"demo-open311-key").hexdigest()


def test_loading_the_demo_twice_keeps_one_key_and_revives_it(app, demo):
    """The loader is idempotent, and a revoked demo key is made usable again."""
    assert "api_keys" not in load_demo().created
    key = db.session.scalar(sa.select(ApiKey))
    key.is_active = False
    db.session.commit()
    assert load_demo().updated.get("api_keys") == 1
    keys = db.session.scalars(sa.select(ApiKey)).all()
    assert len(keys) == 1
    assert keys[0].is_active is True
    assert keys[0].revoked_at is None
