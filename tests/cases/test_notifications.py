"""What the outbox says: titles and bodies in the recipient's language, never the reporter."""

from __future__ import annotations

import json

import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.models import OutboxMessage
from tests.cases.conftest import SECRETS
from tests.factories import act


def _messages(case, user) -> list[OutboxMessage]:
    return list(db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.case_id == case.id, OutboxMessage.recipient_user_id == user.id)
        .order_by(OutboxMessage.id)))


def test_citizen_reads_the_reply_in_their_language(case_in, people):
    """An English-speaking reporter gets the resolve title and reply in English."""
    people.reporter.language = "en"
    db.session.commit()
    case = case_in("in_progress")
    act(case, "resolve", people.staff, note="Pothole filled", photos=["after"])
    last = _messages(case, people.reporter)[-1]
    assert last.language == "en"
    assert last.payload["title"] == f"Report {case.tracking_code}: Resolved"
    assert last.payload["body"] == "Resolve\nPothole filled"


def test_rejection_says_why_in_words(case_in, people):
    """The citizen reads the reason, not the code."""
    case = case_in("submitted")
    act(case, "reject", people.operator, reason="not_enough_information")
    body = _messages(case, people.reporter)[-1].payload["body"]
    assert body == "Từ chối\nKhông đủ thông tin để xử lý"


def test_agency_hears_of_an_assignment_without_the_reporter(case_in, people, refdata):
    """Staff get what and where, in their language, and nothing about who reported."""
    case = case_in("submitted", address="12 Lê Duẩn")
    people.other_staff.language = "en"
    db.session.commit()
    act(case, "assign", people.operator, agency_id=refdata.ward_agency.id)
    [message] = _messages(case, people.other_staff)
    assert message.topic == "case_assigned"
    assert message.payload["title"] == f"New case {case.tracking_code} assigned to your agency"
    assert message.payload["body"] == f"Assign\n{refdata.roads.name_en}: 12 Lê Duẩn"
    text = json.dumps(message.payload, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in text


def test_resuming_tells_the_citizen(case_in, people):
    """When the agency goes on without an answer, the reporter hears the case is back in work."""
    case = case_in("need_info")
    act(case, "resume", people.staff, note="Đã xác minh tại hiện trường")
    last = _messages(case, people.reporter)[-1]
    assert last.payload["action"] == "resume"
    assert last.payload["state"] == "in_progress"
    assert "Đã xác minh tại hiện trường" in last.payload["body"]


def test_internal_steps_do_not_reach_the_citizen(case_in, people):
    """Comments and extension requests stay inside: the citizen gets nothing for them."""
    case = case_in("in_progress")
    before = len(_messages(case, people.reporter))
    act(case, "comment", people.staff, note="Chờ xe")
    assert len(_messages(case, people.reporter)) == before


def test_a_big_agency_hears_of_an_assignment_in_one_insert(case_in, people, refdata):
    """Every staff member of the agency gets one message, queued by one insert statement
    whatever the agency's size (no lookup: the dedupe key skips what is already queued)."""
    from tests.factories import make_user
    from workflows.roles import Role

    staff = [make_user(Role.STAFF, agency=refdata.ward_agency) for _ in range(30)]
    case = case_in("submitted")
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "outbox" in statement:
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        act(case, "assign", people.operator, agency_id=refdata.ward_agency.id)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    for user in [*staff, people.other_staff]:
        assert [m.topic for m in _messages(case, user)] == ["case_assigned"]
    lookups = [s for s in statements if s.lstrip().startswith("SELECT")]
    inserts = [s for s in statements if s.lstrip().startswith("INSERT")]
    assert (len(lookups), len(inserts)) == (0, 1)


def test_an_effect_queued_again_adds_no_second_message(case_in, people):
    """A retried job or action queues the same dedupe key: in the same transaction, after a
    commit, or twice in one batch, the outbox keeps the first message only."""
    from workflows.notifications import enqueue, enqueue_many

    case = case_in("submitted")
    first = dict(dedupe_key="retry:1", topic="case_updated", case=case, user=people.staff)
    enqueue(db.session, **first)
    db.session.commit()
    enqueue(db.session, **first)
    enqueue_many(db.session, [dict(first, topic="case_assigned"), first])
    db.session.commit()
    queued = db.session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.dedupe_key == "retry:1")).all()
    assert [m.topic for m in queued] == ["case_updated"]
