"""INSERT … ON CONFLICT DO NOTHING in the session's dialect: write a row once, whoever tries twice."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


class UnsupportedDatabase(RuntimeError):
    """The app runs on PostgreSQL (production) and SQLite (embedded), and on nothing else."""


def insert_or_skip(session: Session, table: sa.Table) -> Any:
    """An insert that skips rows whose unique key is already taken (also by a concurrent writer).

    Executed with a list of rows and no RETURNING, the driver's executemany sends one prepared
    statement for all of them (a pipeline on psycopg): much cheaper than a multi-row VALUES,
    which the driver would parse anew for every distinct row count.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    raise UnsupportedDatabase(f"PostgreSQL and SQLite are supported, not {dialect}")
