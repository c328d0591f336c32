"""The citizen's rating: reopen or close, one per result, and closing unrated cases."""

from __future__ import annotations

import unicodedata
from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from reports_app.extensions import db
from reports_app.models import Case, CaseEvent, Feedback
from reports_app.scheduler import run_job
from tests.stats.conftest import act, local, rate, submit
from workflows.feedback import REOPEN_NOTE, FeedbackRefused, close_unrated
from workflows.jobs import JobContext, declared_jobs

RESOLVED_AT = local(2026, 10, 5, 10)


@pytest.fixture
def resolved(province, citizen):
    """A roads case resolved on Mon Oct 5 2026 at 10:00, and its reporter."""
    reporter = citizen()
    case = submit(province, reporter, province.roads, local(2026, 10, 1), agency=province.department)
    staff = province.staff[province.department.id]
    act(case, "accept", staff, local(2026, 10, 1, 10))
    act(case, "resolve", staff, RESOLVED_AT, note="Đã vá", with_photo=True)
    return case, reporter


def _events(case):
    return db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id)).all()


def test_satisfied_rating_closes_the_case_as_the_system(resolved):
    """Satisfied (or accepted) closes the case; the rating is kept and counted."""
    case, reporter = resolved
    result = rate(case, reporter, "satisfied", RESOLVED_AT + timedelta(days=1), "Cảm ơn")
    assert (case.state, case.latest_rating, result.reopened) == ("closed", "satisfied", False)
    last = _events(case)[-1]
    assert (last.action, last.party, last.actor_id, last.data["rating"], last.note) == (
        "close", "system", None, "satisfied", "Cảm ơn")
    stored = db.session.scalars(sa.select(Feedback)).one()
    assert (stored.case_id, stored.resolution_round, stored.user_id, stored.rating) == (
        case.id, 1, reporter.id, "satisfied")


def test_dissatisfied_within_the_window_reopens_for_the_agency(resolved):
    """The reporter reopens it with the comment as the note; the resolve clock restarts."""
    case, reporter = resolved
    before = case.resolve_due_at
    result = rate(case, reporter, "dissatisfied", RESOLVED_AT + timedelta(days=6),
                  "Vẫn còn ổ gà")
    assert (case.state, case.latest_rating, result.reopened) == ("in_progress",
                                                                 "dissatisfied", True)
    last = _events(case)[-1]
    assert (last.action, last.party, last.actor_id, last.note) == (
        "reopen", "reporter", reporter.id, "Vẫn còn ổ gà")
    assert case.resolve_due_at > before
    assert case.due_step == "resolve"


def test_dissatisfied_without_a_comment_reopens_with_the_default_note(resolved):
    """The timeline needs a note on reopen: a fixed Vietnamese and English one."""
    case, reporter = resolved
    rate(case, reporter, "dissatisfied", RESOLVED_AT + timedelta(hours=2))
    assert _events(case)[-1].note == REOPEN_NOTE
    assert "không hài lòng" in REOPEN_NOTE


def test_dissatisfied_after_the_window_closes_the_case(resolved):
    """Seven days after the resolution the case no longer reopens; the rating still counts."""
    case, reporter = resolved
    result = rate(case, reporter, "dissatisfied", RESOLVED_AT + timedelta(days=7, minutes=1))
    assert (case.state, case.latest_rating, result.reopened) == ("closed", "dissatisfied", False)


def test_a_rating_exactly_at_the_end_of_the_window_still_reopens(resolved):
    """The window is inclusive: 7 days to the second."""
    case, reporter = resolved
    assert rate(case, reporter, "dissatisfied", RESOLVED_AT + timedelta(days=7)).reopened


def test_a_reopened_and_re_resolved_case_is_rated_again_and_the_latest_counts(resolved, province):
    """One rating per result: the second result gets its own, which the figures use."""
    case, reporter = resolved
    rate(case, reporter, "dissatisfied", RESOLVED_AT + timedelta(days=1))
    act(case, "resolve", province.staff[province.department.id], RESOLVED_AT + timedelta(days=2),
        note="Làm lại", with_photo=True)
    rate(case, reporter, "accepted", RESOLVED_AT + timedelta(days=3))
    assert (case.state, case.latest_rating, case.resolution_round) == ("closed", "accepted", 2)
    rounds = db.session.execute(sa.select(Feedback.resolution_round, Feedback.rating)
                                .order_by(Feedback.resolution_round)).all()
    assert [tuple(r) for r in rounds] == [(1, "dissatisfied"), (2, "accepted")]


def test_a_second_rating_of_the_same_result_is_refused(resolved):
    """already_rated; the first one stands."""
    case, reporter = resolved
    rate(case, reporter, "satisfied", RESOLVED_AT + timedelta(days=1))
    with pytest.raises(FeedbackRefused) as exc:
        rate(case, reporter, "dissatisfied", RESOLVED_AT + timedelta(days=1, hours=1))
    assert exc.value.code == "already_rated"
    assert case.latest_rating == "satisfied"


def test_only_a_resolved_case_can_be_rated(province, citizen):
    """A case the agency still works on has nothing to rate."""
    reporter = citizen()
    case = submit(province, reporter, province.roads, local(2026, 10, 1),
                  agency=province.department)
    with pytest.raises(FeedbackRefused) as exc:
        rate(case, reporter, "satisfied", local(2026, 10, 2))
    assert exc.value.code == "not_resolved"


def test_close_unrated_closes_only_cases_past_the_window(resolved, province, citizen):
    """Resolved more than 7 days ago and unrated: closed by the system; others stay."""
    old, _ = resolved
    recent_reporter = citizen()
    recent = submit(province, recent_reporter, province.other, local(2026, 10, 8))
    act(recent, "assign", province.operator, local(2026, 10, 8, 10),
        agency_id=province.ward_agency.id)
    act(recent, "accept", province.staff[province.ward_agency.id], local(2026, 10, 8, 11))
    act(recent, "resolve", province.staff[province.ward_agency.id], local(2026, 10, 9),
        note="Xong")
    from reports_app.workflow_context import app_calendar

    ctx = JobContext(now=RESOLVED_AT + timedelta(days=7, minutes=1), calendar=app_calendar(),
                     config={"FEEDBACK_WINDOW_DAYS": 7})
    assert close_unrated(db.session, ctx) == 1
    db.session.commit()
    assert (old.state, old.latest_rating) == ("closed", None)
    assert _events(old)[-1].party == "system"
    assert recent.state == "resolved"
    assert close_unrated(db.session, ctx) == 0


def test_close_unrated_is_a_declared_ten_minute_job_run_by_the_scheduler(app, resolved):
    """Declared with a stable id; the scheduler's runner commits what it closed."""
    case, _ = resolved
    job = next(j for j in declared_jobs() if j.id == "close_unrated")
    assert (job.trigger, dict(job.trigger_args)) == ("interval", {"minutes": 10})
    assert run_job(app, job, now=RESOLVED_AT + timedelta(days=8)) == 1
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "closed"


@pytest.mark.postgres_only
def test_two_ratings_at_once_store_one(app, is_postgres, resolved):
    """Two devices rate the same result at the same moment: one wins, the other is refused."""
    if not is_postgres:
        pytest.skip("SQLite serialises writers; the race needs PostgreSQL")
    import threading

    from reports_app.models import User
    from reports_app.workflow_context import workflow_context
    from workflows.feedback import give_feedback
    from workflows.operations import StaleVersion

    case_id, reporter_id = resolved[0].id, resolved[1].id
    db.session.rollback()  # the test's own session holds nothing while the threads race
    barrier = threading.Barrier(2, timeout=30)
    outcomes: list[str] = []

    def rate_in_own_session(rating: str) -> None:
        with app.app_context():
            mine = db.session.get(Case, case_id)
            user = db.session.get(User, reporter_id)
            barrier.wait()
            try:
                give_feedback(db.session, mine, user, rating, None,
                              workflow_context(RESOLVED_AT + timedelta(days=1)))
                db.session.commit()
                outcomes.append("ok")
            except (FeedbackRefused, StaleVersion) as exc:
                db.session.rollback()
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=rate_in_own_session, args=(r,))
               for r in ("satisfied", "dissatisfied")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) in (["already_rated", "ok"], ["ok", "stale_version"]), outcomes
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 1


# --------------------------------------------------------------------------- API


@pytest.fixture
def day_after():
    """The API calls happen the day after the resolution, inside the feedback window."""
    with time_machine.travel(RESOLVED_AT + timedelta(days=1), tick=False):
        yield


def _post(client, auth, user, case, body):
    return client.post(f"/api/v1/reports/{case.id}/feedback", json=body, headers=auth(user))


def test_api_rating_answers_201_with_the_case_after_it(day_after, client, auth, resolved):
    """The reporter rates through the API; the answer says what happened to the case."""
    case, reporter = resolved
    response = _post(client, auth, reporter, case, {"rating": "dissatisfied",
                                                    "comment": "Chưa xong"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["reopened"] is True
    assert body["case"]["state"] == "in_progress"
    assert body["case"]["state_label"] == {"vi": "Đang xử lý", "en": "In progress"}
    assert body["feedback"]["rating"] == "dissatisfied"
    assert body["feedback"]["resolution_round"] == 1


def test_api_second_rating_is_409_already_rated(day_after, client, auth, resolved):
    """The same result cannot be rated twice."""
    case, reporter = resolved
    assert _post(client, auth, reporter, case, {"rating": "satisfied"}).status_code == 201
    response = _post(client, auth, reporter, case, {"rating": "accepted"})
    assert response.status_code == 409
    assert response.get_json()["error"] == "already_rated"


def test_api_only_the_reporter_rates(day_after, client, auth, resolved, province, citizen):
    """A follower is told only the reporter rates (403); anyone else does not see it (404)."""
    case, _ = resolved
    follower = citizen()
    duplicate = submit(province, follower, province.other, local(2026, 10, 1, 11))
    act(duplicate, "reject", province.operator, local(2026, 10, 1, 12), reason="duplicate",
        duplicate_of=case.id)
    response = _post(client, auth, follower, case, {"rating": "satisfied"})
    assert (response.status_code, response.get_json()["error"]) == (403, "not_reporter")
    for outsider in (citizen(), province.staff[province.department.id], province.supervisor):
        response = _post(client, auth, outsider, case, {"rating": "satisfied"})
        assert (response.status_code, response.get_json()["error"]) == (404, "not_found")
    assert client.post(f"/api/v1/reports/{case.id}/feedback",
                       json={"rating": "satisfied"}).status_code == 401
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 0


def test_api_rating_a_case_in_progress_is_409_not_resolved(day_after, client, auth, province, citizen):
    """Nothing to rate yet."""
    reporter = citizen()
    case = submit(province, reporter, province.roads, local(2026, 10, 1),
                  agency=province.department)
    response = _post(client, auth, reporter, case, {"rating": "satisfied"})
    assert (response.status_code, response.get_json()["error"]) == (409, "not_resolved")


@pytest.mark.parametrize("body", [
    {"rating": "happy"}, {}, {"rating": "satisfied", "comment": "x" * 2001},
    {"rating": "satisfied", "stars": 5}, {"rating": "satisfied", "comment": "a\x00b"}])
def test_api_bad_rating_bodies_are_422_and_store_nothing(day_after, client, auth, resolved, body):
    """Unknown levels, missing rating, comments over 2000 characters, unknown fields."""
    case, reporter = resolved
    response = _post(client, auth, reporter, case, body)
    assert response.status_code == 422
    assert response.get_json()["error"] == "validation_error"
    db.session.expire_all()
    assert db.session.get(Case, case.id).state == "resolved"
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 0


def test_api_comment_of_2000_characters_is_kept_in_nfc(day_after, client, auth, resolved):
    """The longest comment is fine; decomposed Vietnamese is stored composed (NFC)."""
    case, reporter = resolved
    decomposed = unicodedata.normalize("NFD", "Không hài lòng vì đường vẫn hỏng")
    comment = decomposed + "." * (2000 - len(unicodedata.normalize("NFC", decomposed)))
    response = _post(client, auth, reporter, case, {"rating": "accepted", "comment": comment})
    assert response.status_code == 201, response.get_json()
    stored = db.session.scalars(sa.select(Feedback)).one()
    assert stored.comment == unicodedata.normalize("NFC", comment)
    assert len(stored.comment) == 2000
