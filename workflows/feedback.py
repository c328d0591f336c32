"""The citizen's rating of a resolved case, and closing cases nobody rated.

Rules (DESIGN.md, "feedback"):

* Only the reporter rates: the person who sent the report. Followers (reporters of
  duplicates merged into the case) hear about it but do not rate it, so every case has at
  most one rating per resolution and the figures count people who sent reports.
* The case must be `resolved`; one rating per resolution round (the `feedback` table is
  unique per case and round). A reopened and re-resolved case is rated again, and
  `cases.latest_rating` (what the figures count) follows the latest rating.
* `dissatisfied` within the feedback window (FEEDBACK_WINDOW_DAYS from `resolved_at`, the
  engine's `within_feedback_window` guard) reopens the case for the agency as the reporter,
  with the comment (or a default text) as the note; any other rating, or `dissatisfied`
  after the window, closes it as the system.
* Cases nobody rated close themselves once the window has passed (`close_unrated`).

Everything happens in the caller's transaction (flush only): the rating, the case's move
and its timeline event are one unit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reports_app.models import Case, CaseEvent, Feedback, User
from workflows.jobs import JobContext
from workflows.machine import Action, Guard
from workflows.operations import Actor, GuardFailed, WorkflowContext, perform_action
from workflows.states import CaseState, Rating

log = logging.getLogger(__name__)

REOPEN_NOTE = "Người dân không hài lòng với kết quả. / The citizen is not satisfied with the result."
"""The reopen note when a dissatisfied citizen leaves no comment (the table requires one)."""

CLOSE_UNRATED_BATCH = 500
"""Cases closed per run at most; the next run takes the rest, so a run stays short."""


class FeedbackRefused(Exception):
    """A rating that cannot be taken; `code` is the stable string clients switch on.

    Codes: `not_reporter` (only the reporter rates), `already_rated` (this resolution was
    rated), `not_resolved` (the case is not waiting for a rating).
    """

    def __init__(self, code: str, text: str) -> None:
        self.code = code
        super().__init__(text)


@dataclass(frozen=True)
class FeedbackResult:
    """The stored rating, the timeline event it caused, and whether the case reopened."""

    feedback: Feedback
    event: CaseEvent
    reopened: bool


def give_feedback(session: Session, case: Case, user: User, rating: Rating | str,
                  comment: str | None, ctx: WorkflowContext) -> FeedbackResult:
    """Record the reporter's rating and reopen or close the case; flushes, the caller commits."""
    rating = Rating(rating)
    comment = comment.strip() if comment and comment.strip() else None
    if case.reporter_id is None or case.reporter_id != user.id:
        raise FeedbackRefused("not_reporter", "Only the citizen who sent the report can rate it.")
    rated = session.scalar(sa.select(Feedback.id).where(
        Feedback.case_id == case.id, Feedback.resolution_round == case.resolution_round))
    if rated is not None:
        raise FeedbackRefused("already_rated", "This result has already been rated.")
    if CaseState(case.state) is not CaseState.RESOLVED:
        raise FeedbackRefused("not_resolved", "Only a resolved case can be rated.")

    feedback = Feedback(case_id=case.id, resolution_round=case.resolution_round,
                        user_id=user.id, rating=rating.value, comment=comment,
                        created_at=ctx.now)
    session.add(feedback)
    try:
        session.flush()
    except IntegrityError:
        # Another request rated the same round a moment ago (unique case + round).
        session.rollback()
        raise FeedbackRefused("already_rated", "This result has already been rated.") from None

    event: CaseEvent | None = None
    if rating is Rating.DISSATISFIED:
        try:
            event = perform_action(session, case, Action.REOPEN, Actor(user),
                                   {"note": comment or REOPEN_NOTE, "rating": rating.value}, ctx)
        except GuardFailed as exc:
            if exc.guard is not Guard.WITHIN_FEEDBACK_WINDOW:
                raise
            log.info("case %s: dissatisfied after the feedback window, closing", case.id)
    reopened = event is not None
    if event is None:
        event = perform_action(session, case, Action.CLOSE, Actor.system(),
                               {"note": comment, "rating": rating.value}, ctx)
    log.info("case %s rated %s (round %s) by %s: %s", case.id, rating.value,
             feedback.resolution_round, user.id, "reopened" if reopened else "closed")
    return FeedbackResult(feedback=feedback, event=event, reopened=reopened)


def close_unrated(session: Session, ctx: JobContext) -> int:
    """Close resolved cases whose feedback window has passed without a rating (a job)."""
    window = timedelta(days=int(ctx.config.get("FEEDBACK_WINDOW_DAYS", 7)))
    # The same bound as the engine's guard: the window is over once now - resolved_at > it.
    stmt = (sa.select(Case)
            .where(Case.state == CaseState.RESOLVED.value, Case.resolved_at < ctx.now - window)
            .order_by(Case.resolved_at, Case.id).limit(CLOSE_UNRATED_BATCH)
            # Concurrent runs split the cases instead of colliding (PostgreSQL; SQLite
            # has one writer anyway).
            .with_for_update(skip_locked=True))
    wctx = WorkflowContext(calendar=ctx.calendar, now=ctx.now, feedback_window=window,
                           tz=ctx.calendar.tz)
    closed = 0
    for case in session.scalars(stmt).all():
        perform_action(session, case, Action.CLOSE, Actor.system(), {}, wctx)
        closed += 1
    if closed:
        log.info("closed %s resolved cases left unrated past the %s-day window", closed,
                 window.days)
    return closed
