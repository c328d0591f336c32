"""Queueing notifications in the outbox, in the same transaction as the action that causes them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.models import Case, CaseEvent, CaseFollower, OutboxMessage, User
from workflows.machine import Recipient, Transition
from workflows.roles import Role
from workflows.states import STATE_LABELS, CaseState

TITLES: dict[str, dict[str, str]] = {
    "status_changed": {"vi": "Phản ánh {code}: {state}", "en": "Report {code}: {state}"},
    "case_assigned": {"vi": "Hồ sơ mới {code} được chuyển đến đơn vị",
                      "en": "New case {code} assigned to your agency"},
    "case_updated": {"vi": "Hồ sơ {code} có cập nhật", "en": "Case {code} was updated"},
    "supervisor_attention": {"vi": "Hồ sơ {code} cần lãnh đạo xem xét",
                             "en": "Case {code} needs a supervisor"},
    "merged": {"vi": "Phản ánh {code} được gộp vào {target}",
               "en": "Report {code} was merged into {target}"},
    "sla_warning": {"vi": "Hồ sơ {code} sắp quá hạn ({step})",
                    "en": "Case {code} is close to its {step} deadline"},
    "sla_breach": {"vi": "Hồ sơ {code} đã quá hạn ({step})",
                   "en": "Case {code} missed its {step} deadline"},
}


def render(topic: str, language: str, **values: Any) -> str:
    """A notification title in the recipient's language."""
    texts = TITLES[topic]
    return texts.get(language, texts["vi"]).format(**values)


def enqueue(session: Session, *, dedupe_key: str, topic: str, case: Case | None,
            user: User | None = None, agency_id: int | None = None,
            values: dict[str, Any] | None = None, data: dict[str, Any] | None = None) -> None:
    """Add one message unless the same effect was already queued (dedupe_key is unique)."""
    if session.scalar(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return
    language = user.language if user is not None else "vi"
    values = dict(values or {})
    if case is not None:
        values.setdefault("code", case.tracking_code)
        state = CaseState(case.state)
        values.setdefault("state", STATE_LABELS[state].get(language, STATE_LABELS[state]["vi"]))
    payload = {"title": render(topic, language, **values), "topic": topic,
               "case_id": case.id if case else None,
               "tracking_code": case.tracking_code if case else None,
               "state": str(case.state) if case else None, **(data or {})}
    session.add(OutboxMessage(
        dedupe_key=dedupe_key, topic=topic, case_id=case.id if case else None,
        recipient_user_id=user.id if user else None, recipient_agency_id=agency_id,
        language=language, payload=payload))


def citizens_of(session: Session, case: Case) -> list[User]:
    """The reporter and the followers (reporters of merged duplicates), each once."""
    users: dict[int, User] = {}
    if case.reporter is not None:
        users[case.reporter.id] = case.reporter
    followers = session.scalars(sa.select(User).join(CaseFollower, CaseFollower.user_id == User.id)
                                .where(CaseFollower.case_id == case.id))
    for user in followers:
        users.setdefault(user.id, user)
    return [u for u in users.values() if u.is_active]


def agency_staff(session: Session, agency_id: int) -> list[User]:
    """Active staff accounts of an agency."""
    return list(session.scalars(sa.select(User).where(
        User.agency_id == agency_id, User.role == Role.STAFF, User.is_active.is_(True))))


def supervisors(session: Session) -> list[User]:
    """Active supervisors, who hear about breaches and extension requests."""
    return list(session.scalars(sa.select(User).where(
        User.role == Role.SUPERVISOR, User.is_active.is_(True))))


def queue_for_action(session: Session, case: Case, transition: Transition, event: CaseEvent,
                     *, state_changed: bool) -> None:
    """Queue what the table says this action tells whom, in each recipient's language."""
    key = f"event:{event.id}"
    recipients: Iterable[Recipient] = transition.notify
    if Recipient.REPORTER in recipients or Recipient.FOLLOWERS in recipients:
        citizens = citizens_of(session, case)
        if Recipient.FOLLOWERS not in recipients and case.reporter is not None:
            citizens = [u for u in citizens if u.id == case.reporter_id]
        if event.is_public and state_changed:
            for user in citizens:
                enqueue(session, dedupe_key=f"{key}:user:{user.id}", topic="status_changed",
                        case=case, user=user)
    if Recipient.AGENCY in recipients and case.agency_id is not None:
        topic = "case_assigned" if str(case.state) == CaseState.ASSIGNED and state_changed \
            else "case_updated"
        for user in agency_staff(session, case.agency_id):
            enqueue(session, dedupe_key=f"{key}:user:{user.id}", topic=topic, case=case,
                    user=user, agency_id=case.agency_id)
    if Recipient.SUPERVISORS in recipients:
        for user in supervisors(session):
            enqueue(session, dedupe_key=f"{key}:user:{user.id}", topic="supervisor_attention",
                    case=case, user=user)
