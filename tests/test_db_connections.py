"""How requests use database connections: safe requests read without a transaction, and a
pooled connection is pinged only after it sat idle."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from reports_app.db_connections import _CHECKED_IN, WriteInSafeRequest, ping_after_idle
from reports_app.extensions import db
from reports_app.models import Agency
from tests import factories


def _isolation(method: str, app) -> str | None:
    with app.test_request_context("/", method=method):
        level = db.session.connection().get_execution_options().get("isolation_level")
        db.session.remove()
        return level


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS"])
def test_a_safe_request_reads_on_an_autocommit_connection(app, method):
    """No BEGIN and no ROLLBACK around the queries of a request that only reads."""
    assert _isolation(method, app) == "AUTOCOMMIT"


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE"])
def test_a_request_that_may_write_runs_in_a_transaction(app, method):
    """Writes stay all or nothing: the session's connection is the transactional one."""
    assert _isolation(method, app) is None


def test_work_outside_a_request_runs_in_a_transaction(app):
    """CLI commands and scheduled jobs commit or roll back as a whole."""
    with app.app_context():
        assert db.session.connection().get_execution_options().get("isolation_level") is None


def test_a_flush_in_a_safe_request_is_refused_and_writes_nothing(app):
    """A GET that tried to write would commit statement by statement: it is a bug, stopped."""
    with app.test_request_context("/", method="GET"):
        db.session.add(Agency(code="new-agency", name_vi="Sở mới", name_en="New department",
                              kind="department"))
        with pytest.raises(WriteInSafeRequest, match="GET / tried to write"):
            db.session.flush()
        db.session.rollback()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Agency)) == 0


def test_an_update_statement_in_a_safe_request_is_refused(app):
    """Bulk statements through the session are refused too, before any SQL is sent."""
    with app.app_context():
        agency = factories.make_agency("roads")
        db.session.commit()
        agency_id = agency.id
    with app.test_request_context("/", method="GET"):
        with pytest.raises(WriteInSafeRequest):
            db.session.execute(sa.update(Agency).where(Agency.id == agency_id)
                               .values(name_en="Renamed"))
        db.session.rollback()
    with app.app_context():
        assert db.session.get(Agency, agency_id).name_en != "Renamed"


@pytest.fixture
def one_connection_engine(app):
    """The app's database behind a pool of one connection, pinged as the app's are."""
    with app.app_context():
        url = db.engine.url
    engine = sa.create_engine(url, pool_size=1, max_overflow=0)
    ping_after_idle(engine, app.config["DB_PING_AFTER_IDLE_SECONDS"])
    yield engine
    engine.dispose()


def _checkout_pings(engine, *, idle_for: float) -> int:
    """How many pings one checkout sends after the connection sat `idle_for` seconds."""
    dialect = engine.dialect
    pings = []
    original = dialect.do_ping

    def counting_ping(dbapi_connection):
        pings.append(1)
        return original(dbapi_connection)

    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
        record = conn.connection._connection_record
    record.info[_CHECKED_IN] -= idle_for
    dialect.do_ping = counting_ping
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    finally:
        del dialect.do_ping
    return len(pings)


def test_the_app_pings_its_connections_after_idle_only(app):
    """pool_pre_ping (a round trip before every use) is off while the idle ping is on."""
    with app.app_context():
        assert db.engine.pool._pre_ping is False
    assert app.config["DB_PING_AFTER_IDLE_SECONDS"] > 0


def test_a_connection_back_from_a_recent_request_is_used_without_a_ping(app, one_connection_engine):
    """Under load connections are always fresh: no round trip is spent asking."""
    assert _checkout_pings(one_connection_engine, idle_for=0) == 0


def test_a_connection_idle_longer_than_the_setting_is_pinged_first(app, one_connection_engine):
    """After a quiet spell the pool checks the connection before handing it out."""
    idle = app.config["DB_PING_AFTER_IDLE_SECONDS"] + 1
    assert _checkout_pings(one_connection_engine, idle_for=idle) == 1


def test_a_connection_the_database_dropped_while_idle_is_replaced_before_use(
        app, one_connection_engine):
    """A database restart during a quiet spell costs no request an error."""
    engine = one_connection_engine
    if engine.dialect.name != "postgresql":
        pytest.skip("ending a server session needs PostgreSQL")
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        record = conn.connection._connection_record
    record.info[_CHECKED_IN] -= app.config["DB_PING_AFTER_IDLE_SECONDS"] + 1
    other = sa.create_engine(engine.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    with other.connect() as killer:
        killer.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT pg_backend_pid()").scalar() != pid
