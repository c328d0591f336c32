"""Rules for changing reference data: references exist, codes are unique, shapes are valid."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.geo import InvalidBoundary, parse_boundary, to_geojson
from reports_app.models import Agency, Area, Category, RoutingRule, SlaPolicy
from workflows.durations import parse_duration
from workflows.states import Track


class ReferenceError(Exception):
    """A reference-data change that cannot be made; `code` is the machine-readable reason."""

    def __init__(self, code: str, text: str, errors: dict[str, list[str]] | None = None):
        super().__init__(text)
        self.code = code
        self.errors = errors


@dataclass(frozen=True)
class Resource:
    """How one kind of reference row is checked and prepared before it is saved."""

    model: type
    unique: tuple[str, ...] = ()
    refs: dict[str, type] = field(default_factory=dict)
    prepare: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None
    search: tuple[str, ...] = ()


def _check_refs(resource: Resource, data: dict[str, Any]) -> None:
    errors = {}
    for name, model in resource.refs.items():
        value = data.get(name)
        if value is not None and db.session.get(model, value) is None:
            errors[name] = [f"No {model.__tablename__[:-1]} with id {value}."]
    if errors:
        raise ReferenceError("validation_error", "Unknown references.", errors)


def _check_unique(resource: Resource, data: dict[str, Any], obj: Any | None) -> None:
    for name in resource.unique:
        if name not in data:
            continue
        column = getattr(resource.model, name)
        stmt = sa.select(resource.model.id).where(column == data[name])
        if obj is not None:
            stmt = stmt.where(resource.model.id != obj.id)
        if db.session.scalar(stmt) is not None:
            raise ReferenceError("duplicate_code", f"{name} already in use.",
                                 {name: ["Already in use."]})


def create_row(resource: Resource, data: dict[str, Any]) -> Any:
    """Validate and add a new row; flushes, the caller commits."""
    if resource.prepare:
        data = resource.prepare(dict(data), None)
    _check_refs(resource, data)
    _check_unique(resource, data, None)
    obj = resource.model(**data)
    db.session.add(obj)
    db.session.flush()
    return obj


def update_row(resource: Resource, obj: Any, data: dict[str, Any]) -> Any:
    """Validate and apply changes to a row; flushes, the caller commits."""
    if resource.prepare:
        data = resource.prepare(dict(data), obj)
    _check_refs(resource, data)
    _check_unique(resource, data, obj)
    for key, value in data.items():
        setattr(obj, key, value)
    db.session.flush()
    return obj


def _prepare_area(data: dict[str, Any], obj: Area | None) -> dict[str, Any]:
    if "boundary" in data:
        try:
            geometry = parse_boundary(data["boundary"])
        except InvalidBoundary as exc:
            raise ReferenceError("invalid_geometry", str(exc), {"boundary": [str(exc)]}) from None
        data["boundary"] = to_geojson(geometry)
        data["min_lon"], data["min_lat"], data["max_lon"], data["max_lat"] = geometry.bounds
    if obj is not None and data.get("parent_id") == obj.id:
        raise ReferenceError("validation_error", "An area cannot contain itself.",
                             {"parent_id": ["An area cannot be its own parent."]})
    return data


def _prepare_sla(data: dict[str, Any], obj: SlaPolicy | None) -> dict[str, Any]:
    track = Track(data.get("track") or (obj.track if obj else Track.DEADLINE))
    errors: dict[str, list[str]] = {}
    for step in ("triage", "accept", "resolve"):
        text = data.pop(step, None)
        if text is not None:
            try:
                data[f"{step}_minutes"] = parse_duration(text, track)
            except ValueError as exc:
                errors[step] = [str(exc)]
        elif obj is None and f"{step}_minutes" not in data:
            errors[step] = ["Required (ISO 8601 duration such as PT4H or P3D, or minutes)."]
    if errors:
        raise ReferenceError("validation_error", "Some durations are invalid.", errors)
    _check_one_active(SlaPolicy, data, obj, ("category_id", "priority"))
    return data


def _prepare_rule(data: dict[str, Any], obj: RoutingRule | None) -> dict[str, Any]:
    _check_one_active(RoutingRule, data, obj, ("category_id", "area_id"))
    return data


def _check_one_active(model: type, data: dict[str, Any], obj: Any | None,
                      keys: tuple[str, ...]) -> None:
    """Two active rows for the same key would make 'which one applies' ambiguous."""
    merged = {k: data.get(k, getattr(obj, k, None)) for k in (*keys, "is_active")}
    if merged["is_active"] is False:
        return
    stmt = sa.select(model.id).where(model.is_active.is_(True))
    for key in keys:
        column = getattr(model, key)
        stmt = stmt.where(column.is_(None) if merged[key] is None else column == merged[key])
    if obj is not None:
        stmt = stmt.where(model.id != obj.id)
    if db.session.scalar(stmt) is not None:
        raise ReferenceError("duplicate_rule", "An active row for the same key exists.",
                             {keys[0]: ["An active row with the same " + " and ".join(keys)
                                        + " exists; deactivate it first."]})


AGENCIES = Resource(Agency, unique=("code",), refs={"area_id": Area}, search=("code", "name_vi",
                                                                               "name_en"))
AREAS = Resource(Area, unique=("code",), refs={"parent_id": Area}, prepare=_prepare_area,
                 search=("code", "name_vi", "name_en"))
CATEGORIES = Resource(Category, unique=("code", "service_code"),
                      search=("code", "service_code", "name_vi", "name_en"))
ROUTING_RULES = Resource(RoutingRule, refs={"category_id": Category, "area_id": Area,
                                            "agency_id": Agency}, prepare=_prepare_rule,
                         search=("note",))
SLA_POLICIES = Resource(SlaPolicy, refs={"category_id": Category}, prepare=_prepare_sla)


def import_areas(collection: dict[str, Any]) -> list[Area]:
    """Create or update areas from a GeoJSON FeatureCollection keyed by `properties.code`."""
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise ReferenceError("validation_error", "Expected a GeoJSON FeatureCollection.",
                             {"type": ["Must be FeatureCollection."]})
    features = collection.get("features")
    if not isinstance(features, list) or not features:
        raise ReferenceError("validation_error", "No features.", {"features": ["Empty."]})
    by_code = {a.code: a for a in db.session.scalars(sa.select(Area))}
    # Parents first, so children can refer to them whatever the file order.
    pending = list(enumerate(features))
    done: list[Area] = []
    for _round in range(len(pending) + 1):
        waiting = []
        for index, feature in pending:
            props = feature.get("properties") if isinstance(feature, dict) else None
            if not isinstance(props, dict) or not props.get("code"):
                raise ReferenceError("validation_error", "Each feature needs properties.code.",
                                     {f"features.{index}": ["properties.code is required."]})
            parent_code = props.get("parent_code")
            if parent_code and parent_code not in by_code:
                waiting.append((index, feature))
                continue
            data = {
                "code": str(props["code"]),
                "name_vi": str(props.get("name_vi") or props["code"]),
                "name_en": str(props.get("name_en") or props.get("name_vi") or props["code"]),
                "level": str(props.get("level") or "ward"),
                "parent_id": by_code[parent_code].id if parent_code else None,
                "boundary": feature.get("geometry"),
            }
            try:
                existing = by_code.get(data["code"])
                area = (update_row(AREAS, existing, data) if existing
                        else create_row(AREAS, data))
            except ReferenceError as exc:
                raise ReferenceError(exc.code, f"Feature {index}: {exc}",
                                     {f"features.{index}": [str(exc)]}) from None
            by_code[area.code] = area
            done.append(area)
        if not waiting:
            return done
        if len(waiting) == len(pending):
            codes = ", ".join(str(f["properties"].get("parent_code")) for _, f in waiting)
            raise ReferenceError("validation_error", f"Unknown parent codes: {codes}.",
                                 {"features": [f"Unknown parent codes: {codes}."]})
        pending = waiting
    return done
