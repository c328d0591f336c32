"""Load the demo province into the database; running it twice changes nothing."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import sqlalchemy as sa

from reports_app.admin.service import (
    AGENCIES,
    CATEGORIES,
    ROUTING_RULES,
    SLA_POLICIES,
    create_row,
    import_areas,
    update_row,
)
from reports_app.auth.passwords import verify_password
from reports_app.auth.service import create_user, update_user
from reports_app.extensions import db
from reports_app.models import Agency, Area, Category, RoutingRule, SlaPolicy, User
from reports_app.open311.keys import ensure_demo_keys
from workflows.roles import Role

log = logging.getLogger(__name__)

DEMO_PASSWORD = "demo12345"  # noqa: S105 - published demo accounts, listed in the README
DATA = resources.files("reports_app.demo") / "data"


@dataclass
class LoadResult:
    """How many rows the load created or changed, per kind (all zero on a second run)."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str, created: bool) -> None:
        target = self.created if created else self.updated
        target[kind] = target.get(kind, 0) + 1


def read_demo_data() -> tuple[dict[str, Any], dict[str, Any]]:
    """The demo reference data and area boundaries shipped with the package."""
    data = json.loads((DATA / "daklak.json").read_text(encoding="utf-8"))
    areas = json.loads((DATA / "daklak_areas.geojson").read_text(encoding="utf-8"))
    return data, areas


def _changes(obj: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in wanted.items() if getattr(obj, k) != v}


def _upsert(kind: str, resource: Any, existing: Any, wanted: dict[str, Any],
            result: LoadResult) -> Any:
    if existing is None:
        obj = create_row(resource, wanted)
        result.count(kind, True)
        return obj
    changed = _changes(existing, wanted)
    if changed:
        update_row(resource, existing, changed)
        result.count(kind, False)
    return existing


def load_demo() -> LoadResult:
    """Create or update the demo province, its agencies, categories, rules, policies and users."""
    data, area_collection = read_demo_data()
    result = LoadResult()
    area_by_code = {a.code: a for a in db.session.scalars(sa.select(Area))}
    before = {code: (a.name_vi, a.name_en, a.level, a.boundary) for code, a in area_by_code.items()}
    for area in import_areas(area_collection):
        old = before.get(area.code)
        if old is None:
            result.count("areas", True)
        elif old != (area.name_vi, area.name_en, area.level, area.boundary):
            result.count("areas", False)
        area_by_code[area.code] = area

    agency_by_code: dict[str, Agency] = {}
    for item in data["agencies"]:
        wanted = {k: item.get(k) for k in ("code", "name_vi", "name_en", "kind", "email", "phone")}
        wanted["area_id"] = area_by_code[item["area_code"]].id if item.get("area_code") else None
        existing = db.session.scalar(sa.select(Agency).where(Agency.code == item["code"]))
        agency_by_code[item["code"]] = _upsert("agencies", AGENCIES, existing, wanted, result)

    category_by_code: dict[str, Category] = {}
    for item in data["categories"]:
        wanted = {k: item[k] for k in (
            "code", "service_code", "name_vi", "name_en", "description_vi", "description_en",
            "group_vi", "group_en", "keywords", "default_priority", "track",
            "requires_after_photo", "sort_order")}
        wanted["fields"] = item.get("fields", [])
        existing = db.session.scalar(sa.select(Category).where(Category.code == item["code"]))
        category_by_code[item["code"]] = _upsert("categories", CATEGORIES, existing, wanted,
                                                 result)

    def ref(table: dict[str, Any], code: str | None) -> int | None:
        return table[code].id if code else None

    for item in data["routing_rules"]:
        cat_id = ref(category_by_code, item.get("category_code"))
        area_id = ref(area_by_code, item.get("area_code"))
        wanted = {"category_id": cat_id, "area_id": area_id,
                  "agency_id": agency_by_code[item["agency_code"]].id,
                  "note": item.get("note", "")}
        existing = db.session.scalar(sa.select(RoutingRule).where(
            RoutingRule.category_id.is_(None) if cat_id is None else RoutingRule.category_id == cat_id,
            RoutingRule.area_id.is_(None) if area_id is None else RoutingRule.area_id == area_id,
            RoutingRule.is_active.is_(True)))
        _upsert("routing_rules", ROUTING_RULES, existing, wanted, result)

    for item in data["sla_policies"]:
        cat_id = ref(category_by_code, item.get("category_code"))
        wanted = {"category_id": cat_id, "priority": item["priority"], "track": item["track"],
                  "triage": item["triage"], "accept": item["accept"], "resolve": item["resolve"],
                  "warn_ratio": item.get("warn_ratio", 0.75)}
        existing = db.session.scalar(sa.select(SlaPolicy).where(
            SlaPolicy.category_id.is_(None) if cat_id is None else SlaPolicy.category_id == cat_id,
            SlaPolicy.priority == item["priority"], SlaPolicy.is_active.is_(True)))
        if existing is None:
            create_row(SLA_POLICIES, wanted)
            result.count("sla_policies", True)
        else:
            from workflows.durations import parse_duration
            from workflows.states import Track

            track = Track(item["track"])
            minutes = {f"{s}_minutes": parse_duration(item[s], track)
                       for s in ("triage", "accept", "resolve")}
            changed = _changes(existing, {"track": track, "warn_ratio": wanted["warn_ratio"],
                                          **minutes})
            if changed:
                update_row(SLA_POLICIES, existing, changed)
                result.count("sla_policies", False)

    for account in demo_accounts(agency_by_code):
        _ensure_user(account, result)
    ensure_demo_keys(data.get("open311_api_keys", []), result.count)
    db.session.commit()
    log.info("demo loaded: created %s, updated %s", result.created, result.updated)
    return result


def demo_accounts(agencies: dict[str, Agency]) -> list[dict[str, Any]]:
    """The published demo logins: one per role, and one staff account per agency."""
    accounts: list[dict[str, Any]] = [
        {"email": "admin@demo.test", "role": Role.ADMIN, "full_name": "Quản trị hệ thống"},
        {"email": "operator@demo.test", "role": Role.OPERATOR, "full_name": "Tiếp nhận IOC"},
        {"email": "supervisor@demo.test", "role": Role.SUPERVISOR, "full_name": "Lãnh đạo IOC"},
        {"email": "citizen@demo.test", "phone": "0900000001", "role": Role.CITIZEN,
         "full_name": "Nguyễn Văn Dân"},
    ]
    for code, agency in sorted(agencies.items()):
        accounts.append({"email": f"staff.{code.lower()}@demo.test", "role": Role.STAFF,
                         "agency_id": agency.id, "full_name": f"Cán bộ {agency.name_vi}"})
    return accounts


def _ensure_user(account: dict[str, Any], result: LoadResult) -> None:
    user = db.session.scalar(sa.select(User).where(User.email == account["email"]))
    if user is None:
        create_user(password=DEMO_PASSWORD, **account)
        result.count("users", True)
        return
    wanted = {k: v for k, v in account.items() if k not in ("email", "phone")}
    changed = _changes(user, wanted)
    if not verify_password(user.password_hash, DEMO_PASSWORD):
        changed["password"] = DEMO_PASSWORD
    if not user.is_active:
        changed["is_active"] = True
    if changed:
        update_user(user, changed)
        result.count("users", False)
