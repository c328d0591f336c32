"""Queueing notifications in the outbox, in the same transaction as the action that causes them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.db import utcnow
from reports_app.models import Case, CaseEvent, CaseFollower, OutboxMessage, User
from workflows.inserts import insert_or_skip
from workflows.machine import Action, Recipient, Transition
from workflows.roles import Role
from workflows.states import STATE_LABELS, CaseState, RejectReason

LANGUAGES = ("vi", "en")
BODY_NOTE_LIMIT = 500
"""Longer notes are cut in a notification: the app opens the case for the whole text."""

REJECT_REASON_LABELS: dict[RejectReason, dict[str, str]] = {
    RejectReason.SPAM: {"vi": "Tin rác", "en": "Spam"},
    RejectReason.ABUSIVE: {"vi": "Nội dung không phù hợp", "en": "Abusive content"},
    RejectReason.OUT_OF_SCOPE: {"vi": "Không thuộc phạm vi tiếp nhận",
                                "en": "Outside what this service handles"},
    RejectReason.OUT_OF_JURISDICTION: {"vi": "Không thuộc thẩm quyền của tỉnh",
                                       "en": "Outside the province's jurisdiction"},
    RejectReason.DUPLICATE: {"vi": "Trùng với phản ánh đã có", "en": "Duplicate of another report"},
    RejectReason.NOT_ENOUGH_INFORMATION: {"vi": "Không đủ thông tin để xử lý",
                                          "en": "Not enough information to act on"},
}
"""Reject reason codes as the citizen reads them."""

DECISION_LABELS: dict[str, dict[str, str]] = {
    "grant": {"vi": "Đồng ý gia hạn", "en": "Extension granted"},
    "refuse": {"vi": "Không đồng ý gia hạn", "en": "Extension refused"},
}

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
    "sla_warning_digest": {"vi": "{count} hồ sơ sắp quá hạn", "en": "{count} cases are close to "
                                                                   "their deadline"},
    "sla_breach_digest": {"vi": "{count} hồ sơ đã quá hạn", "en": "{count} cases missed their "
                                                                "deadline"},
}


def render(topic: str, language: str, **values: Any) -> str:
    """A notification title in the recipient's language."""
    texts = TITLES[topic]
    return texts.get(language, texts["vi"]).format(**values)


def reason_label(reason: str | None, language: str) -> str | None:
    """A reject reason code in words; free-text reasons come back unchanged."""
    if reason is None:
        return None
    try:
        labels = REJECT_REASON_LABELS[RejectReason(reason)]
    except ValueError:
        return reason
    return labels.get(language, labels["vi"])


def _cut(text: str) -> str:
    return text if len(text) <= BODY_NOTE_LIMIT else text[:BODY_NOTE_LIMIT - 1] + "…"


def event_body(case: Case, transition: Transition, event: CaseEvent,
               *, for_agency: bool = False) -> dict[str, str]:
    """The message text of an action in both languages: what was done, why, and the note.

    Never names the reporter: agency staff receive these too (DESIGN.md, Privacy).
    """
    bodies: dict[str, str] = {}
    for language in LANGUAGES:
        lines = [getattr(transition.label, language)]
        if transition.action is Action.REJECT:
            lines.append(reason_label(event.reason, language) or "")
        elif transition.action is Action.EXTEND:
            decision = DECISION_LABELS.get(str((event.data or {}).get("decision")))
            if decision:
                lines.append(decision.get(language, decision["vi"]))
        elif event.reason:
            lines.append(_cut(event.reason))
        if event.note:
            lines.append(_cut(event.note))
        if for_agency and case.category is not None:
            name = case.category.name_en if language == "en" else case.category.name_vi
            lines.append(f"{name}: {case.address}" if case.address else name)
        bodies[language] = "\n".join(line for line in lines if line)
    return bodies


def enqueue(session: Session, *, dedupe_key: str, topic: str, case: Case | None,
            user: User | None = None, agency_id: int | None = None,
            values: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
            body: Mapping[str, str] | None = None) -> None:
    """Add one message unless the same effect was already queued (dedupe_key is unique).

    `body` holds the text per language; the recipient's language is picked here.
    """
    enqueue_many(session, [dict(dedupe_key=dedupe_key, topic=topic, case=case, user=user,
                                agency_id=agency_id, values=values, data=data, body=body)])


def enqueue_many(session: Session, messages: Sequence[Mapping[str, Any]]) -> None:
    """`enqueue` for many messages at once: one statement, no lookup.

    An agency of a big city has a hundred staff. The unique dedupe key decides what is
    already queued (ON CONFLICT DO NOTHING, also against a concurrent transaction), so a
    retried action queues nothing twice without asking first.
    """
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for message in messages:
        rows.setdefault(message["dedupe_key"], _message(**message, now=now))
    if rows:
        session.execute(insert_or_skip(session, OutboxMessage.__table__), list(rows.values()))


class Addressee(Protocol):
    """What a message needs of its recipient: an account row or a User."""

    id: int
    language: str


def language_of(user: Addressee | None) -> str:
    """The recipient's language, Vietnamese when unset or unknown."""
    language = user.language if user is not None else "vi"
    return language if language in LANGUAGES else "vi"


def message_row(dedupe_key: str, topic: str, case_id: int | None, user: Addressee | None,
                agency_id: int | None, payload: dict[str, Any], now: datetime
                ) -> dict[str, Any]:
    """An outbox row, every column given, as one bulk insert needs them."""
    return {"dedupe_key": dedupe_key, "topic": topic, "case_id": case_id,
            "recipient_user_id": user.id if user is not None else None,
            "recipient_agency_id": agency_id, "language": language_of(user),
            "channel": "default", "payload": payload, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "created_at": now}


def _message(*, dedupe_key: str, topic: str, case: Case | None, now: datetime,
             user: Addressee | None = None, agency_id: int | None = None,
             values: dict[str, Any] | None = None, data: dict[str, Any] | None = None,
             body: Mapping[str, str] | None = None) -> dict[str, Any]:
    language = language_of(user)
    values = dict(values or {})
    if case is not None:
        values.setdefault("code", case.tracking_code)
        state = CaseState(case.state)
        values.setdefault("state", STATE_LABELS[state].get(language, STATE_LABELS[state]["vi"]))
    payload = {"title": render(topic, language, **values), "topic": topic,
               "case_id": case.id if case else None,
               "tracking_code": case.tracking_code if case else None,
               "state": str(case.state) if case else None, **(data or {})}
    if body:
        payload["body"] = body.get(language) or body.get("vi") or ""
    return message_row(dedupe_key, topic, case.id if case else None, user, agency_id, payload,
                       now)


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


def agency_staff(session: Session, agency_id: int) -> Sequence[Addressee]:
    """Active staff accounts of an agency (their id and language: a big agency has hundreds)."""
    return session.execute(sa.select(User.id, User.language).where(
        User.agency_id == agency_id, User.role == Role.STAFF, User.is_active.is_(True))).all()


def supervisors(session: Session) -> Sequence[Addressee]:
    """Active supervisors, who hear about breaches and extension requests."""
    return session.execute(sa.select(User.id, User.language).where(
        User.role == Role.SUPERVISOR, User.is_active.is_(True))).all()


def queue_for_action(session: Session, case: Case, transition: Transition, event: CaseEvent,
                     *, state_changed: bool) -> None:
    """Queue what the table says this action tells whom, in each recipient's language."""
    key = f"event:{event.id}"
    recipients: Iterable[Recipient] = transition.notify
    data = {"action": transition.action.value, "event_id": event.id}
    messages: list[dict[str, Any]] = []
    if Recipient.REPORTER in recipients or Recipient.FOLLOWERS in recipients:
        citizens = citizens_of(session, case)
        if Recipient.FOLLOWERS not in recipients and case.reporter is not None:
            citizens = [u for u in citizens if u.id == case.reporter_id]
        if event.is_public and state_changed:
            body = event_body(case, transition, event)
            messages += [dict(dedupe_key=f"{key}:user:{user.id}", topic="status_changed",
                              case=case, user=user, data=data, body=body) for user in citizens]
    if Recipient.AGENCY in recipients and case.agency_id is not None:
        topic = "case_assigned" if str(case.state) == CaseState.ASSIGNED and state_changed \
            else "case_updated"
        body = event_body(case, transition, event, for_agency=True)
        messages += [dict(dedupe_key=f"{key}:user:{user.id}", topic=topic, case=case, user=user,
                          agency_id=case.agency_id, data=data, body=body)
                     for user in agency_staff(session, case.agency_id)]
    if Recipient.SUPERVISORS in recipients:
        body = event_body(case, transition, event, for_agency=True)
        messages += [dict(dedupe_key=f"{key}:user:{user.id}", topic="supervisor_attention",
                          case=case, user=user, data=data, body=body)
                     for user in supervisors(session)]
    enqueue_many(session, messages)
