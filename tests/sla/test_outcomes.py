"""How a handled case counts in the figures: on time, late with extension, or late (Huế's three)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import act
from tests.sla.conftest import MONDAY_9
from workflows.sla_clock import HandlingOutcome, classify_handling

H = timedelta(hours=1)


def outcome(case):
    """What the statistics read: the latest round's handling time against its deadlines."""
    return classify_handling(case.resolved_at, case.resolve_original_due_at, case.resolve_due_at)


def resolve(case, people, at):
    act(case, "resolve", people.staff[0], now=at, note="Đã xử lý", photos=["p"])


@pytest.fixture
def working(new_case, people):
    case = new_case()
    act(case, "accept", people.staff[0], now=MONDAY_9)
    return case


def extend(case, people, at, by=timedelta(days=7)):
    act(case, "request_extension", people.staff[0], now=at, reason="Chờ vật tư",
        due_at=case.resolve_due_at + by)
    act(case, "extend", people.supervisors[0], now=at, decision="grant")


def test_handled_before_the_deadline_is_on_time(working, people):
    """Resolved inside the policy's time: on time."""
    resolve(working, people, MONDAY_9 + H)
    assert outcome(working) is HandlingOutcome.ON_TIME
    assert not working.extension_granted


def test_handled_after_the_deadline_without_extension_is_late(working, people):
    """Resolved after the deadline with no extension: late."""
    resolve(working, people, working.resolve_due_at + H)
    assert outcome(working) is HandlingOutcome.LATE


def test_handled_inside_a_granted_extension_is_late_with_extension(working, people):
    """Past the original deadline but inside the extension: late with extension, not on time."""
    original = working.resolve_due_at
    extend(working, people, MONDAY_9 + H)
    resolve(working, people, original + timedelta(days=2))
    assert working.extension_granted
    assert working.resolve_original_due_at == original
    assert outcome(working) is HandlingOutcome.LATE_WITH_EXTENSION


def test_extension_granted_after_the_breach_still_counts(working, people, sweep):
    """An extension granted once already late, handled inside it: late with extension."""
    original = working.resolve_due_at
    assert sweep(original + H).breaches == 1
    extend(working, people, original + 2 * H)
    resolve(working, people, original + timedelta(days=3))
    assert outcome(working) is HandlingOutcome.LATE_WITH_EXTENSION


def test_handled_after_the_extension_is_late(working, people):
    """Past the extended deadline too: late."""
    extend(working, people, MONDAY_9 + H, by=timedelta(days=1))
    resolve(working, people, working.resolve_due_at + H)
    assert outcome(working) is HandlingOutcome.LATE


def test_extension_not_needed_is_on_time(working, people):
    """Granted an extension but finished before the original deadline: on time."""
    extend(working, people, MONDAY_9 + H)
    resolve(working, people, MONDAY_9 + 2 * H)
    assert outcome(working) is HandlingOutcome.ON_TIME


def test_a_wait_on_the_citizen_is_not_an_extension(working, people, calendar):
    """A need_info pause moves both deadlines: handled inside the moved one is on time."""
    original = working.resolve_due_at
    act(working, "request_info", people.staff[0], now=MONDAY_9 + H, note="Ở đâu?")
    act(working, "provide_info", people.citizen, now=MONDAY_9 + timedelta(days=3), note="Đây")
    resolve(working, people, calendar.add(original, H))
    assert outcome(working) is HandlingOutcome.ON_TIME


def test_reopened_case_counts_its_latest_round(working, people, calendar):
    """After a reopen the new round's deadline decides, and the old extension is gone."""
    extend(working, people, MONDAY_9 + H)
    resolve(working, people, MONDAY_9 + 2 * H)
    reopened = MONDAY_9 + timedelta(days=1)
    act(working, "reopen", people.citizen, now=reopened, note="Chưa xong")
    assert not working.extension_granted
    resolve(working, people, calendar.add(reopened, timedelta(hours=7.5 * 5)) + H)
    assert outcome(working) is HandlingOutcome.LATE
