"""Benchmark the SLA sweeper on PostgreSQL: one sweep with 1% of a million clocks due, and idle.

Run: .venv/bin/python tests/perf/sla_sweep.py [--cases 1000000] [--due-share 0.01]
     [--server postgresql://postgres@127.0.0.1:5432] [--database perf_sla] [--reuse]

What it does:
  1. creates the dedicated database (default `perf_sla`) if missing, drops its public schema
     and builds it with the app's migrations (unless --reuse finds the data already loaded);
  2. loads reference data, supervisors and agency staff, then N open (in_progress) cases with
     INSERT … SELECT generate_series (no ORM): each case has a stopped accept clock and a
     running resolve clock. The clocks of every 1/share-th case are due: their deadline passed
     an hour ago and their warning was recorded earlier (next_check_at = due_at), so a sweep
     records one breach each. The others fall due 2 to 31 days ahead;
  3. prints EXPLAIN (ANALYZE, BUFFERS) of the sweeper's select (one batch);
  4. times idle sweeps (nothing due) before and after the due sweep; the due sweep as it runs
     (a person owed more than SLA_DIGEST_AFTER messages gets one digest); the same with one
     message per breach and person (breaches x (supervisors + the agency's staff) outbox
     rows, one bulk insert); with nobody to notify (events and clock updates alone); and four
     sweepers at once (threads with their own connections), checking that every breach is
     recorded exactly once and the outbox holds the same rows as with one sweeper.
Figures go to stdout; targets: due sweep <= 2 s, idle sweep <= 50 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from reports_app import create_app  # noqa: E402
from reports_app.config import database_url  # noqa: E402
from reports_app.db import utcnow  # noqa: E402
from reports_app.extensions import db  # noqa: E402
from tests.perf.perfkit import done, ensure_database, step  # noqa: E402
from workflows.calendar import calendar_from_config  # noqa: E402
from workflows.jobs import JobContext  # noqa: E402
from workflows.sweeper import SweepResult, due_clocks_query, sweep_deadlines  # noqa: E402

IDLE_TARGET_S = 0.050
DUE_TARGET_S = 2.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due-share", type=float, default=0.01)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="perf_sla")
    parser.add_argument("--agencies", type=int, default=20)
    parser.add_argument("--staff-per-agency", type=int, default=3)
    parser.add_argument("--supervisors", type=int, default=3)
    parser.add_argument("--idle-runs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="due sweeps to time (median)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the loaded data when it has --cases cases (reset the due set)")
    return parser.parse_args()





def build_schema(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
        upgrade()
        db.engine.dispose()


def load(dsn: str, args: argparse.Namespace, base: datetime) -> None:
    """Reference data and people with small inserts, cases and clocks with INSERT … SELECT."""
    every = max(1, round(1 / args.due_share))
    with psycopg.connect(dsn) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        conn.execute("""
            INSERT INTO areas (code, name_vi, name_en, level, boundary, min_lon, min_lat, max_lon,
                               max_lat, is_active, created_at, updated_at)
            VALUES ('P', 'Tỉnh', 'Province', 'province', '{}'::jsonb, 107, 12, 109, 14, true,
                    now(), now())""")
        conn.execute("""
            INSERT INTO agencies (code, name_vi, name_en, kind, is_active, created_at, updated_at)
            SELECT 'AG' || g, 'Đơn vị ' || g, 'Agency ' || g, 'department', true, now(), now()
            FROM generate_series(1, %s) g""", (args.agencies,))
        conn.execute("""
            INSERT INTO categories (code, service_code, name_vi, name_en, description_vi,
                description_en, group_vi, group_en, keywords, default_priority, track,
                requires_after_photo, fields, sort_order, is_active, created_at, updated_at)
            VALUES ('roads', 'roads', 'Đường', 'Roads', '', '', '', '', '[]', 'normal',
                    'deadline', true, '[]', 0, true, now(), now())""")
        conn.execute("""
            INSERT INTO sla_policies (category_id, priority, track, triage_minutes,
                accept_minutes, resolve_minutes, warn_ratio, is_active, created_at, updated_at)
            VALUES (NULL, 'normal', 'deadline', 240, 450, 2250, 0.75, true, now(), now())""")
        # Accounts that hear about breaches; the hash is never used to sign in.
        conn.execute("""
            INSERT INTO users (email, full_name, password_hash, role, agency_id, language,
                               is_active, created_at, updated_at)
            SELECT 'sup' || g || '@perf.test', 'Lãnh đạo ' || g, 'x', 'supervisor', NULL,
                   CASE WHEN g %% 2 = 0 THEN 'en' ELSE 'vi' END, true, now(), now()
            FROM generate_series(1, %s) g""", (args.supervisors,))
        conn.execute("""
            INSERT INTO users (email, full_name, password_hash, role, agency_id, language,
                               is_active, created_at, updated_at)
            SELECT 'staff' || a.id || '.' || g || '@perf.test', 'Cán bộ ' || g, 'x', 'staff',
                   a.id, 'vi', true, now(), now()
            FROM agencies a, generate_series(1, %s) g""", (args.staff_per_agency,))
        conn.commit()

        started = step(f"loading {args.cases:,} cases")
        # Case g: due when g % every = 0 (deadline an hour ago), else 2 to 31 days ahead.
        conn.execute("""
            INSERT INTO cases (tracking_code, source, state, priority, track, version,
                is_anonymous, is_public, category_id, area_id, agency_id, description,
                search_text, attributes, lat, lon, submitted_at, assigned_at, accepted_at,
                due_at, due_step, resolve_due_at, resolve_original_due_at, extension_granted,
                resolution_round, created_at, updated_at)
            SELECT 'PF-' || g, 'app', 'in_progress', 'normal', 'deadline', 1, false, true,
                (SELECT id FROM categories LIMIT 1), (SELECT id FROM areas LIMIT 1),
                1 + (g + g / %(every)s) %% %(agencies)s, 'Ổ gà số ' || g, 'o ga so ' || g, '{}'::jsonb,
                12.6 + (g %% 1000) / 10000.0, 108.0 + (g %% 997) / 10000.0,
                %(base)s - interval '10 days', %(base)s - interval '10 days',
                %(base)s - interval '9 days', d.due, 'resolve', d.due, d.due, false, 0,
                %(base)s - interval '10 days', %(base)s - interval '9 days'
            FROM generate_series(1, %(cases)s) g,
                 LATERAL (SELECT CASE WHEN g %% %(every)s = 0 THEN %(base)s - interval '1 hour'
                         ELSE %(base)s + interval '2 days' + (g %% 30) * interval '1 day'
                         END AS due) d""",
                     {"agencies": args.agencies, "base": base, "cases": args.cases,
                      "every": every})
        conn.commit()
        done(started)
        started = step("loading their clocks (a stopped accept clock, a running resolve clock)")
        conn.execute("""
            INSERT INTO case_clocks (case_id, step, round, track, allowed_minutes, warn_ratio,
                started_at, warn_at, due_at, original_due_at, paused_at, stopped_at,
                next_check_at)
            SELECT id, 'accept', 1, 'deadline', 450, 0.75, submitted_at,
                   submitted_at + interval '18 hours', submitted_at + interval '1 day',
                   submitted_at + interval '1 day', NULL, accepted_at, NULL
            FROM cases""")
        conn.execute("""
            INSERT INTO case_clocks (case_id, step, round, track, allowed_minutes, warn_ratio,
                started_at, warn_at, due_at, original_due_at, paused_at, stopped_at,
                next_check_at)
            SELECT id, 'resolve', 1, 'deadline', 2250, 0.75, assigned_at,
                   due_at - interval '1 day', due_at, due_at, NULL, NULL,
                   CASE WHEN due_at < %(base)s THEN due_at ELSE due_at - interval '1 day' END
            FROM cases""", {"base": base})
        conn.commit()
        done(started)
    vacuum(dsn)


def vacuum(dsn: str) -> None:
    started = step("VACUUM ANALYZE")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("cases", "case_clocks", "sla_events", "outbox", "users"):
            conn.execute(f"VACUUM ANALYZE {table}")
    done(started)


def base_instant(engine: sa.Engine) -> datetime:
    """The load's `now`: the due clocks' deadline plus an hour (they are the earliest)."""
    with engine.connect() as conn:
        due = conn.scalar(sa.text("SELECT min(due_at) FROM case_clocks WHERE stopped_at IS NULL"))
    return due + timedelta(hours=1)


def reset_due_set(engine: sa.Engine, base: datetime) -> int:
    """Forget recorded events and notifications; point the due clocks at their deadline again."""
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM outbox"))
        conn.execute(sa.text("DELETE FROM sla_events"))
        conn.execute(sa.text("UPDATE users SET is_active = true"))
        count = conn.execute(sa.text(
            "UPDATE case_clocks SET next_check_at = due_at "
            "WHERE stopped_at IS NULL AND due_at = :due"), {"due": base - timedelta(hours=1)})
    return count.rowcount


def timed_sweep(engine: sa.Engine, ctx: JobContext, batch_size: int) -> tuple[float, SweepResult]:
    """One sweep as the scheduler runs it: its own session, commit at the end."""
    started = time.perf_counter()
    with Session(bind=engine) as session:
        result = sweep_deadlines(session, ctx, batch_size=batch_size)
        session.commit()
    return time.perf_counter() - started, result


def idle_figures(engine: sa.Engine, ctx: JobContext, runs: int, batch_size: int) -> list[float]:
    times = []
    for _ in range(runs):
        seconds, result = timed_sweep(engine, ctx, batch_size)
        assert result.checked == 0, result
        times.append(seconds)
    return times


def show_idle(label: str, times: list[float]) -> None:
    median = statistics.median(times)
    verdict = "ok" if median <= IDLE_TARGET_S else "OVER TARGET"
    print(f"{label}: median {median * 1000:.2f} ms, min {min(times) * 1000:.2f} ms, "
          f"max {max(times) * 1000:.2f} ms over {len(times)} runs "
          f"(target <= {IDLE_TARGET_S * 1000:.0f} ms: {verdict})")


def explain(engine: sa.Engine, base: datetime, batch_size: int) -> None:
    query = due_clocks_query(base, batch_size)
    sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    print("sweeper select:\n  " + " ".join(sql.split()))
    with engine.connect() as conn:
        plan = conn.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS) " + sql)).scalars().all()
        conn.rollback()
    print("EXPLAIN (ANALYZE, BUFFERS):")
    for line in plan:
        print("  " + line)


def count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as conn:
        return conn.scalar(sa.text(sql))


def concurrent(engine: sa.Engine, ctx: JobContext, sweepers: int, batch_size: int
               ) -> tuple[float, list[SweepResult]]:
    barrier = threading.Barrier(sweepers)
    results: list[SweepResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with Session(bind=engine) as session:
                barrier.wait()
                result = sweep_deadlines(session, ctx, batch_size=batch_size)
                session.commit()
                results.append(result)
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


def main() -> None:
    args = parse_args()
    dsn = f"{args.server}/{args.database}"
    ensure_database(args.server, args.database)
    app = create_app({"TESTING": True, "SCHEDULER_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": database_url(dsn)})
    engine = sa.create_engine(database_url(dsn))
    loaded = 0
    if args.reuse:
        try:
            loaded = count(engine, "SELECT count(*) FROM cases")
        except sa.exc.ProgrammingError:
            loaded = 0
    if loaded != args.cases:
        started = step(f"building database {args.database} with the app's migrations")
        engine.dispose()
        build_schema(app)
        done(started)
        load(dsn, args, utcnow())
    base = base_instant(engine)
    due = reset_due_set(engine, base)
    vacuum(dsn)
    clocks = count(engine, "SELECT count(*) FROM case_clocks")
    running = count(engine, "SELECT count(*) FROM case_clocks WHERE stopped_at IS NULL")
    staff = args.staff_per_agency
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{count(engine, 'SELECT count(*) FROM cases'):,} open cases, {clocks:,} clocks "
          f"({running:,} running), {due:,} due ({due / running:.2%}); "
          f"{args.supervisors} supervisors, {staff} staff per agency")

    calendar = calendar_from_config(app.config)
    ctx_due = JobContext(now=base, calendar=calendar, config=app.config)
    ctx_before = JobContext(now=base - timedelta(hours=2), calendar=calendar, config=app.config)

    print()
    explain(engine, base, args.batch_size)
    print()
    timed_sweep(engine, ctx_before, args.batch_size)  # warm the connection pool
    show_idle("idle sweep (nothing due, 1% waiting)", idle_figures(engine, ctx_before,
                                                                   args.idle_runs,
                                                                   args.batch_size))

    runs = []
    for attempt in range(args.repeat):
        if attempt:
            reset_due_set(engine, base)
            vacuum(dsn)
        seconds, result = timed_sweep(engine, ctx_due, args.batch_size)
        runs.append(seconds)
    seconds = statistics.median(runs)
    outbox = count(engine, "SELECT count(*) FROM outbox")
    breaches = count(engine, "SELECT count(*) FROM sla_events WHERE kind = 'breach'")
    verdict = "ok" if seconds <= DUE_TARGET_S else "OVER TARGET"
    print(f"due sweep (escalation with digests): median {seconds:.3f} s, min {min(runs):.3f} s "
          f"over {len(runs)} runs (target <= {DUE_TARGET_S:.0f} s: {verdict}); {result}; "
          f"{breaches:,} breach rows, {outbox:,} outbox rows")
    assert result.breaches == due == breaches, (result, due, breaches)
    show_idle("idle sweep (after the due sweep)", idle_figures(engine, ctx_due, args.idle_runs,
                                                               args.batch_size))

    ctx_each = JobContext(now=base, calendar=calendar,
                          config={**app.config, "SLA_DIGEST_AFTER": 10**9})
    reset_due_set(engine, base)
    vacuum(dsn)
    seconds_each, each = timed_sweep(engine, ctx_each, args.batch_size)
    outbox_each = count(engine, "SELECT count(*) FROM outbox")
    print(f"due sweep, one message per breach and person (no digest): {seconds_each:.3f} s; "
          f"{each}; {outbox_each:,} outbox rows ({outbox_each / max(due, 1):.0f} per breach)")

    reset_due_set(engine, base)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE users SET is_active = false"))
    vacuum(dsn)
    seconds_quiet, quiet = timed_sweep(engine, ctx_due, args.batch_size)
    print(f"due sweep, nobody to notify (events and clock updates only): {seconds_quiet:.3f} s; "
          f"{quiet}")

    reset_due_set(engine, base)
    vacuum(dsn)
    seconds4, results = concurrent(engine, ctx_each, 4, args.batch_size)
    breaches = count(engine, "SELECT count(*) FROM sla_events WHERE kind = 'breach'")
    distinct = count(engine, "SELECT count(DISTINCT case_id) FROM sla_events WHERE kind = 'breach'")
    outbox4 = count(engine, "SELECT count(*) FROM outbox")
    print(f"four sweepers at once (no digest): {seconds4:.3f} s; per sweeper: "
          + "; ".join(f"{r.checked} read, {r.breaches} breaches" for r in results))
    print(f"  breaches recorded {breaches:,} for {distinct:,} cases (due {due:,}); "
          f"outbox rows {outbox4:,} (one sweeper: {outbox_each:,})")
    assert breaches == distinct == due == sum(r.breaches for r in results)
    assert outbox4 == outbox_each
    engine.dispose()


if __name__ == "__main__":
    main()
