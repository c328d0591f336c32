"""What every benchmark script shares: progress lines and a scratch PostgreSQL database."""

from __future__ import annotations

import random
import time

import psycopg

FIGURE_CLASS_SQL = """CASE
  WHEN state IN ('submitted', 'assigned', 'in_progress', 'need_info') THEN 'open'
  WHEN state = 'rejected' THEN
    CASE WHEN reject_reason IN ('spam', 'abusive', 'duplicate') THEN 'excluded' ELSE 'rejected' END
  ELSE (CASE WHEN resolve_original_due_at IS NULL OR resolved_at <= resolve_original_due_at
             THEN 'on_time'
             WHEN resolved_at IS NULL THEN 'late'
             WHEN resolve_due_at > resolve_original_due_at AND resolved_at <= resolve_due_at
             THEN 'late_with_extension'
             ELSE 'late' END)
       || COALESCE(':' || latest_rating, '')
END"""
"""`cases.figure_class` in SQL for bulk loaders, which bypass the ORM hook that sets it. The
rule's home is workflows/counting.py; `check_figure_classes` verifies a loaded sample."""


def step(text: str) -> float:
    """Print what starts now and return the start time."""
    print(f"-- {text}", flush=True)
    return time.perf_counter()


def done(started: float) -> None:
    """Print how long the step took."""
    print(f"   {time.perf_counter() - started:.1f} s", flush=True)


def ensure_database(server: str, name: str) -> None:
    """Create the benchmark's own database if it does not exist yet."""
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def check_figure_classes(conn: psycopg.Connection, sample: int = 2000) -> None:
    """Fail loudly if bulk-loaded classes differ from workflows.counting on a random sample."""
    from workflows.counting import figure_class

    top = conn.execute("SELECT max(id) FROM cases").fetchone()[0] or 0
    ids = random.Random(7).sample(range(1, top + 1), min(sample, top))
    rows = conn.execute(
        "SELECT id, state, reject_reason, resolved_at, resolve_original_due_at, resolve_due_at, "
        "latest_rating, figure_class FROM cases WHERE id = ANY(%s)", (ids,)).fetchall()
    wrong = [row[0] for row in rows if figure_class(*row[1:7]) != row[7]]
    if wrong:
        raise SystemExit(f"bulk-loaded figure classes disagree with workflows.counting: {wrong[:10]}")
