"""Deadlines on the case: set when a clock starts, paused, extended, restarted; what a case shows."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from reports_app.extensions import db
from reports_app.models import CaseClock
from tests.factories import act
from tests.sla.conftest import MONDAY_9, vn
from workflows.operations import GuardFailed, InvalidInput
from workflows.sla import ClockState, clock_status

H = timedelta(hours=1)


def clock(case, step):
    """The latest clock of a step."""
    return db.session.scalar(sa.select(CaseClock).where(
        CaseClock.case_id == case.id, CaseClock.step == step).order_by(CaseClock.id.desc()))


def in_progress(new_case, people, now=MONDAY_9):
    case = new_case(now)
    act(case, "accept", people.staff[0], now=now)
    return case


def test_triage_clock_started_friday_afternoon_ends_monday(refdata, people):
    """A report filed Friday 16:50 (the clock read from the system time) is due Monday 11:20.

    4 working hours: 10 minutes on Friday, 07:30-11:30 less 10 minutes on Monday. (The
    issue says 10:20; with 07:30 openings the sum gives 11:20.)
    """
    from tests.factories import make_case

    with time_machine.travel(vn(2026, 11, 20, 16, 50), tick=False):
        case = make_case(refdata, people.citizen, routed=False)
    assert case.state == "submitted"
    assert case.due_step == "triage"
    assert case.due_at == vn(2026, 11, 23, 11, 20)


def test_assignment_stops_triage_and_starts_accept_and_resolve(refdata, people):
    """Routing by the operator ends the triage clock and starts the agency's two clocks."""
    from tests.factories import make_case

    case = make_case(refdata, people.citizen, routed=False, now=MONDAY_9)
    act(case, "assign", people.operator, now=MONDAY_9 + H, agency_id=refdata.department.id)
    assert clock(case, "triage").stopped_at == MONDAY_9 + H
    assert case.due_step == "accept"
    assert case.due_at == vn(2026, 11, 17, 10, 0)  # one working day after Monday 10:00
    assert case.resolve_due_at == case.resolve_original_due_at == vn(2026, 11, 23, 10, 0)


def test_clock_status_shows_each_step_and_the_time_left(new_case, people, calendar):
    """A case shows its current deadline and the working time left on each step."""
    case = new_case()
    status = clock_status(case, calendar, vn(2026, 11, 16, 14, 0))
    assert [c.step for c in status.steps] == ["accept", "resolve"]
    assert status.current is not None
    assert status.current.step == "accept"
    # Monday 09:00-11:30 and 13:30-14:00 used 3 of the 7.5 working hours.
    assert status.current.remaining == timedelta(hours=4, minutes=30)
    assert status.current.state is ClockState.RUNNING
    data = status.as_dict()
    assert data["due_at"] == case.due_at
    assert data["remaining_minutes"] == 270


def test_clock_status_is_negative_and_late_after_the_deadline(new_case, people, calendar):
    """Past the deadline the clock is late and the time left is negative working time."""
    case = new_case()
    status = clock_status(case, calendar, vn(2026, 11, 17, 14, 0))  # due Tuesday 09:00
    accept = status.steps[0]
    assert accept.state is ClockState.LATE
    assert accept.is_late
    assert accept.remaining == -timedelta(hours=3)  # 09:00-11:30 and 13:30-14:00


def test_stopped_clock_keeps_the_time_left_when_its_step_was_done(new_case, people, calendar):
    """Once accepted, the accept clock is stopped with the time that was left then."""
    case = new_case()
    act(case, "accept", people.staff[0], now=vn(2026, 11, 16, 10, 0))
    accept = clock_status(case, calendar, vn(2026, 12, 1, 9, 0)).steps[0]
    assert accept.state is ClockState.STOPPED
    assert accept.remaining == timedelta(hours=6, minutes=30)
    assert not accept.is_late


def test_need_info_pauses_the_clock_and_moves_the_deadline_by_the_pause(new_case, people,
                                                                        calendar):
    """Two working days waiting on the citizen move the resolve deadline by two working days."""
    case = in_progress(new_case, people)
    before = case.resolve_due_at
    act(case, "request_info", people.staff[0], now=MONDAY_9, note="Ở đoạn nào?")
    resolve = clock(case, "resolve")
    assert resolve.paused_at == MONDAY_9
    assert resolve.next_check_at is None
    assert case.due_at is None
    paused = clock_status(case, calendar, vn(2026, 11, 18, 9, 0)).steps[-1]
    assert paused.state is ClockState.PAUSED
    assert paused.remaining == calendar.between(MONDAY_9, before)
    act(case, "provide_info", people.citizen, now=vn(2026, 11, 18, 9, 0), note="Trước số 12")
    assert case.resolve_due_at == calendar.add(before, timedelta(hours=15))
    # Waiting on the citizen is not an extension: the original deadline moves as well.
    assert case.resolve_original_due_at == case.resolve_due_at
    assert not case.extension_granted


def test_extension_moves_the_deadline_and_keeps_the_original(new_case, people, calendar):
    """A granted extension becomes the deadline; the original stays for the figures."""
    case = in_progress(new_case, people)
    original = case.resolve_due_at
    wanted = original + timedelta(days=7)
    act(case, "request_extension", people.staff[0], now=MONDAY_9 + H, reason="Chờ vật tư",
        due_at=wanted)
    assert case.pending_extension_due_at == wanted
    assert case.resolve_due_at == original
    act(case, "extend", people.supervisors[0], now=MONDAY_9 + 2 * H, decision="grant")
    assert case.resolve_due_at == wanted
    assert case.resolve_original_due_at == original
    assert case.extension_granted
    assert case.pending_extension_due_at is None
    resolve = clock(case, "resolve")
    # The warning keeps the policy's lead: a quarter of five working days before the deadline.
    assert calendar.between(resolve.warn_at, resolve.due_at) == timedelta(hours=7.5 * 5 / 4)
    assert resolve.next_check_at == resolve.warn_at
    assert clock_status(case, calendar, MONDAY_9 + 3 * H).steps[-1].extended


def test_supervisor_may_grant_another_date_than_requested(new_case, people):
    """The supervisor's due_at wins over the requested one."""
    case = in_progress(new_case, people)
    act(case, "request_extension", people.staff[0], now=MONDAY_9, reason="Mưa lớn",
        due_at=case.resolve_due_at + timedelta(days=14))
    granted = case.resolve_original_due_at + timedelta(days=3)
    act(case, "extend", people.supervisors[0], now=MONDAY_9, decision="grant", due_at=granted)
    assert case.resolve_due_at == granted


def test_refused_extension_keeps_the_deadline(new_case, people):
    """A refusal clears the request and changes no deadline."""
    case = in_progress(new_case, people)
    original = case.resolve_due_at
    act(case, "request_extension", people.staff[0], now=MONDAY_9, reason="Thiếu người",
        due_at=original + timedelta(days=3))
    act(case, "extend", people.supervisors[0], now=MONDAY_9, decision="refuse")
    assert case.resolve_due_at == original
    assert not case.extension_granted
    assert case.pending_extension_due_at is None


def test_extension_request_must_be_later_than_the_deadline(new_case, people):
    """Asking for an earlier date than the current deadline is invalid input."""
    case = in_progress(new_case, people)
    with pytest.raises(InvalidInput) as exc:
        act(case, "request_extension", people.staff[0], now=MONDAY_9, reason="x",
            due_at=case.resolve_due_at - H)
    assert "due_at" in exc.value.errors


def test_extend_without_a_request_is_refused(new_case, people):
    """A supervisor decides on a pending request; with none there is nothing to grant."""
    case = in_progress(new_case, people)
    with pytest.raises(GuardFailed) as exc:
        act(case, "extend", people.supervisors[0], now=MONDAY_9, decision="grant")
    assert exc.value.code == "no_pending_extension"


def test_extension_granted_while_paused_counts_the_rest_of_the_pause(new_case, people,
                                                                     calendar):
    """Granted during need_info, the new deadline still moves by the wait that follows."""
    case = in_progress(new_case, people)
    original = case.resolve_due_at
    act(case, "request_extension", people.staff[0], now=MONDAY_9, reason="Chờ dân",
        due_at=original + timedelta(days=7))
    act(case, "request_info", people.staff[0], now=MONDAY_9, note="Ảnh rõ hơn?")
    granted = case.pending_extension_due_at
    act(case, "extend", people.supervisors[0], now=vn(2026, 11, 17, 9, 0), decision="grant")
    act(case, "provide_info", people.citizen, now=vn(2026, 11, 18, 9, 0), note="Đây ạ")
    day = timedelta(hours=7.5)
    assert case.resolve_due_at == calendar.add(granted, day)  # Tuesday to Wednesday
    assert case.resolve_original_due_at == calendar.add(original, 2 * day)  # Monday on


def test_reopen_restarts_the_resolve_clock_with_a_new_deadline(new_case, people, calendar):
    """An unsatisfied citizen's reopen starts round 2 with a fresh resolve deadline."""
    case = in_progress(new_case, people)
    act(case, "resolve", people.staff[0], now=MONDAY_9 + H, note="Đã vá", photos=["p"])
    assert case.due_at is None
    reopened = vn(2026, 11, 18, 9, 0)
    act(case, "reopen", people.citizen, now=reopened, note="Chưa vá xong")
    resolve = clock(case, "resolve")
    assert resolve.round == 2
    assert case.due_step == "resolve"
    assert case.resolve_due_at == calendar.add(reopened, timedelta(hours=7.5 * 5))
    assert case.resolve_original_due_at == case.resolve_due_at
    assert not case.extension_granted


def test_priority_raise_recomputes_running_deadlines_from_their_start(refdata, new_case, people,
                                                                       calendar):
    """Raised to high, the running clocks get the high policy's time, counted from their start."""
    from reports_app.admin.service import SLA_POLICIES, create_row

    create_row(SLA_POLICIES, {"category_id": None, "priority": "high", "track": "deadline",
                              "triage": "PT2H", "accept": "PT4H", "resolve": "P2D"})
    db.session.commit()
    case = new_case()
    act(case, "prioritize", people.operator, now=MONDAY_9 + H, priority="high")
    assert case.due_at == calendar.add(MONDAY_9, timedelta(hours=4))
    assert case.resolve_due_at == calendar.add(MONDAY_9, timedelta(hours=15))
    assert case.resolve_original_due_at == case.resolve_due_at
