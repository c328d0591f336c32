"""Two people acting on the same case at once: exactly one wins, the other gets 409."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.cases import service
from reports_app.extensions import db
from reports_app.models import Case, CaseEvent, User
from reports_app.workflow_context import workflow_context
from tests.concurrency import at_once
from workflows.operations import Actor, StaleVersion, perform_action

WAIT = 10  # seconds: every wait in these tests is bounded


def _events(case_id: int, action: str) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count()).select_from(CaseEvent).where(
        CaseEvent.case_id == case_id, CaseEvent.action == action))


def test_the_engine_refuses_a_change_based_on_an_old_read(app, case_in, people):
    """Two sessions read the case; the second one to write gets StaleVersion, not a lost update."""
    case = case_in("assigned")
    with Session(db.engine) as first, Session(db.engine) as second:
        mine = first.get(Case, case.id)
        theirs = second.get(Case, case.id)
        perform_action(first, mine, "accept", Actor(first.get(User, people.staff.id)), {},
                       workflow_context())
        first.commit()
        with pytest.raises(StaleVersion) as refused:
            perform_action(second, theirs, "transfer", Actor(second.get(User, people.operator.id)),
                           {"reason": "Sai đơn vị"}, workflow_context())
        assert refused.value.state == "in_progress"
    assert _events(case.id, "accept") == 1
    assert _events(case.id, "transfer") == 0


@pytest.mark.parametrize("round_", range(3))
def test_two_staff_accept_at_once(app, case_in, people, as_user, is_postgres, round_):
    """Both send accept with the same version at the same moment: one 200, one 409."""
    if not is_postgres:
        pytest.skip("real concurrent transactions need PostgreSQL")
    case = case_in("assigned")
    version = case.version
    headers = as_user(people.staff)

    def accept() -> tuple[int, dict]:
        client = app.test_client()
        response = client.post(f"/api/v1/cases/{case.id}/actions/accept", headers=headers,
                               json={"version": version})
        return response.status_code, response.get_json()

    results = at_once(accept, accept)
    assert sorted(status for status, _ in results) == [200, 409], results
    loser = next(body for status, body in results if status == 409)
    assert (loser["error"], loser["state"]) == ("stale_version", "in_progress")
    assert _events(case.id, "accept") == 1


def test_the_second_waits_for_the_first_and_then_loses(app, case_in, people, as_user,
                                                       is_postgres, monkeypatch):
    """While one action holds the case, another on it waits on the row lock, then gets 409."""
    if not is_postgres:
        pytest.skip("row locks need PostgreSQL")
    case = case_in("in_progress")
    version = case.version
    first_holds = threading.Event()
    release = threading.Event()
    real = service.perform_action

    def held(*args: Any, **kwargs: Any) -> Any:
        event = real(*args, **kwargs)
        if threading.current_thread().name == "racer-0":
            first_holds.set()
            assert release.wait(WAIT)
        return event

    monkeypatch.setattr(service, "perform_action", held)
    staff, operator = as_user(people.staff), as_user(people.operator)
    engine = db.engine  # threads have no app context of their own

    def ask_first() -> tuple[int, dict]:
        response = app.test_client().post(
            f"/api/v1/cases/{case.id}/actions/request_info", headers=staff,
            json={"version": version, "note": "Ở đâu?"})
        return response.status_code, response.get_json()

    def transfer_meanwhile() -> tuple[int, dict]:
        assert first_holds.wait(WAIT)
        response = app.test_client().post(
            f"/api/v1/cases/{case.id}/actions/transfer", headers=operator,
            json={"version": version, "reason": "Sai đơn vị"})
        return response.status_code, response.get_json()

    def release_when_blocked() -> None:
        assert first_holds.wait(WAIT)
        with engine.connect() as watcher:
            for _ in range(WAIT * 100):
                waiting = watcher.execute(sa.text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar()
                if waiting:
                    break
                threading.Event().wait(0.01)
            else:
                pytest.fail("the second action never waited for the row lock")
        release.set()

    results = at_once(ask_first, transfer_meanwhile, release_when_blocked, barrier=False)
    (first_status, first_body), (second_status, second_body) = results[0], results[1]
    assert first_status == 200, first_body
    assert second_status == 409, second_body
    assert (second_body["error"], second_body["state"]) == ("stale_version", "need_info")
    assert second_body["version"] == first_body["version"]
    assert _events(case.id, "transfer") == 0
