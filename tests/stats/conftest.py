"""Fixtures for the figures: a small province with two wards, people, and action helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from reports_app.admin.service import ROUTING_RULES, create_row
from reports_app.extensions import db
from reports_app.models import Agency, Area, Case, Category, User
from reports_app.workflow_context import workflow_context
from tests import factories
from workflows.feedback import FeedbackResult, give_feedback
from workflows.operations import Actor, NewReport, perform_action, submit_report
from workflows.photos import StoredPhoto
from workflows.roles import Role

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
AFTER_PHOTO = StoredPhoto(sha256="a" * 64, content_type="image/jpeg", width=640, height=480,
                          original_key="original/a.jpg", display_key="display/a.jpg",
                          thumb_key="thumb/a.jpg")


def local(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """An instant given in Hồ Chí Minh City time."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ)


@dataclass
class Province:
    """Province P1 with wards W1 and W2; roads go to the department, lights to W2's committee."""

    province: Area
    ward: Area
    ward2: Area
    department: Agency
    ward_agency: Agency
    ward2_agency: Agency
    roads: Category
    lights: Category
    other: Category
    operator: User
    supervisor: User
    staff: dict[int, User]


@pytest.fixture
def province(app: Any) -> Province:
    """The factories' small province, plus a second ward, a category routed to its agency,
    and one account per role."""
    ref = factories.make_refdata()
    ward2 = factories.make_area("W2", parent=ref.province,
                                boundary=factories.square(108.1, 12.6, 0.05))
    ward2_agency = factories.make_agency("UBND-W2", area=ward2)
    lights = factories.make_category("lights", service_code="lights",
                                     requires_after_photo=False)
    create_row(ROUTING_RULES, {"category_id": lights.id, "area_id": None,
                               "agency_id": ward2_agency.id})
    db.session.commit()
    staff = {a.id: factories.make_user(Role.STAFF, agency=a)
             for a in (ref.department, ref.ward_agency, ward2_agency)}
    return Province(ref.province, ref.ward, ward2, ref.department, ref.ward_agency, ward2_agency,
                    ref.roads, lights, ref.other, factories.make_user(Role.OPERATOR),
                    factories.make_user(Role.SUPERVISOR), staff)


def submit(p: Province, reporter: User, category: Category, now: datetime, *,
           ward: Area | None = None, agency: Agency | None = None) -> Case:
    """A citizen's report at `now`, routed to `agency` when given (else left for triage)."""
    ward = ward or p.ward
    report = NewReport(category=category, description="Phản ánh thử nghiệm", lat=12.62,
                       lon=108.02, area_id=ward.id)
    case = submit_report(db.session, report, Actor(reporter), workflow_context(now),
                         reporter=reporter, routed_agency_id=agency.id if agency else None)
    db.session.commit()
    return case


def act(case: Case, action: str, user: User | None, now: datetime, **fields: Any) -> Case:
    """A workflow action at `now` (user None: the system); the resolve photo is attached."""
    photos = [AFTER_PHOTO] if fields.pop("with_photo", False) else None
    actor = Actor(user) if user is not None else Actor.system()
    perform_action(db.session, case, action, actor, fields, workflow_context(now), photos=photos)
    db.session.commit()
    return case


def rate(case: Case, user: User, rating: str, now: datetime,
         comment: str | None = None) -> FeedbackResult:
    """The reporter's rating at `now`."""
    result = give_feedback(db.session, case, user, rating, comment, workflow_context(now))
    db.session.commit()
    return result


@pytest.fixture
def citizen(app: Any) -> Callable[[], User]:
    """Make a citizen account."""
    return lambda: factories.make_user(Role.CITIZEN)


@pytest.fixture(autouse=True)
def _fresh_public_cache(request: pytest.FixtureRequest) -> None:
    """Each test starts without public summaries cached by an earlier one."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").extensions.pop("stats_public_cache", None)
