"""Placing a point in the most specific area whose boundary contains it (shapely)."""

from __future__ import annotations

import threading
from datetime import datetime

import sqlalchemy as sa
from shapely import Point, prepared
from shapely.geometry import shape
from sqlalchemy.orm import Session, defer

from reports_app.models import Area

_LEVEL_DEPTH = {"province": 0, "ward": 1, "commune": 1}
_cache: dict[int, tuple[datetime, prepared.PreparedGeometry]] = {}
_lock = threading.Lock()


def _cached(area_id: int, updated_at: datetime) -> prepared.PreparedGeometry | None:
    with _lock:
        hit = _cache.get(area_id)
    return hit[1] if hit is not None and hit[0] == updated_at else None


def _prepare(session: Session, stale: list[int]) -> dict[int, prepared.PreparedGeometry]:
    """Read and parse the boundaries of these areas (a province's is megabytes of JSON)."""
    rows = session.execute(sa.select(Area.id, Area.updated_at, Area.boundary)
                           .where(Area.id.in_(stale))).all()
    parsed = {area_id: (updated_at, prepared.prep(shape(boundary)))
              for area_id, updated_at, boundary in rows}
    with _lock:
        _cache.update(parsed)
    return {area_id: hit[1] for area_id, hit in parsed.items()}


def place_point(session: Session, lat: float, lon: float) -> Area | None:
    """The deepest active area containing (lat, lon); the bounding boxes narrow it first.

    Boundaries are parsed once per change, not once per report: the candidates come back as
    ids and versions, and only a boundary not yet cached (or changed since) is read.
    """
    candidates = session.execute(sa.select(Area.id, Area.updated_at, Area.level).where(
        Area.is_active.is_(True), Area.min_lon <= lon, Area.max_lon >= lon,
        Area.min_lat <= lat, Area.max_lat >= lat)).all()
    shapes = {area_id: _cached(area_id, updated_at) for area_id, updated_at, _ in candidates}
    stale = [area_id for area_id, shape_ in shapes.items() if shape_ is None]
    if stale:
        shapes.update(_prepare(session, stale))
    point = Point(lon, lat)
    best: tuple[int, int] | None = None
    for area_id, _, level in candidates:
        shape_ = shapes.get(area_id)
        if shape_ is not None and shape_.covers(point):
            depth = _LEVEL_DEPTH.get(level, 2)
            if best is None or depth > best[0]:
                best = (depth, area_id)
    # The caller names and routes by the area; its own boundary is not needed again.
    return session.get(Area, best[1], options=[defer(Area.boundary)]) if best else None
