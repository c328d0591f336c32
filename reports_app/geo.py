"""GeoJSON boundaries: validation and bounding boxes (shapely)."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.validation import explain_validity


class InvalidBoundary(ValueError):
    """A boundary that is not a valid GeoJSON Polygon or MultiPolygon in WGS84."""


def parse_boundary(geojson: Any) -> shapely.Geometry:
    """A valid polygonal geometry from a GeoJSON geometry or Feature, or InvalidBoundary."""
    if isinstance(geojson, dict) and geojson.get("type") == "Feature":
        geojson = geojson.get("geometry")
    if not isinstance(geojson, dict) or geojson.get("type") not in ("Polygon", "MultiPolygon"):
        raise InvalidBoundary("Expected a GeoJSON Polygon or MultiPolygon.")
    try:
        geometry = shape(geojson)
    except (ValueError, TypeError, AttributeError, IndexError, KeyError,
            shapely.errors.ShapelyError) as exc:
        raise InvalidBoundary(f"Malformed coordinates: {exc}") from None
    if geometry.is_empty:
        raise InvalidBoundary("The boundary is empty.")
    if not geometry.is_valid:
        raise InvalidBoundary(f"Invalid polygon: {explain_validity(geometry)}.")
    min_lon, min_lat, max_lon, max_lat = geometry.bounds
    if min_lon < -180 or max_lon > 180 or min_lat < -90 or max_lat > 90:
        raise InvalidBoundary("Coordinates must be WGS84 longitude, latitude.")
    return geometry


def to_geojson(geometry: shapely.Geometry) -> dict[str, Any]:
    """The GeoJSON geometry mapping of a shapely geometry (lists, not tuples)."""
    def _lists(value: Any) -> Any:
        return [_lists(v) for v in value] if isinstance(value, list | tuple) else value

    data = mapping(geometry)
    return {"type": data["type"], "coordinates": _lists(data["coordinates"])}
