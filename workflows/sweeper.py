"""The SLA sweeper: records each warning and breach once and queues the escalations.

Run every minute by the scheduler (`sweep_deadlines` in workflows/jobs.py). It reads only
running clocks whose `next_check_at` has come, through the partial index
`ix_case_clocks_next_check` (stopped and paused clocks are not even in the index), in
batches ordered by `next_check_at`, so an idle sweep is one index probe. Each batch is three
set-based statements: read (and lock) the due clocks, insert their events with
INSERT … SELECT, move their `next_check_at` on with one UPDATE.

Exactly once, with any number of sweepers in any number of processes:

* on PostgreSQL the batch is read `FOR UPDATE OF case_clocks SKIP LOCKED`, so concurrent
  sweepers split the due clocks between them instead of queueing on the same rows;
* every event is written with `INSERT … ON CONFLICT DO NOTHING RETURNING` against the unique
  (case_id, step, kind, due_at) of `sla_events`: a row another sweeper (or an earlier,
  crashed run) already wrote is skipped, and only the rows this run really inserted come
  back, so only those are escalated. Outbox messages are deduplicated the same way by
  their `dedupe_key` ("sla:{event id}:{user id}").

Who hears (DESIGN.md: "escalates to the agency's supervisors"): supervisor accounts are
not bound to an agency, so a breach goes to every active supervisor, plus the staff of the
case's agency; a warning goes to the agency's staff only. A triage clock runs before any
agency has the case, so its warnings and breaches go to the IOC operators instead of
agency staff. A warning recorded in the same sweep as the breach of the same clock is
kept in `sla_events` but not sent: "close to the deadline" after the deadline helps nobody.
When one sweep has more than `SLA_DIGEST_AFTER` events of a kind for one person (a backlog
after downtime, a storm), that person gets one digest message for them instead of a flood
that would also clog the outbox for everyone else.

Breaches are not written to the case timeline (`case_events`): the timeline records the
workflow actions people took; warnings and breaches live in `sla_events`, where the
supervisor's API lists and acknowledges them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from reports_app.models import Case, CaseClock, OutboxMessage, SlaEvent, User
from workflows.inserts import insert_new, insert_or_skip
from workflows.jobs import JobContext
from workflows.notifications import language_of, message_row, render
from workflows.roles import Role
from workflows.sla import STEP_LABELS
from workflows.states import STATE_LABELS, CaseState

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 1000
DEFAULT_DIGEST_AFTER = 10
DIGEST_CODES = 20
"""Tracking codes named in a digest; the count and the supervisor's list give the rest."""

_CLOCKS = CaseClock.__table__
_CASES = Case.__table__
_EVENTS = SlaEvent.__table__
_OUTBOX = OutboxMessage.__table__


@dataclass
class SweepResult:
    """What one sweep did; warnings and breaches count rows this sweep really inserted."""

    checked: int = 0
    warnings: int = 0
    breaches: int = 0
    notifications: int = 0
    batches: int = 0

    def __str__(self) -> str:
        return (f"checked {self.checked} clocks in {self.batches} batches: {self.warnings} "
                f"warnings, {self.breaches} breaches, {self.notifications} notifications")


def due_clocks_query(now: datetime, limit: int, *, skip_locked: bool = True) -> sa.Select[Any]:
    """Running clocks whose next check has come, oldest first, with what escalation needs."""
    stmt = (
        sa.select(_CLOCKS.c.id, _CLOCKS.c.case_id, _CLOCKS.c.step, _CASES.c.agency_id,
                  _CASES.c.tracking_code, _CASES.c.state)
        .join(_CASES, _CASES.c.id == _CLOCKS.c.case_id)
        # The same predicate as the partial index, so the planner can use it.
        .where(_CLOCKS.c.next_check_at <= now, _CLOCKS.c.stopped_at.is_(None),
               _CLOCKS.c.paused_at.is_(None))
        .order_by(_CLOCKS.c.next_check_at)
        .limit(limit)
    )
    if skip_locked:
        # Rendered on PostgreSQL only; SQLite has one writer at a time anyway.
        stmt = stmt.with_for_update(skip_locked=True, of=_CLOCKS)
    return stmt


# The rules, once, as SQL: workflows/sla.py keeps `next_check_at` before `due_at` exactly
# while the warning is still pending.
def _warning_due(now: datetime) -> sa.ColumnElement[bool]:
    c = _CLOCKS.c
    return sa.and_(c.next_check_at < c.due_at, c.warn_at <= now)


def _breach_due(now: datetime) -> sa.ColumnElement[bool]:
    return _CLOCKS.c.due_at <= now


def _next_check(now: datetime) -> sa.ColumnElement[Any]:
    """The next pending instant: none after the breach, the deadline after the warning."""
    c = _CLOCKS.c
    return sa.case((_breach_due(now), sa.null()),
                   (sa.or_(c.warn_at <= now, c.next_check_at >= c.due_at), c.due_at),
                   else_=c.warn_at)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _ids_match(session: Session, column: sa.ColumnElement[Any], ids: list[int]
               ) -> sa.ColumnElement[bool]:
    """`column = ANY(:ids)` with one array parameter on PostgreSQL; IN (…) elsewhere."""
    if _dialect(session) == "postgresql":
        return column == sa.any_(sa.bindparam("ids", ids, type_=postgresql.ARRAY(sa.BigInteger)))
    return column.in_(ids)


def sweep_deadlines(session: Session, ctx: JobContext, *, batch_size: int | None = None,
                    skip_locked: bool = True) -> SweepResult:
    """Record due warnings and breaches once each and queue their notifications; flushes only."""
    now = ctx.now
    size = batch_size or int(ctx.config.get("SLA_SWEEP_BATCH_SIZE", DEFAULT_BATCH_SIZE))
    result = SweepResult()
    events: list[sa.Row[Any]] = []
    clocks: dict[int, sa.Row[Any]] = {}
    while True:
        rows = session.execute(due_clocks_query(now, size, skip_locked=skip_locked)).all()
        if not rows:
            break
        result.batches += 1
        result.checked += len(rows)
        ids = [r.id for r in rows]
        events += _record_events(session, ids, now)
        session.execute(_CLOCKS.update().where(_ids_match(session, _CLOCKS.c.id, ids))
                        .values(next_check_at=_next_check(now)))
        clocks.update((r.id, r) for r in rows)
        if len(rows) < size:
            break
    result.warnings = sum(1 for e in events if e.kind == "warning")
    result.breaches = len(events) - result.warnings
    if events:
        digest_after = int(ctx.config.get("SLA_DIGEST_AFTER", DEFAULT_DIGEST_AFTER))
        result.notifications = _escalate(session, events, clocks, now, ctx.calendar.zone,
                                         digest_after)
        log.info("sla sweep at %s: %s", now.isoformat(), result)
    else:
        log.debug("sla sweep at %s: %s", now.isoformat(), result)
    return result


def _record_events(session: Session, clock_ids: list[int], now: datetime) -> list[sa.Row[Any]]:
    """Insert the batch's due warnings and breaches; return only those this call inserted."""
    c = _CLOCKS.c
    kinds = sa.union_all(sa.select(sa.literal("warning").label("kind")),
                         sa.select(sa.literal("breach").label("kind"))).subquery("kinds")
    due = sa.or_(sa.and_(kinds.c.kind == "warning", _warning_due(now)),
                 sa.and_(kinds.c.kind == "breach", _breach_due(now)))
    rows = (sa.select(c.case_id, c.id, _CASES.c.agency_id, c.step, kinds.c.kind, c.due_at,
                      sa.literal(now, SlaEvent.recorded_at.type))
            .select_from(_CLOCKS.join(_CASES, _CASES.c.id == c.case_id).join(kinds, due))
            .where(_ids_match(session, c.id, clock_ids))
            # Events get their ids in clock order, so digests list cases in a stable order,
            # whatever order the rows lie in on disk.
            .order_by(c.id, kinds.c.kind.desc()))
    stmt = (insert_or_skip(session, _EVENTS)
            .from_select(["case_id", "clock_id", "agency_id", "step", "kind", "due_at",
                          "recorded_at"], rows)
            .returning(_EVENTS.c.id, _EVENTS.c.clock_id, _EVENTS.c.case_id, _EVENTS.c.step,
                       _EVENTS.c.kind, _EVENTS.c.due_at))
    return list(session.execute(stmt).all())


@dataclass(frozen=True)
class _Person:
    """Who is notified: just what a message needs, read without the ORM."""

    id: int
    role: str
    agency_id: int | None
    language: str


def _people(session: Session, agency_ids: set[int]) -> tuple[list[_Person], list[_Person],
                                                               dict[int, list[_Person]]]:
    """Active supervisors, active operators and each agency's active staff, in one read."""
    users = User.__table__
    wanted = sa.or_(users.c.role.in_([Role.SUPERVISOR.value, Role.OPERATOR.value]),
                    sa.and_(users.c.role == Role.STAFF.value, users.c.agency_id.in_(agency_ids)))
    rows = session.execute(sa.select(users.c.id, users.c.role, users.c.agency_id,
                                     users.c.language)
                           .where(users.c.is_active.is_(True), wanted).order_by(users.c.id))
    supervisors: list[_Person] = []
    operators: list[_Person] = []
    staff: dict[int, list[_Person]] = {agency_id: [] for agency_id in agency_ids}
    for row in rows:
        person = _Person(row.id, row.role, row.agency_id, row.language)
        if row.role == Role.SUPERVISOR:
            supervisors.append(person)
        elif row.role == Role.OPERATOR:
            operators.append(person)
        else:
            staff[row.agency_id].append(person)
    return supervisors, operators, staff


def _escalate(session: Session, events: list[sa.Row[Any]], clocks: dict[int, sa.Row[Any]],
              now: datetime, zone: tzinfo, digest_after: int) -> int:
    """Queue the messages for the new events: one per event and person, or one digest."""
    breached = {e.clock_id for e in events if e.kind == "breach"}
    # (agency id, kind) -> events its handlers hear of (agency None: triage, the operators)
    groups: dict[tuple[int | None, str], list[sa.Row[Any]]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e.id):
        if event.kind == "warning" and event.clock_id in breached:
            continue
        groups[(clocks[event.clock_id].agency_id, event.kind)].append(event)
    supervisors, operators, staff = _people(
        session, {agency_id for agency_id, _ in groups if agency_id is not None})
    owed: list[tuple[_Person, str, list[sa.Row[Any]]]] = []
    for (agency_id, kind), theirs in groups.items():
        handlers = staff[agency_id] if agency_id is not None else operators
        owed += [(person, kind, theirs) for person in handlers]
    every_breach = [e for (_, kind), theirs in groups.items() if kind == "breach" for e in theirs]
    every_breach.sort(key=lambda e: e.id)
    owed += [(person, "breach", every_breach) for person in supervisors if every_breach]
    messages: list[dict[str, Any]] = []
    # Everyone of a group gets the same digest codes: listed once per group, not per person.
    codes_of: dict[int, list[str]] = {}
    for person, kind, theirs in owed:
        if len(theirs) > digest_after:
            if id(theirs) not in codes_of:
                codes_of[id(theirs)] = [clocks[e.clock_id].tracking_code
                                        for e in theirs[:DIGEST_CODES]]
            messages.append(digest_row(theirs, codes_of[id(theirs)], person, kind, now))
        else:
            messages += [outbox_row(e, clocks[e.clock_id], person, f"sla_{kind}", now, zone)
                         for e in theirs]
    if not messages:
        return 0
    # Every key names an event this sweep has just inserted, so none can exist yet: all are
    # queued, with COPY on PostgreSQL (a third of the sweep's time as an INSERT per row).
    insert_new(session, _OUTBOX, messages)
    return len(messages)


def _message(key: str, topic: str, case_id: int | None, user: Any, agency_id: int | None,
             payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    # Only staff messages are addressed as their agency's (operators hear of unassigned cases).
    return message_row(key, topic, case_id, user, agency_id if user.role == Role.STAFF else None,
                       payload, now)


def outbox_row(event: Any, clock: Any, user: Any, topic: str, now: datetime,
               zone: tzinfo) -> dict[str, Any]:
    """One outbox message for an SLA event, shaped as `notifications.enqueue` shapes them.

    Built here rather than through `enqueue` so that many events make one bulk insert, not
    a lookup and an insert each; tests/sla check that both give the same payload.
    """
    language = language_of(user)
    state = CaseState(clock.state)
    step = STEP_LABELS[event.step]
    values = {"code": clock.tracking_code,
              "state": STATE_LABELS[state].get(language, STATE_LABELS[state]["vi"]),
              "step": step.get(language, step["vi"])}
    payload = {"title": render(topic, language, **values), "topic": topic,
               "case_id": event.case_id, "tracking_code": clock.tracking_code,
               "state": state.value, "sla_event_id": event.id, "step": event.step,
               "kind": event.kind, "due_at": event.due_at.isoformat(),
               "body": sla_body(event.due_at, zone)[language]}
    return _message(f"sla:{event.id}:{user.id}", topic, event.case_id, user, clock.agency_id,
                    payload, now)


def digest_row(ordered: Sequence[Any], codes: list[str], user: Any, kind: str,
               now: datetime) -> dict[str, Any]:
    """One message for many events of a kind, in id order (the first id keeps it unique),
    naming the first DIGEST_CODES cases by their `codes`."""
    language = language_of(user)
    topic = f"sla_{kind}_digest"
    more = len(ordered) - len(codes)
    body = ", ".join(codes) + (f" (+{more})" if more > 0 else "")
    payload = {"title": render(topic, language, count=len(ordered)), "topic": topic,
               "case_id": None, "tracking_code": None, "state": None, "kind": kind,
               "count": len(ordered), "tracking_codes": codes,
               "sla_event_ids": [ordered[0].id, ordered[-1].id], "body": body}
    # Staff hear only of their own agency's cases: the digest is addressed as that agency's.
    return _message(f"sla:digest:{ordered[0].id}:{user.id}", topic, None, user, user.agency_id,
                    payload, now)


def sla_body(due_at: datetime, zone: tzinfo) -> dict[str, str]:
    """The deadline in the office's time zone, in both languages."""
    local = due_at.astimezone(zone)
    return {"vi": f"Hạn: {local:%H:%M} ngày {local:%d/%m/%Y}",
            "en": f"Deadline: {local:%Y-%m-%d %H:%M}"}
