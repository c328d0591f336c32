"""Benchmark the figures (workflows/stats.py) over a million cases on PostgreSQL.

Run: .venv/bin/python tests/perf/stats.py [--cases 1000000] [--runs 15] [--reuse]
     [--server postgresql://postgres@127.0.0.1:5432] [--database perf_stats]

What it does:
  1. creates the dedicated database (default `perf_stats`), drops its public schema and builds
     it with the app's migrations (unless --reuse finds the cases already loaded);
  2. loads a national-scale reference set (34 provinces, 3,366 wards, 200 agencies,
     12 categories) and N cases spread evenly over the 12 months before 2026-11-01 (INSERT …
     SELECT generate_series, no ORM), each with the agency routing gives its category and
     ward (5% moved to another agency): about 80% resolved or closed (a tenth of those late,
     some with extensions; three quarters rated), 12% open (some overdue), 8% rejected;
     descriptions of realistic length so the rows are as wide as real ones; then VACUUM
     ANALYZE, as autovacuum would;
  3. checks a sample of the bulk-loaded figure classes against workflows/counting.py and
     builds the tallies with `rebuild_tallies` (what `flask stats rebuild-tallies` runs);
  4. times `compute_summary` (the whole call: every SQL statement, the Python that adds up
     the groups, the names of the breakdown rows) with all three breakdowns: the whole year
     in local months, the same year in UTC instants (partial local days at both ends), a
     quarter, a month, a ragged window (partial days, day runs and months), the year
     filtered by one agency, one category and one province (those count the cases);
     then the same windows counted from the cases (`use_tallies=False`), side by side, and
     checks both ways give the same figures and breakdowns; and, for scale, a bare
     `SELECT count(*)` over the same windows;
  5. prints EXPLAIN (ANALYZE, BUFFERS) of the statements of the ragged window's summary.
Figures go to stdout: median and p95 in ms per window.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from reports_app import create_app  # noqa: E402
from reports_app.config import database_url  # noqa: E402
from reports_app.extensions import db  # noqa: E402
from tests.perf.perfkit import (  # noqa: E402
    FIGURE_CLASS_SQL,
    check_figure_classes,
    done,
    ensure_database,
    step,
)
from workflows.stats import BREAKDOWNS, Filters, Window, compute_summary  # noqa: E402
from workflows.tallies import rebuild_tallies  # noqa: E402

TZ = "Asia/Ho_Chi_Minh"
YEAR_START = datetime(2025, 11, 1, tzinfo=UTC)
YEAR_END = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF = datetime(2026, 11, 1, 0, 30, tzinfo=UTC)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant in the province's time."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(TZ))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="perf_stats")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--reuse", action="store_true")
    return parser.parse_args()





REFERENCE_SQL = """
INSERT INTO areas (code, name_vi, name_en, level, parent_id, boundary, min_lon, min_lat,
                   max_lon, max_lat, is_active, created_at, updated_at)
SELECT 'P' || p, 'Tỉnh ' || p, 'Province ' || p, 'province', NULL, '{}'::jsonb,
       100 + p * 0.2, 8 + p * 0.4, 100.2 + p * 0.2, 8.4 + p * 0.4, true, now(), now()
FROM generate_series(1, 34) p;
INSERT INTO areas (code, name_vi, name_en, level, parent_id, boundary, min_lon, min_lat,
                   max_lon, max_lat, is_active, created_at, updated_at)
SELECT 'W' || w, 'Phường ' || w, 'Ward ' || w, 'ward', 1 + (w % 34), '{}'::jsonb,
       100, 8, 101, 9, true, now(), now()
FROM generate_series(1, 3366) w;
INSERT INTO agencies (code, name_vi, name_en, kind, area_id, is_active, created_at, updated_at)
SELECT 'AG' || a, 'Đơn vị ' || a, 'Agency ' || a, 'department', 1 + (a % 34), true, now(), now()
FROM generate_series(1, 200) a;
INSERT INTO categories (code, service_code, name_vi, name_en, description_vi, description_en,
                        group_vi, group_en, keywords, default_priority, track,
                        requires_after_photo, fields, sort_order, is_active, created_at,
                        updated_at)
SELECT 'cat' || c, 'cat' || c, 'Lĩnh vực ' || c, 'Category ' || c, '', '', '', '', '[]'::jsonb,
       'normal', 'deadline', true, '[]'::jsonb, c, true, now(), now()
FROM generate_series(1, 12) c;
"""

# One row per case: r1..r6 are independent uniform draws; the state and every column follow
# from them, so the mix is as described in the module docstring.
CASE_COLUMNS = """tracking_code, source, state, priority, track, version, is_anonymous,
    is_public, category_id, area_id, agency_id, reject_reason, description, search_text,
    attributes, lat, lon, submitted_at, assigned_at, resolved_at, closed_at, rejected_at,
    due_at, due_step, resolve_due_at, resolve_original_due_at, extension_granted,
    resolution_round, latest_rating, resolve_working_minutes, created_at, updated_at"""

CASES_SQL = f"""
INSERT INTO cases ({CASE_COLUMNS}, figure_class)
SELECT c.*, {FIGURE_CLASS_SQL} FROM (
SELECT 'PF-' || g AS tracking_code, 'app', s.state AS state, 'normal', 'deadline', 3, false, true,
       d.category_id, d.area_id,
       CASE WHEN s.state IN ('submitted', 'rejected') THEN NULL
            -- Routing picks the agency from (category, area); one in 20 was moved by hand.
            WHEN r4 < 0.05 THEN 1 + (r4 * 4000)::int %% 200
            ELSE 1 + (d.area_id * 7 + d.category_id * 13) %% 200 END,
       CASE WHEN s.state = 'rejected'
            THEN (ARRAY['spam', 'duplicate', 'out_of_scope', 'abusive',
                        'not_enough_information'])[1 + (r5 * 5)::int %% 5] END AS reject_reason,
       'Phản ánh số ' || g || ': ổ gà lớn giữa đường, xe máy dễ bị ngã, đề nghị sửa chữa sớm',
       'phan anh so ' || g || ': o ga lon giua duong, xe may de bi nga, de nghi sua chua som',
       '{{}}'::jsonb, 12.6, 108.0, t.sub, t.sub + interval '2 hours',
       CASE WHEN s.state IN ('resolved', 'closed') THEN t.sub + (r5 * interval '9 days') END
           AS resolved_at,
       CASE WHEN s.state = 'closed' THEN t.sub + interval '10 days' END,
       CASE WHEN s.state = 'rejected' THEN t.sub + interval '3 hours' END,
       CASE WHEN s.state IN ('submitted', 'assigned', 'in_progress')
            THEN t.sub + (r6 * interval '30 days') END,
       CASE WHEN s.state IN ('submitted', 'assigned', 'in_progress') THEN 'resolve' END,
       t.sub + interval '7 days' + CASE WHEN r6 < 0.05 THEN interval '3 days' ELSE interval '0' END
           AS resolve_due_at,
       t.sub + interval '7 days' AS resolve_original_due_at, r6 < 0.05, 1,
       CASE WHEN s.state IN ('resolved', 'closed') AND r4 < 0.75
            THEN (ARRAY['satisfied', 'satisfied', 'accepted', 'dissatisfied'])[1 + (r6 * 4)::int %% 4]
       END AS latest_rating,
       CASE WHEN s.state IN ('resolved', 'closed') THEN (r5 * 4000)::int END,
       t.sub, t.sub
FROM (SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4,
             random() AS r5, random() AS r6
      FROM generate_series(1, %(cases)s) g) AS r
CROSS JOIN LATERAL (SELECT timestamptz '2025-11-01 00:00+00'
                           + (g - 1) * (interval '365 days' / %(cases)s) AS sub) AS t
CROSS JOIN LATERAL (SELECT 1 + (r2 * 12)::int %% 12 AS category_id,
                           35 + (r3 * 3366)::int %% 3366 AS area_id) AS d
CROSS JOIN LATERAL (SELECT CASE WHEN r1 < 0.70 THEN 'closed' WHEN r1 < 0.80 THEN 'resolved'
                                WHEN r1 < 0.86 THEN 'in_progress' WHEN r1 < 0.89 THEN 'assigned'
                                WHEN r1 < 0.90 THEN 'submitted' WHEN r1 < 0.92 THEN 'need_info'
                                ELSE 'rejected' END AS state) AS s
) AS c;
"""


def load(dsn: str, cases: int) -> None:
    """Reference data and the cases, straight into the tables, then VACUUM ANALYZE."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        started = step("reference data")
        conn.execute(REFERENCE_SQL)
        done(started)
        started = step(f"{cases:,} cases (INSERT … SELECT generate_series)")
        conn.execute("SELECT setseed(0.42)")  # the same cases on every machine
        conn.execute(CASES_SQL, {"cases": cases})
        done(started)
        started = step("VACUUM ANALYZE cases")
        conn.execute("VACUUM ANALYZE cases")
        conn.execute("VACUUM ANALYZE areas")
        done(started)


def loaded(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        try:
            return conn.execute("SELECT count(*) FROM cases").fetchone()[0]
        except psycopg.errors.UndefinedTable:
            return 0


def timed(label: str, window: Window, runs: int, filters: Filters | None = None, *,
          use_tallies: bool = True) -> tuple[float, dict]:
    """Median and p95 of compute_summary with every breakdown, after two warm-up calls."""
    times = []
    summary = None
    for i in range(runs + 2):
        db.session.rollback()
        started = time.perf_counter()
        summary = compute_summary(db.session, window, AS_OF, filters=filters,
                                  breakdowns=BREAKDOWNS, tz=TZ, use_tallies=use_tallies)
        if i >= 2:
            times.append((time.perf_counter() - started) * 1000)
    assert summary is not None
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    rows = sum(len(r) for r in summary.breakdowns.values())
    median = statistics.median(times)
    print(f"{label:<44} {summary.figures.counts['received'] + summary.figures.counts['excluded']:>9,} "
          f"cases  median {median:7.1f} ms  p95 {p95:7.1f} ms  "
          f"({rows} breakdown rows)  {summary.headline['en']}", flush=True)
    return median, summary.as_dict()


def floor(label: str, window: Window, runs: int) -> None:
    """What merely counting the window's cases costs on this machine: the floor of any scan."""
    stmt = sa.text("SELECT count(*) FROM cases WHERE submitted_at >= :a AND submitted_at < :b")
    times = []
    for i in range(runs + 2):
        started = time.perf_counter()
        db.session.execute(stmt, {"a": window.start, "b": window.end}).scalar()
        if i >= 2:
            times.append((time.perf_counter() - started) * 1000)
    db.session.rollback()
    print(f"{label:<34} SELECT count(*) alone: median {statistics.median(times):7.1f} ms",
          flush=True)


def explain(window: Window) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of each statement a summary of the window runs."""
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if "FROM case" in statement:
            statements.append((statement, parameters))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        compute_summary(db.session, window, AS_OF, breakdowns=BREAKDOWNS, tz=TZ)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    db.session.rollback()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        # The settings compute_summary applies to its own transaction.
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("SET LOCAL work_mem = '64MB'")
        for statement, parameters in statements:
            print("\n" + statement.strip() + "\n")
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            for (line,) in cursor.fetchall():
                print("   " + line)
        raw.rollback()
    finally:
        raw.close()


def prepare_tallies(dsn: str) -> None:
    """Check the bulk-loaded classes, then build the tallies as `flask stats rebuild-tallies`."""
    with psycopg.connect(dsn) as conn:
        check_figure_classes(conn)
    started = step("rebuild_tallies (what `flask stats rebuild-tallies` runs)")
    rows = rebuild_tallies(db.session, ZoneInfo(TZ))
    db.session.commit()
    done(started)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE case_tallies")
        conn.execute("VACUUM ANALYZE case_tally_deltas")
        counts = conn.execute("SELECT grain, dimension, count(*) FROM case_tallies "
                              "GROUP BY 1, 2 ORDER BY 1, 2").fetchall()
    print(f"   {rows:,} tally rows: " + ", ".join(f"{g}/{d} {n:,}" for g, d, n in counts))


def main() -> None:
    args = parse_args()
    ensure_database(args.server, args.database)
    dsn = f"{args.server}/{args.database}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(dsn), "TESTING": True,
                      "SCHEDULER_ENABLED": False})
    with app.app_context():
        if not (args.reuse and loaded(dsn) == args.cases):
            from flask_migrate import upgrade

            started = step("schema from the migrations")
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            upgrade()
            done(started)
            load(dsn, args.cases)
        with psycopg.connect(dsn) as conn:
            tallied = conn.execute("SELECT count(*) FROM case_tallies").fetchone()[0]
        if not tallied:
            prepare_tallies(dsn)
        with psycopg.connect(dsn) as conn:
            sizes = conn.execute(
                "SELECT pg_size_pretty(pg_relation_size('cases')), "
                "pg_size_pretty(pg_relation_size('ix_cases_submitted_at')), "
                "(SELECT setting FROM pg_settings WHERE name = 'max_parallel_workers_per_gather'),"
                " (SELECT setting FROM pg_settings WHERE name = 'work_mem'), version()").fetchone()
        print(f"-- cases heap {sizes[0]}, covering index ix_cases_submitted_at {sizes[1]}; "
              f"parallel workers per gather {sizes[2]}, work_mem {sizes[3]}\n-- {sizes[4]}")
        print("\n-- compute_summary with breakdowns "
              f"{', '.join(BREAKDOWNS)}, {args.runs} runs; windows in {TZ} unless said")
        year = Window(local(2025, 11, 1), local(2026, 11, 1))
        utc_year = Window(YEAR_START, YEAR_END)
        ragged = Window(local(2025, 11, 15, 10), local(2026, 10, 20, 15, 30))
        year_ms, year_data = timed("whole year (12 local months)", year, args.runs)
        _, utc_data = timed("whole year in UTC (every case; part days)", utc_year, args.runs)
        timed("one quarter (2026-08..2026-10)", Window(local(2026, 8, 1), local(2026, 11, 1)),
              args.runs)
        timed("one month (2026-10)", Window(local(2026, 10, 1), local(2026, 11, 1)), args.runs)
        _, ragged_data = timed("ragged: 2025-11-15 10:00 .. 2026-10-20 15:30", ragged,
                               args.runs)
        print("\n-- with a filter the matching cases are counted (no tallies)")
        timed("whole year, agency AG7 only", year, args.runs, Filters(agency_id=7))
        timed("whole year, category cat3 only", year, args.runs, Filters(category_id=3))
        timed("whole year, province P5 (its wards) only", year, args.runs, Filters(area_id=5))
        print("\n-- side by side: the same summaries counted from the cases (use_tallies=False)")
        scan_runs = max(3, args.runs // 3)
        scan_ms, scan_year = timed("whole year (12 local months), from the cases", year,
                                   scan_runs, use_tallies=False)
        _, scan_utc = timed("whole year in UTC, from the cases", utc_year, scan_runs,
                            use_tallies=False)
        _, scan_ragged = timed("ragged, from the cases", ragged, scan_runs, use_tallies=False)
        same = all(_figures(a) == _figures(b) for a, b in (
            (year_data, scan_year), (utc_data, scan_utc), (ragged_data, scan_ragged)))
        print(f"   tallies and cases give the same figures and breakdowns: {'yes' if same else 'NO'}")
        print(f"   whole year: {scan_ms / year_ms:.1f}x faster from the tallies")
        print("\n-- for scale: the cost of only counting the same cases")
        floor("whole year (every case)", utc_year, args.runs)
        floor("one month (2026-10)", Window(local(2026, 10, 1), local(2026, 11, 1)), args.runs)
        print("\n-- EXPLAIN (ANALYZE, BUFFERS), ragged window (tallies, part days, overdue)")
        explain(ragged)
        if not same:
            raise SystemExit("the tallies disagree with the cases")


def _figures(data: dict) -> tuple:
    """What must agree between the two ways of counting (not the instants)."""
    return data["figures"], data["breakdowns"]


if __name__ == "__main__":
    main()
