"""Discovery, the service list and service definitions, in JSON and XML."""

from __future__ import annotations

import pytest
import time_machine

from reports_app.admin.service import CATEGORIES, create_row
from reports_app.extensions import db
from tests.factories import make_category
from tests.open311.conftest import ROAD_FIELDS, open311_error, xml_of

FIELDS = ROAD_FIELDS


@pytest.fixture
def catalogue(refdata):
    """refdata's categories, one with every attribute type, one without fields, one inactive."""
    refdata.roads.fields = FIELDS
    refdata.roads.keywords = ["ổ gà", "mặt đường"]
    refdata.roads.group_vi, refdata.roads.group_en = "Giao thông", "Transport"
    refdata.roads.description_vi, refdata.roads.description_en = "Hư hỏng đường", "Road damage"
    db.session.commit()
    make_category("retired", service_code="retired", is_active=False)
    return refdata


@pytest.mark.parametrize("path", ["/open311/discovery.json", "/open311/v2/discovery.json"])
def test_discovery_names_the_georeport_v2_endpoint(client, catalogue, path):
    """Discovery (at /open311/ and /open311/v2/) points to our v2 endpoint in both formats."""
    response = client.get(path)
    assert response.status_code == 200
    assert response.content_type == "application/json; charset=utf-8"
    body = response.get_json()
    assert set(body) == {"changeset", "contact", "key_service", "endpoints"}
    assert all(isinstance(body[k], str) and body[k] for k in ("changeset", "contact",
                                                             "key_service"))
    [endpoint] = body["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://localhost/open311/v2"
    assert endpoint["type"] in ("production", "test")
    assert set(endpoint["formats"]) == {"text/xml", "application/json"}
    assert client.get(endpoint["url"].removeprefix("http://localhost") + "/services.json"
                      ).status_code == 200


def test_discovery_xml_follows_the_spec_elements(client, catalogue):
    """<discovery> holds changeset, contact, key_service and endpoints/endpoint/formats/format."""
    root = xml_of(client.get("/open311/discovery.xml"))
    assert root.tag == "discovery"
    assert [child.tag for child in root] == ["changeset", "contact", "key_service", "endpoints"]
    endpoint = root.find("endpoints/endpoint")
    assert endpoint.findtext("specification") == "http://wiki.open311.org/GeoReport_v2"
    assert sorted(f.text for f in endpoint.findall("formats/format")) == [
        "application/json", "text/xml"]


def test_discovery_changeset_moves_when_a_service_changes(client, catalogue):
    """Clients refresh cached services when the changeset changes."""
    before = client.get("/open311/discovery.json").get_json()["changeset"]
    with time_machine.travel("2099-01-01T00:00:00Z", tick=False):
        create_row(CATEGORIES, {"code": "later", "service_code": "later", "name_vi": "Sau",
                                "name_en": "Later"})
        db.session.commit()
    after = client.get("/open311/discovery.json").get_json()["changeset"]
    assert after != before
    assert after.startswith("2099-01-01T07:00:00+07:00")


def test_services_list_validates_against_the_official_schema(client, catalogue, schemas):
    """GET services.json is valid per services.json, active categories only, in order."""
    response = client.get("/open311/v2/services.json")
    assert response.status_code == 200
    body = response.get_json()
    schemas.check("services.json", body)
    assert [s["service_code"] for s in body] == ["roads", "other"]
    roads = body[0]
    assert roads == {"service_code": "roads", "service_name": catalogue.roads.name_vi,
                     "description": "Hư hỏng đường", "metadata": True, "type": "realtime",
                     "keywords": "ổ gà, mặt đường", "group": "Giao thông"}
    assert body[1]["metadata"] is False


@pytest.mark.parametrize(("query", "headers"), [
    ("?locale=en", {}), ("?locale=en_US", {}), ("", {"Accept-Language": "en-GB,en;q=0.8"})])
def test_services_speak_english_when_asked(client, catalogue, query, headers):
    """`locale=en` or Accept-Language English give English names; Vietnamese is the default."""
    english = client.get(f"/open311/v2/services.json{query}", headers=headers).get_json()
    assert english[0]["service_name"] == catalogue.roads.name_en
    assert english[0]["group"] == "Transport"
    default = client.get("/open311/v2/services.json").get_json()
    assert default[0]["service_name"] == catalogue.roads.name_vi


def test_services_xml_follows_the_spec_elements(client, catalogue):
    """<services><service> with the spec's child elements; booleans as true/false."""
    root = xml_of(client.get("/open311/v2/services.xml"))
    assert root.tag == "services"
    services = root.findall("service")
    assert [s.findtext("service_code") for s in services] == ["roads", "other"]
    assert [child.tag for child in services[0]] == [
        "service_code", "service_name", "description", "metadata", "type", "keywords", "group"]
    assert services[0].findtext("metadata") == "true"
    assert services[1].findtext("metadata") == "false"


def test_service_definition_validates_and_types_every_attribute(client, catalogue, schemas):
    """services/{code}.json: one attribute per field, typed, ordered from 1, lists with values."""
    response = client.get("/open311/v2/services/roads.json?locale=en")
    assert response.status_code == 200
    body = response.get_json()
    schemas.check("service-definition.json", body)
    assert body["service_code"] == "roads"
    attributes = body["attributes"]
    assert [a["code"] for a in attributes] == [f["code"] for f in FIELDS]
    assert [a["datatype"] for a in attributes] == [f["datatype"] for f in FIELDS]
    assert [a["order"] for a in attributes] == [1, 2, 3, 4, 5, 6]
    assert all(a["variable"] is True for a in attributes)
    assert attributes[0]["required"] is True
    assert attributes[0]["description"] == "Size"
    assert attributes[0]["values"] == [{"key": "small", "name": "Small"},
                                       {"key": "large", "name": "Large"}]
    assert all(isinstance(a["datatype_description"], str) for a in attributes)
    assert "values" not in attributes[2]


def test_service_definition_without_fields_has_no_attributes(client, catalogue, schemas):
    """A category with no extra fields still has a (empty) definition."""
    body = client.get("/open311/v2/services/other.json").get_json()
    schemas.check("service-definition.json", body)
    assert body == {"service_code": "other", "attributes": []}


def test_service_definition_xml_follows_the_spec_elements(client, catalogue):
    """<service_definition><attributes><attribute>…<values><value><key/><name/>."""
    root = xml_of(client.get("/open311/v2/services/roads.xml"))
    assert root.tag == "service_definition"
    assert root.findtext("service_code") == "roads"
    attribute = root.find("attributes/attribute")
    assert [child.tag for child in attribute] == [
        "variable", "code", "datatype", "required", "datatype_description", "order",
        "description", "values"]
    assert attribute.findtext("order") == "1"
    assert [(v.findtext("key"), v.findtext("name")) for v in attribute.findall("values/value")
            ] == [("small", "Nhỏ"), ("large", "Lớn")]


@pytest.mark.parametrize("code", ["nope", "retired", "roads.json", "roads%00", "x" * 300])
def test_unknown_or_inactive_service_code_is_404(client, catalogue, code):
    """The spec: 404 for a service_code that was not found (inactive ones included)."""
    [error] = open311_error(client.get(f"/open311/v2/services/{code}.json"), 404)
    assert "service_code" in error["description"]
    root = xml_of(client.get(f"/open311/v2/services/{code}.xml"))
    assert root.tag == "errors"
    assert root.findtext("error/code") == "404"


@pytest.mark.parametrize("path", ["/open311/v2/services.json", "/open311/v2/services/roads.json",
                                  "/open311/v2/requests.json"])
def test_jurisdiction_id_must_be_a_province_we_serve(client, catalogue, path):
    """jurisdiction_id is optional (empty = absent); the province code works; others are 404."""
    assert client.get(f"{path}?jurisdiction_id=P1").status_code == 200
    assert client.get(f"{path}?jurisdiction_id=").status_code == 200
    [error] = open311_error(client.get(f"{path}?jurisdiction_id=sfgov.org"), 404)
    assert "jurisdiction_id" in error["description"]
    assert "P1" in error["description"]
    [error] = open311_error(client.get(f"{path}?jurisdiction_id=W1"), 404)
