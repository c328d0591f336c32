"""The public reference endpoints the maps and pickers need: area boundaries and agencies."""

from __future__ import annotations

import math

from shapely.geometry import shape

from reports_app.extensions import db
from tests.factories import make_agency, make_area


def test_area_boundaries_are_public_geojson_of_active_areas(client, refdata):
    """Anyone gets the active areas as a FeatureCollection with codes, names and parents."""
    retired = make_area("OLD", parent=refdata.province)
    retired.is_active = False
    db.session.commit()
    response = client.get("/api/v1/areas.geojson")
    assert response.status_code == 200
    assert response.mimetype == "application/geo+json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    body = response.get_json()
    assert body["type"] == "FeatureCollection"
    by_code = {f["id"]: f for f in body["features"]}
    assert set(by_code) == {"P1", "W1"}
    assert [f["id"] for f in body["features"]] == ["P1", "W1"]  # the province under its wards
    ward = by_code["W1"]
    assert ward["type"] == "Feature"
    assert ward["properties"] == {"code": "W1", "name_vi": refdata.ward.name_vi,
                                  "name_en": refdata.ward.name_en, "level": "ward",
                                  "parent_code": "P1"}
    assert by_code["P1"]["properties"]["parent_code"] is None
    assert shape(ward["geometry"]).equals(shape(refdata.ward.boundary))


def test_area_boundaries_are_simplified_for_the_browser(client, refdata):
    """A boundary drawn with thousands of points comes out with far fewer, in the same place."""
    ring = [[108.5 + 0.05 * math.cos(2 * math.pi * i / 4000),
             12.5 + 0.05 * math.sin(2 * math.pi * i / 4000)] for i in range(4000)]
    ring.append(ring[0])
    make_area("ROUND", parent=refdata.province, boundary={"type": "Polygon", "coordinates": [ring]})
    body = client.get("/api/v1/areas.geojson").get_json()
    served = next(f for f in body["features"] if f["id"] == "ROUND")["geometry"]
    original = shape({"type": "Polygon", "coordinates": [ring]})
    simplified = shape(served)
    assert simplified.is_valid
    assert len(served["coordinates"][0]) < 400
    assert simplified.symmetric_difference(original).area / original.area < 0.01


def test_area_boundaries_follow_edits(client, refdata):
    """A new or renamed area shows at once (the simplified copy is rebuilt when areas change)."""
    first = client.get("/api/v1/areas.geojson").get_json()
    assert len(first["features"]) == 2
    refdata.ward.name_en = "Renamed ward"
    make_area("NEW", parent=refdata.province)
    db.session.commit()
    second = client.get("/api/v1/areas.geojson").get_json()
    assert {f["id"] for f in second["features"]} == {"P1", "W1", "NEW"}
    ward = next(f for f in second["features"] if f["id"] == "W1")
    assert ward["properties"]["name_en"] == "Renamed ward"


def test_agencies_are_listed_for_pickers_without_contact_details(client, refdata):
    """Anyone gets the active agencies (id, code, names, kind, area); no e-mail or phone."""
    closed = make_agency("CLOSED")
    closed.is_active = False
    db.session.commit()
    response = client.get("/api/v1/agencies")
    assert response.status_code == 200
    body = response.get_json()
    assert [a["code"] for a in body] == ["UBND-W1", "SXD"]
    assert body[0] == {"id": refdata.ward_agency.id, "code": "UBND-W1",
                       "name": {"vi": refdata.ward_agency.name_vi,
                                "en": refdata.ward_agency.name_en},
                       "kind": "department", "area_code": "W1"}
    assert body[1]["area_code"] is None


def test_reference_endpoints_are_documented_as_public(client):
    """Both appear in the OpenAPI document with a summary and without a security requirement."""
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/areas.geojson", "/api/v1/agencies"):
        operation = paths[path]["get"]
        assert operation["summary"]
        assert "security" not in operation
        assert "200" in operation["responses"]
