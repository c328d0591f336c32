"""Fixtures for the console pages: a public case with a reporter whose details must never show."""

from __future__ import annotations

import pytest

from reports_app.extensions import db
from reports_app.models import Case, User
from tests.factories import RefData, make_case, make_user
from workflows.roles import Role

REPORTER = {"full_name": "Trần Thị Bảo Mật", "email": "bao.mat@example.test",
            "phone": "0912345678"}
PHONE_FORMS = ("0912345678", "+84912345678", "84912345678", "0912 345 678")


@pytest.fixture
def reporter(app) -> User:
    return make_user(Role.CITIZEN, full_name=REPORTER["full_name"], email=REPORTER["email"],
                     phone=REPORTER["phone"])


@pytest.fixture
def public_case(refdata: RefData, reporter: User) -> Case:
    """A public case in the ward, with the reporter's name, phone and e-mail on record."""
    case = make_case(refdata, reporter, description="Đèn đường hỏng cả tuần",
                     address="Số 12 đường Lê Duẩn", reporter_name=REPORTER["full_name"],
                     reporter_phone=REPORTER["phone"], reporter_email=REPORTER["email"])
    db.session.commit()
    return case


def personal_data() -> tuple[str, ...]:
    """Every form in which the reporter's details could leak."""
    return (REPORTER["full_name"], REPORTER["email"], *PHONE_FORMS)
