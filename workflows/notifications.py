"""Queueing notifications in the outbox, in the same transaction as the action that causes them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.models import Case, CaseEvent, CaseFollower, OutboxMessage, User
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
    """`enqueue` for many messages at once: one lookup of the keys already queued, one insert.

    An agency of a big city has a hundred staff; asked one by one, the lookups would also
    flush each new message on its own (autoflush), two round trips per person.
    """
    if not messages:
        return
    keys = [m["dedupe_key"] for m in messages]
    with session.no_autoflush:
        queued = set(session.scalars(sa.select(OutboxMessage.dedupe_key).where(
            OutboxMessage.dedupe_key.in_(keys))))
    pending = {o.dedupe_key for o in session.new if isinstance(o, OutboxMessage)}
    for message in messages:
        if message["dedupe_key"] in queued or message["dedupe_key"] in pending:
            continue
        pending.add(message["dedupe_key"])
        session.add(_message(**message))


def _message(*, dedupe_key: str, topic: str, case: Case | None, user: User | None = None,
             agency_id: int | None = None, values: dict[str, Any] | None = None,
             data: dict[str, Any] | None = None,
             body: Mapping[str, str] | None = None) -> OutboxMessage:
    language = user.language if user is not None else "vi"
    if language not in LANGUAGES:
        language = "vi"
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
    return OutboxMessage(
        dedupe_key=dedupe_key, topic=topic, case_id=case.id if case else None,
        recipient_user_id=user.id if user else None, recipient_agency_id=agency_id,
        language=language, payload=payload)


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
