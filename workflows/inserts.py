"""Bulk inserts in the session's dialect: INSERT … ON CONFLICT DO NOTHING (a row written once,
whoever tries twice) and COPY for rows that are new by construction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def insert_new(session: Session, table: sa.Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows whose unique keys nobody can hold yet, in bulk, in the session's transaction.

    On PostgreSQL one COPY: for thousands of rows (a sweep's SLA messages) it costs a fraction
    of an INSERT per row, even pipelined. COPY has no ON CONFLICT, so a taken key fails the
    whole transaction: only for rows keyed by something this transaction has just created.
    Elsewhere one executemany INSERT.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(sa.insert(table), list(rows))
        return
    if dialect != "postgresql":
        raise UnsupportedDatabase(f"PostgreSQL and SQLite are supported, not {dialect}")
    from psycopg import sql
    from psycopg.types.json import Jsonb

    names = list(rows[0])
    as_json = [isinstance(table.c[name].type, sa.JSON) for name in names]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(map(sql.Identifier, names)))
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([Jsonb(row[name]) if json and row[name] is not None else row[name]
                            for name, json in zip(names, as_json, strict=True)])
