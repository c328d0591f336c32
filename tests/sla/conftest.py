"""Fixtures for SLA tests: a small province with the people who hear about deadlines,
local-time helpers and a sweep at a chosen instant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from reports_app.extensions import db
from reports_app.models import Case, User
from reports_app.workflow_context import app_calendar
from tests import factories
from workflows.calendar import WorkingCalendar
from workflows.jobs import JobContext
from workflows.roles import Role
from workflows.sweeper import SweepResult, sweep_deadlines

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def vn(*args: int) -> datetime:
    """A wall-clock instant in the office's time zone, as UTC (how the database returns it)."""
    return datetime(*args, tzinfo=VN).astimezone(UTC)


MONDAY_9 = vn(2026, 11, 16, 9, 0)
"""Monday 16 Nov 2026, 09:00 in Hồ Chí Minh City: a plain working week follows."""


@dataclass
class People:
    """Who hears about deadlines: supervisors, the department's staff, an operator."""

    supervisors: list[User]
    staff: list[User]
    other_staff: User
    operator: User
    citizen: User
    admin: User


@pytest.fixture
def people(refdata: factories.RefData) -> People:
    return People(
        supervisors=[factories.make_user(Role.SUPERVISOR), factories.make_user(Role.SUPERVISOR,
                                                                               language="en")],
        staff=[factories.make_user(Role.STAFF, agency=refdata.department),
               factories.make_user(Role.STAFF, agency=refdata.department)],
        other_staff=factories.make_user(Role.STAFF, agency=refdata.ward_agency),
        operator=factories.make_user(Role.OPERATOR),
        citizen=factories.make_user(Role.CITIZEN),
        admin=factories.make_user(Role.ADMIN),
    )


@pytest.fixture
def calendar(app: Flask) -> WorkingCalendar:
    return app_calendar()


@pytest.fixture
def sweep(app: Flask, calendar: WorkingCalendar) -> Callable[..., SweepResult]:
    """Run the sweeper at `now` in the test's session and commit, as the scheduler does."""
    def run(now: datetime, **kwargs: object) -> SweepResult:
        result = sweep_deadlines(db.session, JobContext(now=now, calendar=calendar,
                                                        config=app.config), **kwargs)
        db.session.commit()
        db.session.expire_all()
        return result

    return run


@pytest.fixture
def new_case(refdata: factories.RefData, people: People) -> Callable[..., Case]:
    """A case submitted at `now` by the people's citizen (routed to the department)."""
    def make(now: datetime = MONDAY_9, **kwargs: object) -> Case:
        kwargs.setdefault("reporter", people.citizen)
        return factories.make_case(refdata, now=now, **kwargs)

    return make
