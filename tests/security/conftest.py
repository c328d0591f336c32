"""A small province with one person of every kind, and cases that only some of them may see.

The reporter's identity is made of sentinel values (a name, an e-mail, a phone, a photo's GPS
position) that no agency staff response may ever contain.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token, create_refresh_token
from werkzeug.datastructures import FileStorage

from reports_app.extensions import db
from reports_app.models import Case, CaseClock, CasePhoto, SlaEvent, User
from reports_app.open311.keys import issue_key
from reports_app.workflow_context import workflow_context
from tests import factories
from tests.reports.conftest import gps_exif, jpeg, multipart
from workflows.monthly import previous_month, store_month
from workflows.operations import Actor, NewReport, submit_report
from workflows.roles import Role

ROLES = ("anon", "citizen_a", "citizen_b", "staff_x", "staff_y", "operator", "supervisor",
         "admin")
"""The columns of the authorization matrix, in order."""

REPORTER_NAME = "Trần Thị Bí Mật"
REPORTER_EMAIL = "bi.mat.reporter@example.test"
REPORTER_PHONE = "0912000777"
REPORTER_PHONE_E164 = "+84912000777"
CONTACT_NAME = ("Lê Văn", "Kín Danh")
CONTACT_EMAIL = "lien.he.open311@example.test"
CONTACT_PHONE_E164 = "+84913000888"
SECRET_TEXT = "Nhà bên cạnh xây trái phép, xin giữ kín"
"""The private report's description: only its reporter and the console may read it."""
EXIF_POINT = (12.6111, 108.0333)
"""Where the private report's photo says it was taken (the app sent another position)."""
APP_POINT = (12.62, 108.02)

IDENTITY_STRINGS = (REPORTER_NAME, REPORTER_EMAIL, REPORTER_PHONE, REPORTER_PHONE_E164,
                    REPORTER_PHONE_E164[3:], " ".join(CONTACT_NAME), CONTACT_NAME[1],
                    CONTACT_EMAIL, CONTACT_PHONE_E164, CONTACT_PHONE_E164[3:])
IDENTITY_KEYS = frozenset({"reporter", "reporter_id", "reporter_name", "reporter_phone",
                           "reporter_email", "exif_lat", "exif_lon", "exif_captured_at",
                           "user_id", "followers", "first_name", "last_name"})


@pytest.fixture(autouse=True)
def _own_media_folder(media_root: Path) -> Path:
    """Photos go to this test's own folder (so leftovers can be counted)."""
    return media_root


@dataclass
class World:
    """Everyone and everything the security tests act on."""

    refdata: factories.RefData
    users: dict[str, User]
    case_x: Case
    """Private, agency X's, sent by citizen A with a GPS-tagged photo; A answered a question."""
    case_y: Case
    """Public, agency Y's, sent by citizen B."""
    open311_case: Case
    """Agency X's, sent through Open311 with contact details."""
    photo: CasePhoto
    api_key: str
    month: str
    victims: dict[str, Any] = field(default_factory=dict)
    """Reference rows only the admin's cells change (read, patch, deactivate)."""
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def token(self, role: str, kind: str = "access") -> dict[str, str]:
        """The Authorization header of `role` ("anon": none); kind access or refresh."""
        if role == "anon":
            return {}
        user = self.users[role]
        if kind == "refresh":
            token = create_refresh_token(identity=user)
        else:
            token = create_access_token(identity=user, additional_claims={
                "role": str(user.role), "agency_id": user.agency_id})
        return {"Authorization": f"Bearer {token}"}

    def unique(self, prefix: str) -> str:
        """A fresh code or name for one cell."""
        return f"{prefix}{next(self._seq)}"

    def fresh_case(self, state: str = "assigned", *, agency: str = "x") -> Case:
        """A new case of citizen A's at agency X (or Y) in the given state, for one cell."""
        refdata = self.refdata
        staff = self.users["staff_x" if agency == "x" else "staff_y"]
        category = refdata.other if state == "resolved" else refdata.roads
        report = NewReport(category=category, description="Đèn đường hỏng", lat=APP_POINT[0],
                           lon=APP_POINT[1], area_id=refdata.ward.id)
        reporter = self.users["citizen_a"]
        case = submit_report(db.session, report, Actor(reporter), workflow_context(),
                             reporter=reporter, routed_agency_id=staff.agency_id)
        db.session.commit()
        if state in ("need_info", "resolved"):
            factories.act(case, "accept", staff)
        if state == "need_info":
            factories.act(case, "request_info", staff, note="Ảnh chụp gần hơn?")
        if state == "resolved":
            factories.act(case, "resolve", staff, note="Đã thay bóng đèn")
        return case

    def fresh_breach(self) -> SlaEvent:
        """A recorded breach of a fresh case's accept deadline, for one cell."""
        case = self.fresh_case()
        clock = db.session.scalars(sa.select(CaseClock).where(
            CaseClock.case_id == case.id, CaseClock.step == "accept")).one()
        breach = SlaEvent(case_id=case.id, clock_id=clock.id, agency_id=case.agency_id,
                          step="accept", kind="breach", due_at=clock.due_at)
        db.session.add(breach)
        db.session.commit()
        return breach


def _post_report(client: FlaskClient, world_users: dict[str, User], **fields: Any) -> Case:
    """Citizen A sends a report through the API, as the phone app does."""
    data: dict[str, Any] = {"category": "roads", "lat": str(APP_POINT[0]),
                            "lon": str(APP_POINT[1]), **fields}
    data["photos"] = [FileStorage(io.BytesIO(jpeg(size=(320, 240), colour=(20, 80, 160),
                                                   exif=gps_exif(*EXIF_POINT))),
                                  filename="IMG_0001.jpg", content_type="image/jpeg")]
    payload, content_type = multipart(data)
    user = world_users["citizen_a"]
    token = create_access_token(identity=user, additional_claims={"role": "citizen"})
    response = client.post("/api/v1/reports", data=payload, content_type=content_type,
                           headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.get_json()
    return db.session.get(Case, response.get_json()["id"])


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> World:
    """The province, its people and three cases in the states the matrix needs."""
    refdata = factories.make_refdata()
    users = {
        "citizen_a": factories.make_user(Role.CITIZEN, full_name=REPORTER_NAME,
                                         email=REPORTER_EMAIL, phone=REPORTER_PHONE),
        "citizen_b": factories.make_user(Role.CITIZEN, full_name="Phạm Văn Hàng Xóm"),
        "staff_x": factories.make_user(Role.STAFF, agency=refdata.department),
        "staff_y": factories.make_user(Role.STAFF, agency=refdata.ward_agency),
        "operator": factories.make_user(Role.OPERATOR),
        "supervisor": factories.make_user(Role.SUPERVISOR),
        "admin": factories.make_user(Role.ADMIN),
    }
    case_x = _post_report(client, users, description=SECRET_TEXT, is_public="false")
    staff_x = users["staff_x"]
    factories.act(case_x, "accept", staff_x)
    factories.act(case_x, "request_info", staff_x, note="Xin gửi thêm ảnh")
    token = create_access_token(identity=users["citizen_a"])
    answered = client.post(f"/api/v1/reports/{case_x.id}/info",
                           json={"note": "Ở ngay cạnh nhà tôi, số 12"},
                           headers={"Authorization": f"Bearer {token}"})
    assert answered.status_code == 200, answered.get_json()
    db.session.expire_all()

    report = NewReport(category=refdata.roads, description="Cây đổ chắn lối đi",
                       lat=APP_POINT[0], lon=APP_POINT[1], area_id=refdata.ward.id)
    case_y = submit_report(db.session, report, Actor(users["citizen_b"]), workflow_context(),
                           reporter=users["citizen_b"], routed_agency_id=refdata.ward_agency.id)
    db.session.commit()

    _key, plain = issue_key("Matrix client", rate_limit_per_minute=10_000)
    db.session.commit()
    filed = client.post("/open311/v2/requests.json", data={
        "api_key": plain, "service_code": "roads", "lat": str(APP_POINT[0]),
        "long": str(APP_POINT[1]), "description": "Ổ gà sâu", "first_name": CONTACT_NAME[0],
        "last_name": CONTACT_NAME[1], "email": CONTACT_EMAIL, "phone": CONTACT_PHONE_E164})
    assert filed.status_code == 200, filed.get_json()
    open311_case = db.session.get(Case, int(filed.get_json()[0]["service_request_id"]))

    photo = db.session.scalars(sa.select(CasePhoto).where(CasePhoto.case_id == case_x.id)).one()
    assert photo.exif_lat is not None
    assert abs(photo.exif_lat - EXIF_POINT[0]) < 1e-3

    ctx = workflow_context()
    month = previous_month(ctx.now, ctx.tz)
    store_month(db.session, month, ctx.now, ctx.tz)
    db.session.commit()

    world = World(refdata=refdata, users=users, case_x=case_x, case_y=case_y,
                  open311_case=open311_case, photo=photo, api_key=plain, month=month)
    world.victims = _victims(refdata)
    return world


def _victims(refdata: factories.RefData) -> dict[str, Any]:
    """One row of each reference kind for the admin's read, patch and deactivate cells."""
    from reports_app.admin.service import ROUTING_RULES, SLA_POLICIES, create_row

    category = factories.make_category("victim-cat", service_code="victim-svc")
    victims = {
        "agency": factories.make_agency("VICTIM-AG"),
        "area": factories.make_area("VICTIM-AR", boundary=factories.square(109.5, 13.5)),
        "category": category,
        "routing_rule": create_row(ROUTING_RULES, {"category_id": category.id, "area_id": None,
                                                   "agency_id": refdata.ward_agency.id}),
        "sla_policy": create_row(SLA_POLICIES, {"category_id": category.id,
                                                "priority": "normal", "triage": "PT4H",
                                                "accept": "P1D", "resolve": "P5D"}),
        "user": factories.make_user(Role.CITIZEN, full_name="Tài khoản thử"),
    }
    key, _plain = issue_key("Victim client")
    victims["api_key"] = key
    db.session.commit()
    return victims
