"""Fixtures for the case API: the people around a case, cases in any state, a real photo."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from reports_app.models import Case, User
from tests.factories import RefData, act, auth_headers, make_case, make_user
from workflows.roles import Role

REPORTER_NAME = "Nguyễn Thị Bí Mật"
REPORTER_PHONE_DIGITS = "912345678"
REPORTER_EMAIL = "bimat.reporter@example.test"
SECRETS = (REPORTER_NAME, REPORTER_PHONE_DIGITS, REPORTER_EMAIL, "Bí Mật", "bimat")
"""Substrings of the reporter's identity that must never reach agency staff."""


@dataclass
class People:
    """Everyone who may touch a case: the reporter, another citizen, both agencies' staff and
    the IOC roles."""

    reporter: User
    citizen: User
    staff: User  # of the department, where roads cases are routed
    other_staff: User  # of the ward agency
    operator: User
    supervisor: User
    admin: User

    def by_role(self, name: str) -> User:
        """The account for a role name used in parametrised tests."""
        return getattr(self, name)


@pytest.fixture
def people(refdata: RefData) -> People:
    """The cast, with a reporter whose identity is easy to look for in responses."""
    return People(
        reporter=make_user(Role.CITIZEN, email=REPORTER_EMAIL, phone="0" + REPORTER_PHONE_DIGITS,
                           full_name=REPORTER_NAME),
        citizen=make_user(Role.CITIZEN),
        staff=make_user(Role.STAFF, agency=refdata.department),
        other_staff=make_user(Role.STAFF, agency=refdata.ward_agency),
        operator=make_user(Role.OPERATOR),
        supervisor=make_user(Role.SUPERVISOR),
        admin=make_user(Role.ADMIN),
    )


def build_case(refdata: RefData, people: People, state: str, *, category: Any = None,
               now: datetime | None = None, **kwargs: Any) -> Case:
    """A case brought to `state` through the engine, routed to the department when it can be."""
    routed = state != "submitted"
    case = make_case(refdata, people.reporter, category=category, now=now, routed=routed,
                     **kwargs)
    if state in ("in_progress", "need_info", "resolved", "closed"):
        act(case, "accept", people.staff, now=now)
    if state == "need_info":
        act(case, "request_info", people.staff, now=now, note="Ổ gà ở trước số nhà nào?")
    if state in ("resolved", "closed"):
        act(case, "resolve", people.staff, now=now, note="Đã vá xong", photos=["after"])
    if state == "closed":
        act(case, "close", None, now=now)
    if state == "rejected":
        act(case, "reject", people.operator, now=now, reason="spam")
    return case


@pytest.fixture
def case_in(refdata: RefData, people: People) -> Callable[..., Case]:
    """Factory: `case_in("need_info")` and so on."""
    return lambda state, **kwargs: build_case(refdata, people, state, **kwargs)


@pytest.fixture
def as_user(client: FlaskClient) -> Callable[[User], dict[str, str]]:
    """Authorization headers for an account."""
    return auth_headers


@pytest.fixture
def after_photo(shared_dir: Path) -> bytes:
    """A real phone-size JPEG for an 'after' photo."""
    return (shared_dir / "photos" / "orientation" / "landscape_1.jpg").read_bytes()
