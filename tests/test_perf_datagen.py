"""The benchmarks' data generator (tests/perf/datagen.py) makes cases the workflow could have
made: checked on a few hundred cases in a database of its own (PostgreSQL only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
import sqlalchemy as sa

from reports_app.extensions import db

AS_OF = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)
CASES = 300


@pytest.fixture(scope="module")
def generated(app) -> Iterator[tuple[str, object]]:  # noqa: ANN001 - the Flask app
    """A data set of CASES cases in `<test database>_datagen` (like the per-worker test
    databases it is kept, emptied afterwards: dropping a database waits for a checkpoint)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the data generator loads PostgreSQL")
    from tests.perf import datagen
    from tests.perf.perfkit import ensure_database

    url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    name = f"{url.database}_datagen"
    server = url.set(drivername="postgresql", database="").render_as_string(
        hide_password=False).rstrip("/")
    ensure_database(server, name)
    dsn = f"{server}/{name}"
    try:
        yield dsn, datagen.load(dsn, CASES, seed=7, as_of=AS_OF)
    finally:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")


def _one(dsn: str, sql: str, *params: object) -> object:
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql, params or None).fetchone()[0]


@pytest.mark.postgres_only
def test_every_case_starts_with_its_submission_and_ends_in_its_state(generated):
    """One submit event per case, first; the last event's state is the case's state."""
    dsn, dataset = generated
    assert dataset.cases == CASES
    assert _one(dsn, "SELECT count(*) FROM cases") == CASES
    assert _one(dsn, """
        SELECT count(*) FROM cases c WHERE (SELECT action FROM case_events e
            WHERE e.case_id = c.id ORDER BY e.id LIMIT 1) IS DISTINCT FROM 'submit'
           OR (SELECT count(*) FROM case_events e WHERE e.case_id = c.id
               AND e.action = 'submit') <> 1""") == 0
    assert _one(dsn, """
        SELECT count(*) FROM cases c WHERE c.state <> (SELECT to_state FROM case_events e
            WHERE e.case_id = c.id ORDER BY e.created_at DESC, e.id DESC LIMIT 1)""") == 0
    assert _one(dsn, "SELECT count(*) FROM case_events WHERE created_at > %s", AS_OF) == 0


@pytest.mark.postgres_only
def test_open_cases_carry_their_running_clocks_deadline(generated):
    """An open case's due_at is its running, unpaused clocks' earliest deadline (as
    workflows/sla.sync_case_deadlines keeps it); a closed case has none."""
    dsn, _ = generated
    assert _one(dsn, """
        SELECT count(*) FROM cases c WHERE c.due_at IS DISTINCT FROM (
            SELECT min(k.due_at) FROM case_clocks k WHERE k.case_id = c.id
              AND k.stopped_at IS NULL AND k.paused_at IS NULL)""") == 0
    assert _one(dsn, "SELECT count(*) FROM cases WHERE due_at IS NOT NULL "
                     "AND state IN ('resolved', 'closed', 'rejected')") == 0


@pytest.mark.postgres_only
def test_the_sweeper_has_nothing_left_to_do_at_as_of(generated):
    """Every warning and breach due by as_of is recorded, once: a sweep then finds nothing."""
    dsn, dataset = generated
    from sqlalchemy.orm import Session

    from reports_app.config import database_url
    from workflows.calendar import WorkingCalendar
    from workflows.jobs import JobContext
    from workflows.sweeper import sweep_deadlines

    assert _one(dsn, """
        SELECT count(*) FROM case_clocks k WHERE k.stopped_at IS NULL AND k.paused_at IS NULL
          AND k.due_at <= %s AND NOT EXISTS (SELECT 1 FROM sla_events s
              WHERE s.clock_id = k.id AND s.kind = 'breach' AND s.due_at = k.due_at)""",
                AS_OF) == 0
    assert _one(dsn, "SELECT count(*) FROM (SELECT 1 FROM sla_events GROUP BY case_id, step, "
                     "kind, due_at HAVING count(*) > 1) twice") == 0
    engine = sa.create_engine(database_url(dsn))
    try:
        with Session(engine) as session:
            result = sweep_deadlines(session, JobContext(now=dataset.as_of,
                                                         calendar=WorkingCalendar(), config={}))
            session.rollback()
    finally:
        engine.dispose()
    assert result.checked == 0


@pytest.mark.postgres_only
def test_routing_ties_each_agency_to_the_category_and_province(generated):
    """A routed case is held by its province's agency for its category, unless transferred."""
    dsn, _ = generated
    assert _one(dsn, """
        SELECT count(*) FROM cases c JOIN areas w ON w.id = c.area_id
        JOIN routing_rules r ON r.category_id = c.category_id AND r.area_id = w.parent_id
        WHERE c.agency_id IS NOT NULL AND c.agency_id <> r.agency_id
          AND NOT EXISTS (SELECT 1 FROM case_events e WHERE e.case_id = c.id
                          AND e.action = 'transfer')""") == 0
    assert _one(dsn, "SELECT count(DISTINCT tracking_code) FROM cases") == CASES


@pytest.mark.postgres_only
def test_a_required_column_it_does_not_fill_stops_the_load_by_name(generated):
    """A newer migration's NOT NULL column without a default is named, not hit on insert."""
    dsn, dataset = generated
    from tests.perf import datagen

    generator = datagen._Generator(dsn, 1, 1, dataset.as_of)
    with psycopg.connect(dsn) as conn:
        generator.check_case_columns(conn)
        conn.execute("ALTER TABLE cases ADD COLUMN figure_weight integer NOT NULL DEFAULT 0")
        conn.execute("ALTER TABLE cases ALTER COLUMN figure_weight DROP DEFAULT")
        with pytest.raises(RuntimeError, match=r"cases\.figure_weight"):
            generator.check_case_columns(conn)
        conn.rollback()


@pytest.mark.postgres_only
def test_its_tallies_give_the_figures_the_cases_give(generated):
    """The generated classes follow workflows/counting.py and the rebuilt tallies agree with
    counting the cases, for the whole span and for a ragged window."""
    dsn, dataset = generated
    from datetime import timedelta

    from sqlalchemy.orm import Session

    from reports_app.config import database_url
    from workflows.stats import BREAKDOWNS, Window, compute_summary

    engine = sa.create_engine(database_url(dsn))
    windows = [Window(datetime(2024, 1, 1, tzinfo=UTC), AS_OF),
               Window(AS_OF - timedelta(days=200, hours=5), AS_OF - timedelta(days=3, hours=2))]
    try:
        with Session(engine) as session:
            assert session.scalar(sa.text("SELECT count(*) FROM case_tallies")) > 0
            for window in windows:
                def figures(use_tallies: bool, window: Window = window) -> tuple:
                    data = compute_summary(session, window, dataset.as_of, breakdowns=BREAKDOWNS,
                                           use_tallies=use_tallies).as_dict()
                    return data["figures"], data["breakdowns"]

                tallied = figures(True)
                assert tallied[0]["received"] > 0
                assert tallied == figures(False)
            session.rollback()
    finally:
        engine.dispose()
