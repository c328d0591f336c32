"""Factories for test data: accounts, tokens and a small province."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_jwt_extended import create_access_token

from reports_app.admin.service import (
    AGENCIES,
    AREAS,
    CATEGORIES,
    ROUTING_RULES,
    SLA_POLICIES,
    create_row,
)
from reports_app.auth.service import create_user
from reports_app.extensions import db
from reports_app.models import Agency, Area, Case, Category, User
from workflows.roles import Role

PASSWORD = "correct horse battery"  # noqa: S105 - test accounts only
_seq = itertools.count(1)


def make_user(role: Role | str = Role.CITIZEN, *, agency: Agency | None = None,
              email: str | None = None, phone: str | None = None, **kwargs: Any) -> User:
    """An account with a unique e-mail; staff get an agency if none is given."""
    role = Role(role)
    n = next(_seq)
    if role == Role.STAFF and agency is None:
        agency = make_agency()
    user = create_user(
        password=kwargs.pop("password", PASSWORD), role=role,
        email=email or (None if phone else f"{role.value}{n}@example.test"),
        phone=phone, agency_id=agency.id if agency else None,
        full_name=kwargs.pop("full_name", f"Người dùng {n}"), **kwargs)
    db.session.commit()
    return user


def auth_headers(user: User) -> dict[str, str]:
    """An Authorization header for the account."""
    token = create_access_token(identity=user, additional_claims={"role": str(user.role)})
    return {"Authorization": f"Bearer {token}"}


def square(lon: float, lat: float, size: float = 0.01) -> dict[str, Any]:
    """A square GeoJSON polygon with its south-west corner at (lon, lat)."""
    return {"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]}


def make_area(code: str | None = None, *, parent: Area | None = None, level: str = "ward",
              boundary: dict[str, Any] | None = None) -> Area:
    n = next(_seq)
    area = create_row(AREAS, {"code": code or f"A{n}", "name_vi": f"Phường {n}",
                              "name_en": f"Ward {n}", "level": level,
                              "parent_id": parent.id if parent else None,
                              "boundary": boundary or square(108.0, 12.6)})
    db.session.commit()
    return area


def make_agency(code: str | None = None, *, area: Area | None = None) -> Agency:
    n = next(_seq)
    agency = create_row(AGENCIES, {"code": code or f"AG{n}", "name_vi": f"Đơn vị {n}",
                                   "name_en": f"Agency {n}", "kind": "department",
                                   "area_id": area.id if area else None})
    db.session.commit()
    return agency


def make_category(code: str | None = None, **kwargs: Any) -> Category:
    n = next(_seq)
    data = {"code": code or f"cat-{n}", "service_code": kwargs.pop("service_code", f"svc-{n}"),
            "name_vi": f"Lĩnh vực {n}", "name_en": f"Category {n}", **kwargs}
    category = create_row(CATEGORIES, data)
    db.session.commit()
    return category


@dataclass
class RefData:
    """A small province for tests that need routing and clocks."""

    province: Area
    ward: Area
    ward_agency: Agency
    department: Agency
    roads: Category
    other: Category


def make_refdata() -> RefData:
    """Province ⊃ one ward; roads route to the department, 'other' is not routed."""
    province = make_area("P1", level="province", boundary=square(107.9, 12.5, 0.3))
    ward = make_area("W1", parent=province, boundary=square(108.0, 12.6, 0.05))
    ward_agency = make_agency("UBND-W1", area=ward)
    department = make_agency("SXD")
    roads = make_category("roads", service_code="roads")
    other = make_category("other", service_code="other", requires_after_photo=False)
    create_row(ROUTING_RULES, {"category_id": roads.id, "area_id": None,
                               "agency_id": department.id})
    create_row(SLA_POLICIES, {"category_id": None, "priority": "normal", "track": "deadline",
                              "triage": "PT4H", "accept": "P1D", "resolve": "P5D"})
    db.session.commit()
    return RefData(province, ward, ward_agency, department, roads, other)


def make_case(refdata: RefData, reporter: User | None = None, *, category: Category | None = None,
              now: datetime | None = None, routed: bool = True, **kwargs: Any) -> Case:
    """A case submitted through the workflow (routed to the department when `routed`)."""
    from reports_app.workflow_context import workflow_context
    from workflows.operations import Actor, NewReport, submit_report

    reporter = reporter or make_user(Role.CITIZEN)
    category = category or refdata.roads
    report = NewReport(category=category, description=kwargs.pop("description", "Ổ gà lớn"),
                       lat=12.62, lon=108.02, area_id=refdata.ward.id, **kwargs)
    case = submit_report(db.session, report, Actor(reporter), workflow_context(now),
                         reporter=reporter,
                         routed_agency_id=refdata.department.id if routed else None)
    db.session.commit()
    return case


def act(case: Case, action: str, user: User | None, now: datetime | None = None,
        **fields: Any) -> Case:
    """Perform a workflow action as `user` (None: the system) and commit."""
    from reports_app.workflow_context import workflow_context
    from workflows.operations import Actor, perform_action

    actor = Actor(user) if user is not None else Actor.system()
    perform_action(db.session, case, action, actor, fields, workflow_context(now))
    db.session.commit()
    return case
