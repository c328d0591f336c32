"""The engine: actions through perform_action, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.models import CaseEvent, OutboxMessage
from tests.factories import act, make_case, make_user
from workflows.machine import InvalidTransition, MissingFields, NotPermitted
from workflows.operations import StaleVersion
from workflows.roles import Role

MONDAY_9 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # 09:00 in Hồ Chí Minh City


def test_routed_submission_is_assigned_with_accept_and_resolve_clocks(refdata):
    """A report with a routing rule goes straight to the agency, clocks running."""
    case = make_case(refdata, now=MONDAY_9)
    assert case.state == "assigned"
    assert case.agency_id == refdata.department.id
    assert case.due_step == "accept"
    assert case.resolve_due_at is not None
    assert case.tracking_code.startswith("PA-2611-")


def test_unrouted_submission_waits_for_triage(refdata):
    """Without a rule the case stays submitted with a triage clock."""
    case = make_case(refdata, routed=False, now=MONDAY_9)
    assert case.state == "submitted"
    assert case.due_step == "triage"
    # 09:00-11:30 is 2.5 working hours; the other 1.5 run from 13:30: 15:00 local.
    assert case.due_at == datetime(2026, 11, 16, 8, 0, tzinfo=UTC)


def test_staff_of_the_agency_accepts_and_resolves(refdata):
    """The agency's staff take the case through to resolved; the timeline records each step."""
    case = make_case(refdata, now=MONDAY_9)
    staff = make_user(Role.STAFF, agency=refdata.department)
    act(case, "accept", staff)
    act(case, "resolve", staff, note="Đã vá ổ gà", photos=["x"])
    assert case.state == "resolved"
    actions = db.session.scalars(sa.select(CaseEvent.action).where(CaseEvent.case_id == case.id)
                                 .order_by(CaseEvent.id)).all()
    assert actions == ["submit", "accept", "resolve"]


def test_staff_of_another_agency_is_not_permitted(refdata):
    """Staff never act on another agency's case."""
    case = make_case(refdata)
    other = make_user(Role.STAFF, agency=refdata.ward_agency)
    with pytest.raises(NotPermitted):
        act(case, "accept", other)


def test_action_from_a_wrong_state_is_an_invalid_transition(refdata):
    """Resolving a case that nobody accepted is refused."""
    case = make_case(refdata)
    staff = make_user(Role.STAFF, agency=refdata.department)
    with pytest.raises(InvalidTransition):
        act(case, "resolve", staff, note="x")


def test_resolve_needs_an_after_photo_when_the_category_says_so(refdata):
    """Roads need proof; the engine names the missing field."""
    case = make_case(refdata)
    staff = make_user(Role.STAFF, agency=refdata.department)
    act(case, "accept", staff)
    with pytest.raises(MissingFields) as exc:
        act(case, "resolve", staff, note="Xong")
    assert exc.value.fields == ["photos"]


def test_stale_version_is_refused(refdata):
    """An action based on an old version of the case is a conflict."""
    from reports_app.workflow_context import workflow_context
    from workflows.operations import Actor, perform_action

    case = make_case(refdata)
    staff = make_user(Role.STAFF, agency=refdata.department)
    with pytest.raises(StaleVersion):
        perform_action(db.session, case, "accept", Actor(staff), {}, workflow_context(),
                       expected_version=case.version + 1)


def test_request_info_pauses_and_provide_info_resumes_the_clock(refdata):
    """While the agency waits for the citizen, no deadline runs."""
    reporter = make_user(Role.CITIZEN)
    case = make_case(refdata, reporter, now=MONDAY_9)
    staff = make_user(Role.STAFF, agency=refdata.department)
    act(case, "accept", staff, now=MONDAY_9)
    before = case.resolve_due_at
    act(case, "request_info", staff, now=MONDAY_9, note="Ở đoạn nào?")
    assert case.due_at is None
    act(case, "provide_info", reporter, now=datetime(2026, 11, 17, 2, 0, tzinfo=UTC),
        note="Trước số nhà 12")
    # A full working day passed while paused, so the deadline moved by one working day.
    assert case.resolve_due_at > before


def test_assignment_notifies_the_reporter_and_the_agency(refdata):
    """The outbox gets one message per recipient in the same transaction."""
    reporter = make_user(Role.CITIZEN)
    staff = make_user(Role.STAFF, agency=refdata.department)
    case = make_case(refdata, reporter)
    recipients = set(db.session.scalars(sa.select(OutboxMessage.recipient_user_id)
                                        .where(OutboxMessage.case_id == case.id)))
    assert recipients == {reporter.id, staff.id}


def test_a_supervisor_reopening_with_a_deadline_sets_the_new_round(refdata):
    """The due_at given on reopen becomes the new resolve round's (original) deadline."""
    case = make_case(refdata, now=MONDAY_9)
    staff = make_user(Role.STAFF, agency=refdata.department)
    supervisor = make_user(Role.SUPERVISOR)
    act(case, "accept", staff, now=MONDAY_9)
    act(case, "resolve", staff, now=MONDAY_9, note="Xong", photos=["x"])
    new_deadline = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    act(case, "reopen", supervisor, now=MONDAY_9, note="Làm lại", due_at=new_deadline)
    assert case.resolve_due_at == new_deadline
    assert case.resolve_original_due_at == new_deadline
    assert case.extension_granted is False


def test_resolving_drops_a_pending_extension_request(refdata):
    """A request for more time is moot once the case is resolved."""
    case = make_case(refdata, now=MONDAY_9)
    staff = make_user(Role.STAFF, agency=refdata.department)
    act(case, "accept", staff, now=MONDAY_9)
    act(case, "request_extension", staff, now=MONDAY_9, reason="Chờ vật tư",
        due_at=datetime(2026, 12, 30, 3, 0, tzinfo=UTC))
    act(case, "resolve", staff, now=MONDAY_9, note="Xong", photos=["x"])
    assert case.pending_extension_due_at is None
