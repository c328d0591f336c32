"""Placing a point in the most specific area whose boundary contains it (shapely)."""

from __future__ import annotations

import threading
from datetime import datetime

import sqlalchemy as sa
from shapely import Point, prepared
from shapely.geometry import shape
from sqlalchemy.orm import Session

from reports_app.models import Area

_LEVEL_DEPTH = {"province": 0, "ward": 1, "commune": 1}
_cache: dict[int, tuple[datetime, prepared.PreparedGeometry]] = {}
_lock = threading.Lock()


def _prepared(area_id: int, updated_at: datetime, boundary: dict) -> prepared.PreparedGeometry:
    """Boundaries are parsed once per change, not once per report."""
    with _lock:
        hit = _cache.get(area_id)
        if hit is None or hit[0] != updated_at:
            hit = (updated_at, prepared.prep(shape(boundary)))
            _cache[area_id] = hit
        return hit[1]


def place_point(session: Session, lat: float, lon: float) -> Area | None:
    """The deepest active area containing (lat, lon); the bounding boxes narrow it first."""
    stmt = sa.select(Area.id, Area.updated_at, Area.boundary, Area.level).where(
        Area.is_active.is_(True), Area.min_lon <= lon, Area.max_lon >= lon,
        Area.min_lat <= lat, Area.max_lat >= lat)
    point = Point(lon, lat)
    best: tuple[int, int] | None = None
    for area_id, updated_at, boundary, level in session.execute(stmt):
        if _prepared(area_id, updated_at, boundary).covers(point):
            depth = _LEVEL_DEPTH.get(level, 2)
            if best is None or depth > best[0]:
                best = (depth, area_id)
    return session.get(Area, best[1]) if best else None
