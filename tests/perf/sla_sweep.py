"""Benchmark the SLA sweeper on the national data set: 1% of the cases due in one sweep, and idle.

Run: .venv/bin/python tests/perf/sla_sweep.py [--cases 1000000] [--database perf_scale]
     [--reuse] [--explain]   (or through tests/perf/run.py)

The data set is as the sweeper would have left it at `as_of`: every warning and breach up to
then recorded, each running clock's `next_check_at` at its next pending instant.

- idle sweep (nothing due): `sweep_deadlines` at `as_of`, 30 runs (target on the p95);
- due sweep: running clocks of 1% as many cases as the data set holds (10,000 of a million:
  a backlog after an outage, or a storm) get a deadline one minute before `as_of`, their
  warning already recorded, so the sweep records one breach each and escalates it to the
  agency's staff and every supervisor (a digest for whoever is owed more than
  SLA_DIGEST_AFTER); the median of 3 sweeps (target), each as the scheduler runs it (own
  session, commit at the end), with the Python peak memory of one more sweep (tracemalloc);
- four sweepers at once (threads with their own connections), checking that every breach is
  recorded exactly once; and how many messages the breaches would make without digests.

After each due sweep the clocks get their own deadlines back and the sweep's events and
messages are deleted, so the data set is unchanged afterwards.
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.perf.perfkit import Figure, RunContext, Target, distribution  # noqa: E402

DUE_SHARE = 0.01
IDLE_RUNS = 30
DUE_RUNS = 3
DUE_TARGET = Target("median", 2.0)
IDLE_TARGET = Target("p95", 50.0)


class DueSet:
    """Running clocks made due for one sweep at `sweep_at`, and put back afterwards."""

    def __init__(self, dsn: str, as_of: datetime, count: int) -> None:
        self.dsn = dsn
        # Every check due by as_of is recorded in the data set and the next ones lie after
        # it, so a sweep at as_of finds exactly the clocks armed here.
        self.sweep_at = as_of
        with psycopg.connect(dsn) as conn:
            self.saved = conn.execute("""
                SELECT id, due_at, warn_at, next_check_at FROM case_clocks
                WHERE stopped_at IS NULL AND paused_at IS NULL
                ORDER BY hashint8(id), id LIMIT %s""", (count,)).fetchall()
        self.count = len(self.saved)

    def arm(self) -> None:
        """Deadline a minute before the sweep, warning recorded: one breach each is due."""
        due = self.sweep_at - timedelta(minutes=1)
        with psycopg.connect(self.dsn) as conn:
            conn.execute("""
                UPDATE case_clocks SET due_at = %s, warn_at = %s, next_check_at = %s
                WHERE id = ANY(%s)""", (due, due - timedelta(hours=1), due,
                                        [row[0] for row in self.saved]))

    def disarm(self) -> None:
        """The clocks' own deadlines back; the sweep's events and messages gone."""
        ids, due, warn, check = (list(column) for column in zip(*self.saved, strict=True))
        with psycopg.connect(self.dsn) as conn:
            conn.execute("DELETE FROM outbox WHERE created_at = %s AND dedupe_key LIKE 'sla:%%'",
                         (self.sweep_at,))
            conn.execute("DELETE FROM sla_events WHERE recorded_at = %s AND clock_id = ANY(%s)",
                         (self.sweep_at, ids))
            conn.execute("""
                UPDATE case_clocks c SET due_at = s.due_at, warn_at = s.warn_at,
                       next_check_at = s.next_check_at
                FROM unnest(%s::bigint[], %s::timestamptz[], %s::timestamptz[],
                            %s::timestamptz[]) AS s(id, due_at, warn_at, next_check_at)
                WHERE c.id = s.id""", (ids, due, warn, check))
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE case_clocks, sla_events, outbox")


def _sweep(engine: sa.Engine, ctx: Any, **kwargs: Any) -> tuple[float, Any]:
    """One sweep as the scheduler runs it: its own session, commit at the end."""
    from workflows.sweeper import sweep_deadlines

    started = time.perf_counter()
    with Session(bind=engine) as session:
        result = sweep_deadlines(session, ctx, **kwargs)
        session.commit()
    return time.perf_counter() - started, result


def _count(engine: sa.Engine, sql: str, **params: Any) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text(sql), params)


def _concurrent(engine: sa.Engine, ctx: Any, sweepers: int) -> tuple[float, list[Any]]:
    from workflows.sweeper import sweep_deadlines

    barrier = threading.Barrier(sweepers)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Session(bind=engine) as session:
                barrier.wait()
                results.append(sweep_deadlines(session, ctx))
                session.commit()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(sweepers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return time.perf_counter() - started, results


def measure(ctx: RunContext) -> list[Figure]:
    """Idle and due sweeps (targets), and four sweepers at once."""
    from reports_app.extensions import db
    from workflows.calendar import calendar_from_config
    from workflows.jobs import JobContext
    from workflows.sweeper import due_clocks_query

    app = ctx.app()
    with app.app_context():
        engine = db.engine
        calendar = calendar_from_config(app.config)
    wanted = round(ctx.dataset.cases * DUE_SHARE)
    due_set = DueSet(ctx.dsn, ctx.as_of, wanted)
    short = "" if due_set.count == wanted else \
        f" (only {due_set.count:,} clocks were running, not {wanted:,})"
    idle_ctx = JobContext(now=ctx.as_of, calendar=calendar, config=app.config)
    due_ctx = JobContext(now=due_set.sweep_at, calendar=calendar, config=app.config)
    running = _count(engine, "SELECT count(*) FROM case_clocks WHERE stopped_at IS NULL "
                             "AND paused_at IS NULL")
    clocks = _count(engine, "SELECT count(*) FROM case_clocks")
    figures: list[Figure] = []

    _sweep(engine, idle_ctx)  # the connection pool warmed
    idle = []
    for _ in range(IDLE_RUNS):
        seconds, result = _sweep(engine, idle_ctx)
        if result.checked:
            raise AssertionError(f"the idle sweep found work: {result}")
        idle.append(seconds * 1000)
    figures.append(distribution("SLA sweep, nothing due", idle, target=IDLE_TARGET,
                                how="sweep_deadlines, own session",
                                note=f"{clocks:,} clocks, {running:,} running",
                                source="sweep"))

    due_times, result, outbox = [], None, 0
    for attempt in range(DUE_RUNS):
        due_set.arm()
        if attempt == 0 and ctx.explain:
            sql = str(due_clocks_query(due_set.sweep_at, 1000).compile(
                engine, compile_kwargs={"literal_binds": True}))
            ctx.explain_sql("SLA sweep: due clocks, first batch", sql)
        try:
            seconds, result = _sweep(engine, due_ctx)
            outbox = _count(engine, "SELECT count(*) FROM outbox WHERE created_at = :t",
                            t=due_set.sweep_at)
        finally:
            due_set.disarm()
        if result.breaches != due_set.count:
            raise AssertionError(f"{due_set.count} breaches were due, the sweep: {result}")
        due_times.append(seconds)
    due_set.arm()
    try:
        tracemalloc.start()
        _sweep(engine, due_ctx)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()
        due_set.disarm()
    figures.append(Figure(
        name=f"SLA sweep, 1% due ({due_set.count:,} breaches)", unit="s",
        median=statistics.median(due_times), p95=max(due_times), p99=max(due_times),
        samples=len(due_times), peak_mb=peak, target=DUE_TARGET,
        how="sweep_deadlines, own session",
        note=f"{result}; {outbox:,} outbox rows{short}; p95/p99 are the slowest of "
             f"{len(due_times)}; peak is Python's (tracemalloc)", source="sweep"))

    # Without digests every breach goes to every active supervisor of the country and to its
    # agency's staff: counted here, not queued (it would be minutes of inserts).
    fanout = _count(engine, """
        SELECT count(*) FROM case_clocks k JOIN cases c ON c.id = k.case_id
        JOIN users u ON u.is_active AND (u.role = 'supervisor'
             OR (u.role = 'staff' AND u.agency_id = c.agency_id))
        WHERE k.id = ANY(:ids)""", ids=[row[0] for row in due_set.saved])
    figures[-1].note += (f"; without digests these breaches would queue {fanout:,} messages "
                         "(every supervisor of the country hears of every breach)")

    due_set.arm()
    try:
        seconds, results = _concurrent(engine, due_ctx, 4)
        recorded = _count(engine, "SELECT count(*) FROM sla_events WHERE recorded_at = :t",
                          t=due_set.sweep_at)
        distinct = _count(engine, "SELECT count(DISTINCT clock_id) FROM sla_events "
                                  "WHERE recorded_at = :t", t=due_set.sweep_at)
        messages = _count(engine, "SELECT count(*) FROM outbox WHERE created_at = :t",
                          t=due_set.sweep_at)
    finally:
        due_set.disarm()
    if not recorded == distinct == due_set.count == sum(r.breaches for r in results):
        raise AssertionError(f"four sweepers recorded {recorded} breaches for {distinct} "
                             f"clocks; {due_set.count} were due")

    figures.append(Figure(
        name="SLA sweep, 1% due, four sweepers at once", unit="s", value=seconds, samples=1,
        how="4 threads, own sessions",
        note="per sweeper: " + "; ".join(f"{r.checked} read, {r.breaches} breaches"
                                         for r in results)
             + f"; each breach recorded once; {messages:,} messages (digests per sweeper)",
        source="sweep"))
    return figures


def main() -> None:
    from tests.perf.run import standalone

    standalone(measure)


if __name__ == "__main__":
    main()
