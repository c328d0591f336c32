"""The sweeper: each warning and breach once, only due rows, escalation through the outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.extensions import db
from reports_app.models import CaseClock, OutboxMessage, SlaEvent
from tests.concurrency import at_once
from tests.factories import act, make_case
from tests.sla.conftest import MONDAY_9, vn
from workflows.jobs import JobContext, declared_jobs
from workflows.notifications import enqueue
from workflows.sweeper import due_clocks_query, outbox_row, sla_body, sweep_deadlines

# A case routed Monday 09:00 under the default policy (accept 1 working day, resolve 5,
# warnings at 75%): accept warns Monday 16:37:30 and falls due Tuesday 09:00.
ACCEPT_WARNED = vn(2026, 11, 16, 16, 40)
ACCEPT_LATE = vn(2026, 11, 17, 9, 30)


def events(kind=None):
    stmt = sa.select(SlaEvent).order_by(SlaEvent.id)
    if kind:
        stmt = stmt.where(SlaEvent.kind == kind)
    return db.session.scalars(stmt).all()


def outbox(topic):
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.topic == topic)
                              .order_by(OutboxMessage.id)).all()


def clock(case, step):
    return db.session.scalar(sa.select(CaseClock).where(
        CaseClock.case_id == case.id, CaseClock.step == step).order_by(CaseClock.id.desc()))


def test_sweep_deadlines_is_a_declared_job():
    """The scheduler runs the sweeper every minute."""
    job = next(j for j in declared_jobs() if j.id == "sweep_deadlines")
    assert job.run is sweep_deadlines
    assert (job.trigger, dict(job.trigger_args)) == ("interval", {"seconds": 60})


def test_nothing_due_records_nothing(new_case, sweep):
    """Before any warning instant a sweep reads nothing and writes nothing."""
    new_case()
    result = sweep(vn(2026, 11, 16, 16, 0))
    assert (result.checked, result.warnings, result.breaches, result.batches) == (0, 0, 0, 0)
    assert events() == []


def test_warning_then_breach_each_recorded_once(new_case, sweep):
    """At 75% a warning, at the deadline a breach; sweeping again records nothing more."""
    case = new_case()
    accept = clock(case, "accept")
    result = sweep(ACCEPT_WARNED)
    assert (result.checked, result.warnings, result.breaches) == (1, 1, 0)
    assert clock(case, "accept").next_check_at == accept.due_at
    assert sweep(ACCEPT_WARNED + timedelta(minutes=1)).checked == 0
    result = sweep(ACCEPT_LATE)
    assert (result.checked, result.warnings, result.breaches) == (1, 0, 1)
    assert clock(case, "accept").next_check_at is None
    assert sweep(ACCEPT_LATE + timedelta(hours=1)).checked == 0
    recorded = [(e.step, e.kind, e.due_at, e.agency_id) for e in events()]
    assert recorded == [("accept", "warning", accept.due_at, case.agency_id),
                        ("accept", "breach", accept.due_at, case.agency_id)]


def test_sweep_touches_only_due_clocks(new_case, sweep):
    """A clock whose check has not come is neither read nor changed."""
    due = new_case(MONDAY_9)
    later = new_case(vn(2026, 11, 16, 16, 0))
    untouched = {(c.id, c.next_check_at) for c in db.session.scalars(
        sa.select(CaseClock).where(CaseClock.case_id == later.id))}
    result = sweep(ACCEPT_WARNED)
    assert (result.checked, result.warnings) == (1, 1)
    assert {(c.id, c.next_check_at) for c in db.session.scalars(
        sa.select(CaseClock).where(CaseClock.case_id == later.id))} == untouched
    assert {e.case_id for e in events()} == {due.id}


def test_a_rerun_after_a_lost_update_records_nothing_twice(new_case, people, sweep):
    """If a run's clock update is lost, the next run hits the unique rows and sends nothing."""
    case = new_case()
    sweep(ACCEPT_LATE)
    sent = len(db.session.scalars(sa.select(OutboxMessage)).all())
    accept = clock(case, "accept")
    accept.next_check_at = accept.warn_at  # as if the run had crashed before its update
    db.session.commit()
    result = sweep(ACCEPT_LATE)
    assert (result.checked, result.warnings, result.breaches, result.notifications) == (1, 0, 0, 0)
    assert len(events()) == 2
    assert len(db.session.scalars(sa.select(OutboxMessage)).all()) == sent


def test_warning_and_breach_in_one_sweep_sends_only_the_breach(new_case, people, sweep):
    """Both rows are kept, but nobody is told 'close to the deadline' after it passed."""
    new_case()
    result = sweep(ACCEPT_LATE)
    assert (result.warnings, result.breaches) == (1, 1)
    assert outbox("sla_warning") == []
    assert len(outbox("sla_breach")) == len(people.supervisors) + len(people.staff)


def test_warning_goes_to_the_agency_staff(new_case, people, sweep):
    """A warning reaches the staff of the case's agency, not other agencies nor supervisors."""
    case = new_case()
    sweep(ACCEPT_WARNED)
    messages = outbox("sla_warning")
    assert {m.recipient_user_id for m in messages} == {u.id for u in people.staff}
    assert {m.recipient_agency_id for m in messages} == {case.agency_id}
    event = events("warning")[0]
    assert {m.dedupe_key for m in messages} == {f"sla:{event.id}:{u.id}" for u in people.staff}
    assert messages[0].payload["title"] == f"Hồ sơ {case.tracking_code} sắp quá hạn (tiếp nhận)"


def test_breach_escalates_to_every_supervisor_and_the_agency_staff(new_case, people, sweep):
    """Supervisors have no agency, so every active supervisor hears of every breach."""
    case = new_case()
    sweep(ACCEPT_WARNED)
    sweep(ACCEPT_LATE)
    messages = outbox("sla_breach")
    expected = {u.id for u in people.supervisors + people.staff}
    assert {m.recipient_user_id for m in messages} == expected
    assert len(messages) == len(expected)
    english = next(m for m in messages if m.recipient_user_id == people.supervisors[1].id)
    assert english.language == "en"
    assert english.payload["title"] == f"Case {case.tracking_code} missed its acceptance deadline"
    assert english.payload["body"] == "Deadline: 2026-11-17 09:00"
    assert english.recipient_agency_id is None


def test_inactive_accounts_are_not_notified(new_case, people, sweep):
    """A deactivated supervisor hears nothing."""
    people.supervisors[0].is_active = False
    db.session.commit()
    new_case()
    sweep(ACCEPT_LATE)
    assert people.supervisors[0].id not in {m.recipient_user_id for m in outbox("sla_breach")}


def test_triage_breach_goes_to_operators_and_supervisors(refdata, people, sweep):
    """Before routing no agency has the case: the IOC operators hear instead of staff."""
    case = make_case(refdata, people.citizen, routed=False, now=MONDAY_9)  # due 15:00
    result = sweep(vn(2026, 11, 16, 15, 1))
    assert result.breaches == 1
    assert events("breach")[0].agency_id is None
    assert {m.recipient_user_id for m in outbox("sla_breach")} == (
        {people.operator.id} | {u.id for u in people.supervisors})
    assert case.id == events()[0].case_id


def test_paused_clock_is_never_swept(new_case, people, sweep):
    """While the agency waits on the citizen nothing is recorded, however late it gets."""
    case = new_case()
    act(case, "accept", people.staff[0], now=MONDAY_9)
    act(case, "request_info", people.staff[0], now=MONDAY_9, note="Ở đâu?")
    result = sweep(vn(2026, 12, 31, 9, 0))
    assert result.checked == 0
    assert events() == []


def test_stopped_clock_is_never_swept(new_case, people, sweep):
    """A step done before its deadline is never warned about afterwards."""
    case = new_case()
    act(case, "accept", people.staff[0], now=MONDAY_9)
    act(case, "resolve", people.staff[0], now=MONDAY_9, note="Xong", photos=["p"])
    assert sweep(vn(2026, 12, 31, 9, 0)).checked == 0
    assert events() == []


def test_resumed_clock_is_not_warned_twice_for_the_same_deadline(new_case, people, sweep):
    """A warning before a pause stands; after the pause the same deadline is not warned again."""
    case = new_case()
    act(case, "accept", people.staff[0], now=MONDAY_9)
    warned = vn(2026, 11, 19, 16, 40)  # resolve warns Thursday 16:37:30
    assert sweep(warned).warnings == 1
    act(case, "request_info", people.staff[0], now=warned, note="Số nhà?")
    act(case, "provide_info", people.citizen, now=vn(2026, 11, 20, 9, 0), note="12")
    assert sweep(vn(2026, 11, 20, 9, 1)).checked == 0
    result = sweep(case.resolve_due_at + timedelta(minutes=1))
    assert (result.warnings, result.breaches) == (0, 1)


def test_extended_deadline_gets_its_own_warning_and_breach(new_case, people, sweep):
    """A breach, then an extension: the new deadline is warned and breached on its own."""
    case = new_case()
    act(case, "accept", people.staff[0], now=MONDAY_9)
    first_due = case.resolve_due_at
    assert sweep(first_due + timedelta(minutes=1)).breaches == 1
    act(case, "request_extension", people.staff[0], now=first_due + timedelta(hours=1),
        reason="Chờ vật tư", due_at=first_due + timedelta(days=7))
    act(case, "extend", people.supervisors[0], now=first_due + timedelta(hours=2),
        decision="grant")
    new_due = case.resolve_due_at
    assert sweep(clock(case, "resolve").warn_at).warnings == 1
    assert sweep(new_due).breaches == 1
    resolve = [(e.kind, e.due_at) for e in events() if e.step == "resolve"]
    assert resolve == [("warning", first_due), ("breach", first_due),
                       ("warning", new_due), ("breach", new_due)]


def test_sweep_works_in_batches(new_case, sweep):
    """Many due clocks are read a batch at a time, oldest check first, all of them."""
    for minute in range(5):
        new_case(MONDAY_9 + timedelta(minutes=minute))
    result = sweep(ACCEPT_WARNED + timedelta(minutes=5), batch_size=2)
    assert (result.batches, result.checked, result.warnings) == (3, 5, 5)


def test_many_events_at_once_make_one_digest_per_person(app, new_case, people, sweep):
    """Past SLA_DIGEST_AFTER events of a kind in one sweep, a person gets one digest instead."""
    cases = [new_case(MONDAY_9 + timedelta(seconds=i)) for i in range(4)]
    app.config["SLA_DIGEST_AFTER"] = 3
    try:
        result = sweep(ACCEPT_LATE)
    finally:
        del app.config["SLA_DIGEST_AFTER"]
    assert result.breaches == 4
    assert outbox("sla_breach") == []
    digests = outbox("sla_breach_digest")
    assert {m.recipient_user_id for m in digests} == {u.id for u in people.supervisors + people.staff}
    assert len(digests) == len(people.supervisors) + len(people.staff)
    assert result.notifications == len(digests)
    english = next(m for m in digests if m.recipient_user_id == people.supervisors[1].id)
    assert english.payload["title"] == "4 cases missed their deadline"
    assert english.payload["tracking_codes"] == [c.tracking_code for c in cases]
    vietnamese = next(m for m in digests if m.recipient_user_id == people.staff[0].id)
    assert vietnamese.payload["title"] == "4 hồ sơ đã quá hạn"
    assert vietnamese.recipient_agency_id == cases[0].agency_id


def test_a_sweep_rolled_back_leaves_no_event_and_no_message(app, new_case, calendar):
    """The messages go in with the events, in the sweep's transaction (COPY on PostgreSQL):
    a sweep that fails before its commit leaves nothing to send, and the next one sends all."""
    new_case(MONDAY_9)
    with Session(bind=db.engine) as session:
        result = sweep_deadlines(session, JobContext(now=ACCEPT_LATE, calendar=calendar,
                                                     config=app.config))
        assert result.notifications > 0
        session.rollback()
    assert (events(), outbox("sla_breach")) == ([], [])
    with Session(bind=db.engine) as session:
        again = sweep_deadlines(session, JobContext(now=ACCEPT_LATE, calendar=calendar,
                                                    config=app.config))
        session.commit()
    assert len(outbox("sla_breach")) == again.notifications == result.notifications


def test_sla_message_has_the_shape_enqueue_gives(new_case, people, sweep, calendar):
    """The bulk-built outbox row carries the same payload `notifications.enqueue` would."""
    case = new_case()
    sweep(ACCEPT_LATE)
    event = events("breach")[0]
    user = people.supervisors[1]
    built = outbox_row(event, case, user, "sla_breach", ACCEPT_LATE, calendar.zone)
    enqueue(db.session, dedupe_key="compare", topic="sla_breach", case=case, user=user,
            values={"step": "acceptance"},
            data={"sla_event_id": event.id, "step": "accept", "kind": "breach",
                  "due_at": event.due_at.isoformat()},
            body=sla_body(event.due_at, calendar.zone))
    db.session.flush()
    queued = db.session.scalar(sa.select(OutboxMessage).where(OutboxMessage.dedupe_key == "compare"))
    assert built["payload"] == queued.payload
    assert built["language"] == queued.language


@pytest.mark.postgres_only
def test_sweeper_select_uses_the_partial_index(new_case, is_postgres):
    """The due-clock query is served by ix_case_clocks_next_check, not a table scan."""
    if not is_postgres:
        pytest.skip("EXPLAIN plans are PostgreSQL's")
    new_case()
    query = due_clocks_query(ACCEPT_LATE, 1000)
    sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
    db.session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(db.session.scalars(sa.text("EXPLAIN " + sql)))
    db.session.rollback()
    assert "ix_case_clocks_next_check" in plan
    assert "SKIP LOCKED" in sql


@pytest.mark.postgres_only
@pytest.mark.parametrize("skip_locked", [True, False], ids=["skip-locked", "on-conflict-only"])
def test_four_concurrent_sweepers_record_every_breach_exactly_once(
        app, new_case, people, calendar, is_postgres, skip_locked):
    """Four sweepers with their own connections over the same due clocks: each event once."""
    if not is_postgres:
        pytest.skip("SQLite has a single writer; concurrency is PostgreSQL's to prove")
    cases = [new_case(MONDAY_9 + timedelta(seconds=i)) for i in range(120)]
    db.session.remove()
    engine = db.engine
    # Every breach its own message here, so the outbox count proves exactly-once too.
    ctx = JobContext(now=ACCEPT_LATE, calendar=calendar,
                     config={**app.config, "SLA_DIGEST_AFTER": 10**6})

    def run() -> Any:
        with Session(bind=engine) as session:
            result = sweep_deadlines(session, ctx, batch_size=7, skip_locked=skip_locked)
            session.commit()
            return result

    results = at_once(run, run, run, run, timeout=120)
    n = len(cases)
    assert sum(r.breaches for r in results) == n
    assert sum(r.warnings for r in results) == n
    counts = dict(db.session.execute(sa.select(SlaEvent.kind, sa.func.count())
                                     .group_by(SlaEvent.kind)).all())
    assert counts == {"warning": n, "breach": n}
    distinct = db.session.scalar(sa.select(sa.func.count(sa.distinct(SlaEvent.case_id)))
                                 .where(SlaEvent.kind == "breach"))
    assert distinct == n
    messages = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                                 .where(OutboxMessage.topic == "sla_breach"))
    assert messages == n * (len(people.supervisors) + len(people.staff))
    assert sum(r.notifications for r in results) == messages
    if skip_locked:
        # The sweepers split the clocks: each was read by exactly one of them.
        assert sum(r.checked for r in results) == n
