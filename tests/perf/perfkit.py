"""What every benchmark script shares: progress lines, a scratch PostgreSQL database, figures
and their targets, timing loops, and the context the runner (tests/perf/run.py) passes around.

A benchmark module that the runner includes exposes `measure(ctx: RunContext) ->
list[Figure]`. It may call `ctx.explain_sql(...)` or `explain_captured(...)` to have query
plans printed with `--explain`.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from flask import Flask

    from tests.perf.datagen import Dataset

PERF_DIR = Path(__file__).resolve().parent
REPO_ROOT = PERF_DIR.parents[1]
OUT_DIR = PERF_DIR / "out"
JWT_SECRET = "perf-jwt-secret-that-is-long-enough-0000000000"  # noqa: S105 - benchmark only


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


def drop_database(server: str, name: str) -> None:
    """Remove a scratch database (its connections first)."""
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


# --------------------------------------------------------------------------- figures


@dataclass(frozen=True)
class Target:
    """What a figure must reach: `stat` (median, p95, p99 or value) at most / at least `limit`."""

    stat: str
    limit: float
    at_least: bool = False

    def met(self, figure: Figure) -> bool | None:
        value = figure.value_of(self.stat)
        if value is None:
            return None
        return value >= self.limit if self.at_least else value <= self.limit

    def describe(self, unit: str) -> str:
        sign = "≥" if self.at_least else "≤"
        return f"{self.stat} {sign} {_number(self.limit)} {unit}".strip()


@dataclass
class Figure:
    """One line of the runner's table."""

    name: str
    unit: str
    median: float | None = None
    p95: float | None = None
    p99: float | None = None
    value: float | None = None
    """For a single number (a ratio, a memory size) instead of a distribution."""
    samples: int = 0
    peak_mb: float | None = None
    target: Target | None = None
    how: str = ""
    """Where it was measured: "test client", "service function", "gunicorn + wrk", …"""
    note: str = ""
    source: str = ""

    def value_of(self, stat: str) -> float | None:
        return {"median": self.median, "p95": self.p95, "p99": self.p99,
                "value": self.value}.get(stat)

    @property
    def met(self) -> bool | None:
        """True or False against its target, None without a target or a value."""
        return self.target.met(self) if self.target else None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["target"] = self.target.describe(self.unit) if self.target else None
        data["met"] = self.met
        return data


def _number(value: float | None) -> str:
    if value is None:
        return "—"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share in 0..1) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(share * len(ordered) + 0.5) - 1))
    return ordered[index]


def distribution(name: str, samples_ms: list[float], *, unit: str = "ms",
                 **kwargs: Any) -> Figure:
    """A figure from timings: median, p95 and p99."""
    return Figure(name=name, unit=unit, median=statistics.median(samples_ms),
                  p95=percentile(samples_ms, 0.95), p99=percentile(samples_ms, 0.99),
                  samples=len(samples_ms), **kwargs)


def timed_ms(call: Callable[[int], Any], runs: int, warmup: int = 3,
             cpu: list[float] | None = None) -> list[float]:
    """Run `call(i)` `warmup` times untimed, then `runs` times; milliseconds each.

    With `cpu`, also collects this process's CPU milliseconds per run: on a busy machine the
    wall time includes waiting for a core, the CPU time does not (nor PostgreSQL's share).
    """
    for i in range(warmup):
        call(-1 - i)
    samples = []
    for i in range(runs):
        started, used = time.perf_counter(), time.process_time()
        call(i)
        samples.append((time.perf_counter() - started) * 1000)
        if cpu is not None:
            cpu.append((time.process_time() - used) * 1000)
    return samples


def cpu_note(cpu: list[float]) -> str:
    """How much of a request's time was this process's own CPU work."""
    return f"CPU in this process: median {statistics.median(cpu):.1f} ms" if cpu else ""


def format_table(figures: list[Figure]) -> str:
    """The runner's text table."""
    header = ("figure", "median", "p95", "p99", "value", "peak MB", "target", "met", "how")
    rows = [header]
    for f in figures:
        met = {True: "met", False: "MISSED", None: ""}[f.met]
        unit = f" {f.unit}" if f.unit else ""
        rows.append((
            f.name,
            _number(f.median) + unit if f.median is not None else "",
            _number(f.p95) + unit if f.p95 is not None else "",
            _number(f.p99) + unit if f.p99 is not None else "",
            _number(f.value) + unit if f.value is not None else "",
            _number(f.peak_mb) if f.peak_mb is not None else "",
            f.target.describe(f.unit) if f.target else "",
            met, f.how))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(header))]
    lines = []
    for n, row in enumerate(rows):
        lines.append("  ".join(str(c).ljust(w) if i == 0 or i >= 6 else str(c).rjust(w)
                               for i, (c, w) in enumerate(zip(row, widths, strict=True))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    notes = [f"  {f.name}: {f.note}" for f in figures if f.note]
    return "\n".join(lines + ([""] + ["notes:"] + notes if notes else []))


# --------------------------------------------------------------------------- the run


@dataclass
class RunContext:
    """What the runner hands every benchmark's measure()."""

    dataset: Dataset
    server: str
    database: str
    runs: int = 200
    explain: bool = False
    ports: range = range(18400, 18500)
    """Ports our servers may listen on (ours alone on a shared machine)."""
    plans: list[tuple[str, str]] = field(default_factory=list)
    _apps: dict[str, Flask] = field(default_factory=dict)

    @property
    def dsn(self) -> str:
        return self.dataset.dsn

    @property
    def as_of(self) -> datetime:
        return self.dataset.as_of

    def app(self, **overrides: Any) -> Flask:
        """The app on the data set's database (one per distinct set of overrides)."""
        key = repr(sorted(overrides.items()))
        if key not in self._apps:
            from reports_app import create_app
            from reports_app.config import database_url

            config = {"SQLALCHEMY_DATABASE_URI": database_url(self.dsn), "TESTING": True,
                      "SCHEDULER_ENABLED": False, "LOG_LEVEL": "WARNING",
                      "JWT_SECRET_KEY": JWT_SECRET, "RATELIMIT_ENABLED": False,
                      "JWT_ACCESS_TOKEN_EXPIRES": False}
            config.update(overrides)
            self._apps[key] = create_app(config)
        return self._apps[key]

    def record_plan(self, label: str, text: str) -> None:
        """Keep a plan for `--explain` (printed at the end and written to out/plans.txt)."""
        self.plans.append((label, text))

    def explain_sql(self, label: str, sql: str, params: Any = None) -> None:
        """EXPLAIN (ANALYZE, BUFFERS) one statement on the data set, if plans were asked for."""
        if not self.explain:
            return
        with psycopg.connect(self.dsn) as conn:
            rows = conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
            conn.rollback()
        self.record_plan(label, "\n".join(r[0] for r in rows))

    def free_port(self) -> int:
        """A port of our range that nothing listens on."""
        import socket

        for port in self.ports:
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
        raise RuntimeError(f"no free port in {self.ports}")


@contextmanager
def captured_statements(engine: Any, wanted: Callable[[str], bool]) -> Iterator[list[tuple]]:
    """The SQL statements (with parameters) the engine runs inside the block."""
    import sqlalchemy as sa

    seen: list[tuple] = []

    def capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        if wanted(statement):
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)


def explain_captured(ctx: RunContext, label: str, engine: Any,
                     statements: list[tuple]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) the statements a request ran, with its own parameters."""
    if not ctx.explain:
        return
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        for n, (statement, parameters) in enumerate(statements, start=1):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
            ctx.record_plan(f"{label} [{n}/{len(statements)}]",
                            " ".join(statement.split()) + "\n" + plan)
        raw.rollback()
    finally:
        raw.close()


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"


@contextmanager
def undo_new_cases(dsn: str) -> Iterator[None]:
    """Let a benchmark file reports into the data set, then delete them (with their events,
    clocks, photos rows, idempotency keys and messages), so the data set stays as loaded."""
    with psycopg.connect(dsn) as conn:
        last_case, last_message, last_key = conn.execute(
            "SELECT (SELECT coalesce(max(id), 0) FROM cases), "
            "(SELECT coalesce(max(id), 0) FROM outbox), "
            "(SELECT coalesce(max(id), 0) FROM idempotency_keys)").fetchone()
    try:
        yield
    finally:
        with psycopg.connect(dsn) as conn:
            conn.execute("DELETE FROM outbox WHERE id > %s", (last_message,))
            conn.execute("DELETE FROM idempotency_keys WHERE id > %s", (last_key,))
            conn.execute("DELETE FROM cases WHERE id > %s", (last_case,))
