"""What the API fuzzing (tests/security/test_api_fuzzing.py) found, kept as plain tests."""

from __future__ import annotations

import pytest

from tests import factories
from workflows.roles import Role

CATEGORY = {"code": "den-duong", "service_code": "den-duong", "name_vi": "Đèn đường",
            "name_en": "Street lights"}


@pytest.fixture
def admin(app):
    return factories.auth_headers(factories.make_user(Role.ADMIN))


@pytest.fixture
def staff(app, refdata):
    return factories.auth_headers(factories.make_user(Role.STAFF, agency=refdata.department))


@pytest.mark.parametrize("code", [None, ""])
def test_a_category_attribute_without_a_code_is_a_field_error(client, admin, code):
    """It was a 500: the check for repeated codes read the code of every attribute."""
    body = {**CATEGORY, "fields": [{"code": code, "datatype": "text", "label_vi": "Cột",
                                    "label_en": "Pole"}]}
    response = client.post("/api/v1/admin/categories", json=body, headers=admin)
    assert response.status_code == 422
    assert "fields" in response.get_json()["errors"]


def test_a_fraction_given_to_an_integer_field_is_refused_not_truncated(client, admin):
    response = client.post("/api/v1/admin/categories", json={**CATEGORY, "sort_order": 2.5},
                           headers=admin)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"sort_order": ["Not a valid integer."]}


def test_a_whole_number_written_as_a_float_is_an_integer(client, admin):
    response = client.post("/api/v1/admin/categories", json={**CATEGORY, "sort_order": 3.0},
                           headers=admin)
    assert response.status_code == 201
    assert response.get_json()["sort_order"] == 3


def test_an_unknown_query_parameter_is_named_in_a_422(client, staff):
    """A misspelt filter used to give the whole unfiltered queue."""
    response = client.get("/api/v1/cases?stauts=open", headers=staff)
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"stauts": ["Unknown field."]}


def test_an_id_beyond_a_32_bit_column_names_no_agency(client, admin):
    """It was a 500 on PostgreSQL (integer out of range)."""
    assert client.get(f"/api/v1/admin/agencies/{2**31}", headers=admin).status_code == 404


def test_a_case_id_beyond_32_bits_is_looked_up(client, staff):
    """Cases have 64-bit ids: such a number is a case that does not exist, not a bad URL."""
    response = client.get(f"/api/v1/cases/{2**40}", headers=staff)
    assert (response.status_code, response.get_json()["error"]) == (404, "not_found")


def test_a_filter_id_beyond_its_column_is_a_field_error(client, admin):
    response = client.get(f"/api/v1/admin/users?agency_id={-(2**63)}", headers=admin)
    assert response.status_code == 422
    assert "agency_id" in response.get_json()["errors"]


def test_every_error_a_secured_operation_can_give_is_documented(client):
    """No catch-all `default` response: each operation lists its errors."""
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            responses = operation["responses"]
            assert "default" not in responses, (method, path)
            if operation.get("security"):
                assert "401" in responses, (method, path)
            if operation.get("x-roles"):
                assert "403" in responses, (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)


def test_the_error_schema_allows_the_details_some_errors_add(client):
    """A stale version's 409 carries the case's state and version."""
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["components"]["schemas"]["Error"].get("additionalProperties", True) is not False


@pytest.mark.parametrize("body", [None, {}])
def test_a_patch_without_a_body_is_refused(client, admin, body):
    """It answered 200 and changed nothing; the document says the body is required."""
    area = factories.make_area("W9")
    response = client.patch(f"/api/v1/admin/areas/{area.id}", json=body, headers=admin)
    assert response.status_code == 422
