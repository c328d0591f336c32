"""Reference data through the admin API."""

from __future__ import annotations

import re

import pytest

from tests.factories import square
from workflows.roles import Role


@pytest.fixture
def admin(make_user, auth):
    return auth(make_user(Role.ADMIN))


def admin_urls(app):
    """Every admin URL with a sample id in place of path parameters."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/admin"):
            url = re.sub(r"<[^>]+>", "1", rule.rule)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, url


def test_admin_endpoints_exist_for_every_reference_resource(app):
    """Agencies, areas, categories, routing rules, SLA policies and users are all managed."""
    urls = {url for _m, url in admin_urls(app)}
    for name in ("agencies", "areas", "categories", "routing-rules", "sla-policies", "users"):
        assert f"/api/v1/admin/{name}" in urls
        assert f"/api/v1/admin/{name}/1" in urls


@pytest.mark.parametrize("role", [Role.CITIZEN, Role.STAFF, Role.OPERATOR, Role.SUPERVISOR])
def test_non_admins_get_403_on_every_admin_endpoint(app, client, make_user, auth, role):
    """Only admins touch reference data."""
    headers = auth(make_user(role))
    for method, url in admin_urls(app):
        response = client.open(url, method=method, headers=headers, json={})
        assert response.status_code == 403, (method, url)
        assert response.get_json()["error"] == "forbidden"


def test_every_admin_endpoint_needs_a_token(app, client):
    """Anonymous callers get 401 everywhere under /admin."""
    for method, url in admin_urls(app):
        response = client.open(url, method=method, json={})
        assert response.status_code == 401, (method, url)
        assert response.get_json()["error"] == "unauthorized"


def test_create_list_update_and_deactivate_an_agency(client, admin):
    """The full life of a reference row: rows are deactivated, never deleted."""
    created = client.post("/api/v1/admin/agencies", headers=admin, json={
        "code": "SXD", "name_vi": "Sở Xây dựng", "name_en": "Department of Construction"})
    assert created.status_code == 201
    agency_id = created.get_json()["id"]
    listed = client.get("/api/v1/admin/agencies?q=xây", headers=admin).get_json()
    assert listed["total"] == 1
    assert listed["items"][0]["code"] == "SXD"
    patched = client.patch(f"/api/v1/admin/agencies/{agency_id}", headers=admin,
                           json={"name_en": "Construction Department"})
    assert patched.get_json()["name_en"] == "Construction Department"
    assert patched.get_json()["name_vi"] == "Sở Xây dựng"
    gone = client.delete(f"/api/v1/admin/agencies/{agency_id}", headers=admin)
    assert gone.status_code == 200
    assert gone.get_json()["is_active"] is False
    active = client.get("/api/v1/admin/agencies?active=true", headers=admin).get_json()
    assert active["total"] == 0


def test_duplicate_codes_are_a_409(client, admin):
    """Codes identify rows, so a second one with the same code is a conflict."""
    body = {"code": "SXD", "name_vi": "Sở Xây dựng", "name_en": "Construction"}
    client.post("/api/v1/admin/agencies", headers=admin, json=body)
    response = client.post("/api/v1/admin/agencies", headers=admin, json=body)
    assert response.status_code == 409
    assert response.get_json()["error"] == "duplicate_code"
    assert "code" in response.get_json()["errors"]


def test_validation_errors_are_reported_per_field(client, admin):
    """Each bad field is named."""
    response = client.post("/api/v1/admin/agencies", headers=admin,
                           json={"code": "bad code!", "kind": "castle"})
    body = response.get_json()
    assert response.status_code == 422
    assert set(body["errors"]) >= {"code", "kind", "name_vi", "name_en"}


def test_unknown_references_are_field_errors(client, admin):
    """An agency in an area that does not exist is refused on area_id."""
    response = client.post("/api/v1/admin/agencies", headers=admin, json={
        "code": "X", "name_vi": "X", "name_en": "X", "area_id": 999})
    assert response.status_code == 422
    assert "area_id" in response.get_json()["errors"]


def test_area_geojson_goes_in_and_comes_out(client, admin):
    """An area's boundary is stored and returned as GeoJSON with its bounding box."""
    response = client.post("/api/v1/admin/areas", headers=admin, json={
        "code": "24133", "name_vi": "Phường Buôn Ma Thuột", "name_en": "Buon Ma Thuot Ward",
        "level": "ward", "boundary": square(108.0, 12.6, 0.05)})
    assert response.status_code == 201
    body = response.get_json()
    assert body["boundary"]["type"] == "Polygon"
    assert body["bbox"] == pytest.approx([108.0, 12.6, 108.05, 12.65])


@pytest.mark.parametrize("boundary", [
    {"type": "Point", "coordinates": [108.0, 12.6]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
    {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]},
    {"type": "Polygon", "coordinates": "nonsense"},
    {"type": "Polygon", "coordinates": [[[200, 0], [201, 0], [201, 1], [200, 0]]]},
    {"type": "Polygon", "coordinates": []},
])
def test_invalid_polygons_are_refused(client, admin, boundary):
    """Self-intersecting, degenerate, non-polygon or out-of-range shapes are a 422."""
    response = client.post("/api/v1/admin/areas", headers=admin, json={
        "code": "X1", "name_vi": "X", "name_en": "X", "level": "ward", "boundary": boundary})
    assert response.status_code == 422
    assert "boundary" in response.get_json()["errors"]


def test_areas_import_from_a_feature_collection(client, admin):
    """A GeoJSON file of areas is imported in one call, parents resolved by code."""
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": square(108.0, 12.6, 0.01),
         "properties": {"code": "W1", "name_vi": "Phường 1", "level": "ward",
                        "parent_code": "P"}},
        {"type": "Feature", "geometry": square(107.9, 12.5, 0.5),
         "properties": {"code": "P", "name_vi": "Tỉnh", "level": "province"}},
    ]}
    response = client.post("/api/v1/admin/areas/import", headers=admin, json=collection)
    assert response.status_code == 200
    assert len(response.get_json()) == 2
    exported = client.get("/api/v1/admin/areas.geojson", headers=admin).get_json()
    child = next(f for f in exported["features"] if f["properties"]["code"] == "W1")
    assert child["properties"]["parent_code"] == "P"


def test_category_fields_are_validated(client, admin):
    """A list attribute without values is refused."""
    response = client.post("/api/v1/admin/categories", headers=admin, json={
        "code": "roads", "service_code": "roads", "name_vi": "Giao thông", "name_en": "Roads",
        "fields": [{"code": "size", "datatype": "singlevaluelist", "label_vi": "Cỡ",
                    "label_en": "Size"}]})
    assert response.status_code == 422
    assert "fields" in response.get_json()["errors"]


def test_sla_policy_takes_iso_durations_in_working_days(client, admin):
    """P3D on the deadline track is three working days of 7.5 hours."""
    response = client.post("/api/v1/admin/sla-policies", headers=admin, json={
        "priority": "normal", "triage": "PT4H", "accept": "P1D", "resolve": "P3D"})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["triage_minutes"], body["accept_minutes"], body["resolve_minutes"]) == (
        240, 450, 1350)
    assert body["resolve"] == "P3D"


def test_sla_policy_with_a_bad_duration_is_a_field_error(client, admin):
    """A duration that is not ISO 8601 names its field."""
    response = client.post("/api/v1/admin/sla-policies", headers=admin, json={
        "priority": "normal", "triage": "4 hours", "accept": "P1D", "resolve": "P3D"})
    assert response.status_code == 422
    assert "triage" in response.get_json()["errors"]


def test_two_active_policies_for_the_same_key_conflict(client, admin):
    """Which policy applies must never be ambiguous."""
    body = {"priority": "normal", "triage": "PT4H", "accept": "P1D", "resolve": "P3D"}
    client.post("/api/v1/admin/sla-policies", headers=admin, json=body)
    response = client.post("/api/v1/admin/sla-policies", headers=admin, json=body)
    assert response.status_code == 409
    assert response.get_json()["error"] == "duplicate_rule"


def test_routing_rule_refers_to_existing_rows(client, admin):
    """A rule for an unknown agency is refused on agency_id."""
    response = client.post("/api/v1/admin/routing-rules", headers=admin, json={"agency_id": 42})
    assert response.status_code == 422
    assert "agency_id" in response.get_json()["errors"]


def test_admin_creates_a_staff_account_bound_to_an_agency(client, admin):
    """Staff accounts need an agency; with one they can sign in."""
    agency = client.post("/api/v1/admin/agencies", headers=admin, json={
        "code": "SXD", "name_vi": "Sở Xây dựng", "name_en": "Construction"}).get_json()
    missing = client.post("/api/v1/admin/users", headers=admin, json={
        "email": "s@example.test", "password": "password123", "role": "staff"})
    assert missing.status_code == 422
    assert "agency_id" in missing.get_json()["errors"]
    created = client.post("/api/v1/admin/users", headers=admin, json={
        "email": "s@example.test", "password": "password123", "role": "staff",
        "agency_id": agency["id"]})
    assert created.status_code == 201
    login = client.post("/api/v1/auth/login", json={"username": "s@example.test",
                                                     "password": "password123"})
    assert login.get_json()["user"]["agency"]["code"] == "SXD"


def test_admin_lists_users_by_role(client, admin, make_user):
    """The user list filters by role."""
    make_user(Role.OPERATOR)
    make_user(Role.CITIZEN)
    body = client.get("/api/v1/admin/users?role=operator", headers=admin).get_json()
    assert body["total"] == 1
    assert body["items"][0]["role"] == "operator"


def test_admin_can_deactivate_a_user(client, admin, make_user, auth):
    """A deactivated account's token stops working."""
    user = make_user(Role.CITIZEN)
    headers = auth(user)
    client.delete(f"/api/v1/admin/users/{user.id}", headers=admin)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_missing_rows_are_404(client, admin):
    """Reading a row that does not exist is a 404 in the common shape."""
    response = client.get("/api/v1/admin/agencies/999", headers=admin)
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"
