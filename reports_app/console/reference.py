"""Public reference data for the maps and pickers: area boundaries and the agencies.

Both are public facts (administrative boundaries, the names of public bodies), so anyone
may read them; the admin endpoints keep the full, editable versions.
"""

from __future__ import annotations

import threading
from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import Response, current_app
from flask.views import MethodView
from marshmallow import fields

from reports_app.common.blueprint import Blueprint
from reports_app.extensions import db
from reports_app.geo import to_geojson
from reports_app.models import Agency, Area

blp = Blueprint("reference", __name__, url_prefix="/api/v1",
                description="Public area boundaries and agencies for maps and pickers")

SIMPLIFY_DEGREES = 0.0002
"""About 20 m: invisible at the zoom levels a province map is read at, and it keeps a
country's worth of ward boundaries small enough for a browser."""
CACHE_SECONDS = 300

_lock = threading.Lock()
_cache: dict[str, Any] = {}


class AreaPropertiesSchema(ma.Schema):
    """What a boundary feature says about its area."""

    code = fields.String()
    name_vi = fields.String()
    name_en = fields.String()
    level = fields.String(metadata={"description": "province, ward, commune…"})
    parent_code = fields.String(allow_none=True)


class AreaFeatureSchema(ma.Schema):
    """One area as a GeoJSON Feature (id = area code)."""

    type = fields.String(metadata={"example": "Feature"})
    id = fields.String()
    geometry = fields.Dict(metadata={"description": "Polygon or MultiPolygon, WGS84, simplified"})
    properties = fields.Nested(AreaPropertiesSchema)


class AreaCollectionSchema(ma.Schema):
    """Active areas as a GeoJSON FeatureCollection, largest level first."""

    type = fields.String(metadata={"example": "FeatureCollection"})
    features = fields.List(fields.Nested(AreaFeatureSchema))


class PublicAgencySchema(ma.Schema):
    """An agency as the console's pickers and the public pages show it."""

    id = fields.Integer()
    code = fields.String()
    name = fields.Function(lambda a: {"vi": a.name_vi, "en": a.name_en},
                           metadata={"type": "object", "description": "vi and en"})
    kind = fields.String(metadata={"description": "department, ward or commune committee, "
                                                  "utility"})
    area_code = fields.Function(lambda a: a.area.code if a.area else None,
                                metadata={"type": "string", "nullable": True,
                                          "description": "the area it answers for"})


def _signature() -> tuple[Any, ...]:
    """Changes whenever an area is added, edited or (de)activated."""
    row = db.session.execute(sa.select(sa.func.count(Area.id), sa.func.max(Area.updated_at),
                                       sa.func.max(Area.id))).one()
    return (str(db.engine.url), *row)


def area_collection() -> dict[str, Any]:
    """Active areas with simplified boundaries; rebuilt only when the areas change."""
    signature = _signature()
    with _lock:
        if _cache.get("signature") == signature:
            return _cache["collection"]
    from shapely.geometry import shape

    areas = db.session.scalars(sa.select(Area).where(Area.is_active.is_(True))
                               .order_by(Area.parent_id.is_not(None), Area.id)).all()
    codes = {a.id: a.code for a in db.session.scalars(sa.select(Area))}
    features = []
    for area in areas:
        geometry = shape(area.boundary).simplify(SIMPLIFY_DEGREES, preserve_topology=True)
        features.append({"type": "Feature", "id": area.code, "geometry": to_geojson(geometry),
                         "properties": {"code": area.code, "name_vi": area.name_vi,
                                        "name_en": area.name_en, "level": area.level,
                                        "parent_code": codes.get(area.parent_id)}})
    collection = {"type": "FeatureCollection", "features": features}
    with _lock:
        _cache.update(signature=signature, collection=collection)
    return collection


def _cached_json(body: Any) -> Response:
    response = current_app.json.response(body)
    response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    return response


@blp.route("/areas.geojson")
class PublicAreas(MethodView):
    @blp.response(200, AreaCollectionSchema, content_type="application/geo+json")
    def get(self) -> Response:
        """Boundaries of the active areas (simplified), for maps; no sign-in needed."""
        response = _cached_json(area_collection())
        response.mimetype = "application/geo+json"
        return response


@blp.route("/agencies")
class PublicAgencies(MethodView):
    @blp.response(200, PublicAgencySchema(many=True))
    def get(self) -> Response:
        """Active agencies (id, code, names, kind, area), for the operator's pickers and the
        public pages; no sign-in needed."""
        from sqlalchemy.orm import selectinload

        agencies = db.session.scalars(sa.select(Agency).where(Agency.is_active.is_(True))
                                      .options(selectinload(Agency.area))
                                      .order_by(Agency.id)).all()
        return _cached_json(PublicAgencySchema(many=True).dump(agencies))
