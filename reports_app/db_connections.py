"""How requests use database connections: reads without a transaction, pings only after idle.

A request used to cost three round trips before its first query and after its last: the pool's
pre-ping, the driver's BEGIN and the ROLLBACK when the session closed. On a case file of nine
queries that is a quarter of its database time.

- A safe request (GET, HEAD, OPTIONS) runs on an AUTOCOMMIT connection. Under READ COMMITTED
  every statement takes its own snapshot whether or not it is inside a transaction, so a
  read-only request sees exactly what it saw before, without BEGIN and ROLLBACK. A safe request
  must not write: a flush or an INSERT/UPDATE/DELETE in one raises `WriteInSafeRequest`, a bug
  found by the tests rather than a write committed statement by statement.
- A pooled connection is pinged only when it has been idle longer than
  DB_PING_AFTER_IDLE_SECONDS (0: before every checkout, SQLAlchemy's pre-ping). A connection the
  database dropped while it was busy is found by the request that uses it; SQLAlchemy then
  discards every connection of the pool, so one request per worker can fail after a database
  restart, and none after the database was quiet for longer than the idle time.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from flask import Flask, has_request_context, request
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import ORMExecuteState, UOWTransaction

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_READS_KEY = "reports_app.read_engine"
_CHECKED_IN = "reports_app.checked_in_at"


class WriteInSafeRequest(RuntimeError):
    """A GET (or HEAD, OPTIONS) tried to change the database; such requests only read."""


def in_safe_request() -> bool:
    """True inside a request whose method promises not to change anything."""
    return has_request_context() and request.method in SAFE_METHODS


class AppSession(FlaskSession):
    """Flask-SQLAlchemy's session, bound to an AUTOCOMMIT engine during safe requests."""

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None,
                 **kwargs: Any) -> Engine | sa.Connection:
        """The usual engine, or its AUTOCOMMIT twin (same pool) in a safe request."""
        engine = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if bind is not None or not isinstance(engine, Engine) or not in_safe_request():
            return engine
        reads = engine.__dict__.get(_READS_KEY)
        if reads is None:
            reads = engine.execution_options(isolation_level="AUTOCOMMIT")
            engine.__dict__[_READS_KEY] = reads
        return reads


@event.listens_for(AppSession, "before_flush")
def _refuse_flush_in_safe_request(session: AppSession, _context: UOWTransaction,
                                  _instances: Any) -> None:
    if in_safe_request() and (session.new or session.dirty or session.deleted):
        raise WriteInSafeRequest(f"{request.method} {request.path} tried to write")


@event.listens_for(AppSession, "do_orm_execute")
def _refuse_statement_in_safe_request(state: ORMExecuteState) -> None:
    if (state.is_insert or state.is_update or state.is_delete) and in_safe_request():
        raise WriteInSafeRequest(f"{request.method} {request.path} tried to write")


def ping_after_idle(engine: Engine, idle_seconds: float) -> None:
    """Ping a connection on checkout only when it sat in the pool for `idle_seconds` or more."""
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_CHECKED_IN)
        if since is None or time.monotonic() - since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            # The pool replaces the connection and tries again (up to three times).
            raise sa.exc.DisconnectionError(str(exc)) from exc


def init_connections(app: Flask, db: Any) -> None:
    """Ping the app's pooled connections after idle (the session class does the rest)."""
    idle = float(app.config.get("DB_PING_AFTER_IDLE_SECONDS", 0))
    if idle <= 0:
        return
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        ping_after_idle(engine, idle)
