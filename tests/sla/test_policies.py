"""Which SLA policy a case gets, and how each track counts its time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from reports_app.admin.service import SLA_POLICIES, create_row, update_row
from reports_app.extensions import db
from reports_app.models import CaseClock, SlaPolicy
from tests.factories import make_category
from tests.sla.conftest import vn
from workflows.sla import find_policy
from workflows.states import Priority


def policy(category=None, priority="normal", track="deadline", triage="PT4H", accept="P1D",
           resolve="P5D", **extra) -> SlaPolicy:
    row = create_row(SLA_POLICIES, {"category_id": category.id if category else None,
                                    "priority": priority, "track": track, "triage": triage,
                                    "accept": accept, "resolve": resolve, **extra})
    db.session.commit()
    return row


@pytest.fixture
def policies(refdata):
    """The default normal policy (from refdata) plus a category and a priority default."""
    default_normal = db.session.scalar(sa.select(SlaPolicy).where(
        SlaPolicy.category_id.is_(None), SlaPolicy.priority == "normal"))
    return {
        "default_normal": default_normal,
        "default_high": policy(priority="high", resolve="P3D"),
        "roads_normal": policy(refdata.roads, resolve="P7D"),
        "roads_urgent": policy(refdata.roads, priority="urgent", track="immediate",
                               triage="PT30M", accept="PT1H", resolve="PT4H"),
    }


@pytest.mark.parametrize(("category", "priority", "expected", "why"), [
    ("roads", "urgent", "roads_urgent", "the category's own policy for the priority"),
    ("roads", "normal", "roads_normal", "the category's own normal policy"),
    ("other", "high", "default_high", "no category policy: the default for the priority"),
    ("roads", "high", "default_high", "the priority's default beats the category's normal"),
    ("other", "urgent", "default_normal", "nothing for urgent at all: the default normal"),
    ("other", "low", "default_normal", "nothing for low: the default normal"),
])
def test_find_policy_fallbacks(refdata, policies, category, priority, expected, why):
    """The most specific active policy wins: (category, priority), (any, priority), then normal."""
    found = find_policy(db.session, getattr(refdata, category).id, Priority(priority))
    assert found is policies[expected], why


def test_category_normal_policy_when_nothing_matches_the_priority(refdata, policies):
    """Without a default for the priority, the category's normal policy applies."""
    update_row(SLA_POLICIES, policies["default_high"], {"is_active": False})
    db.session.commit()
    assert find_policy(db.session, refdata.roads.id, Priority.HIGH) is policies["roads_normal"]


def test_inactive_policy_is_skipped(refdata, policies):
    """A deactivated category policy gives way to the default."""
    update_row(SLA_POLICIES, policies["roads_normal"], {"is_active": False})
    db.session.commit()
    assert find_policy(db.session, refdata.roads.id, Priority.NORMAL) is policies["default_normal"]


def test_no_policy_means_no_clock(refdata, new_case):
    """With no policy at all a case still files, without a deadline."""
    for row in db.session.scalars(sa.select(SlaPolicy)):
        update_row(SLA_POLICIES, row, {"is_active": False})
    db.session.commit()
    case = new_case()
    assert case.due_at is None
    assert db.session.query(CaseClock).count() == 0


def test_immediate_track_counts_clock_hours(refdata, policies, new_case):
    """An urgent road case submitted Friday 16:30 must be accepted by 17:30 the same evening."""
    friday = vn(2026, 11, 20, 16, 30)
    case = new_case(friday, priority=Priority.URGENT)
    assert case.track == "immediate"
    assert case.due_step == "accept"
    assert case.due_at == friday + timedelta(hours=1)
    assert case.resolve_due_at == friday + timedelta(hours=4)


def test_deadline_track_counts_working_time(refdata, policies, new_case, calendar):
    """The same case at normal priority gets one working day to be accepted: Monday 16:30."""
    friday = vn(2026, 11, 20, 16, 30)
    case = new_case(friday)
    assert case.track == "deadline"
    assert case.due_at == vn(2026, 11, 23, 16, 30)
    assert case.resolve_due_at == calendar.add(friday, timedelta(days=7) * 7.5 / 24)


def test_policy_track_decides_how_time_counts(refdata, new_case):
    """A category marked immediate but covered only by a deadline policy counts working time,
    since the policy's durations were written in working days."""
    trees = make_category("fallen-trees", track="immediate", requires_after_photo=False)
    case = new_case(vn(2026, 11, 20, 16, 30), category=trees)
    assert case.track == "deadline"
    assert case.due_at == vn(2026, 11, 23, 16, 30)
