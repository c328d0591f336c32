"""One synthetic national data set for every benchmark, loaded straight into PostgreSQL.

Run: .venv/bin/python tests/perf/datagen.py [--cases 1000000] [--seed 42]
     [--server postgresql://postgres@127.0.0.1:5432] [--database perf_scale] [--reuse]

From Python: `load(dsn, cases, seed)` (drops and rebuilds the database's public schema with the
app's migrations, then loads), or `ensure(dsn, cases, seed, reuse=True)` (keeps a database that
already holds the same data set). Give it a database of its own: the load wipes it.

What it loads (deterministic: the same cases, seed and `as_of` give the same rows):
- the country of tests/perf/geography.py: 34 provinces, 3,321 wards and communes with square
  boundaries, 6 agencies per province (204), the demo's 12 categories and SLA policies, one
  routing rule per (category, province) naming the province's agency for it (`other` has no
  rule: those reports wait for an operator), an Open311 key `perf-open311-key`;
- staff (about 2,500, more in busy provinces), operators and supervisors per province, an admin,
  and citizens (0.4 per case; a few send many reports, most one). Every account's password is
  `PERF_PASSWORD`;
- N cases over the two years before `as_of`, more each month (the app catches on), more by day
  than by night, placed by province population (the big cities use the app more) and, inside a
  province, mostly in the central wards; each case walks the workflow as the engine would:
  submit (auto-assigned when a rule routes it), triage by an operator, 3% transferred, accept,
  5% asked for more information, 4% ask for an extension, resolve (log-normal times scaled by
  the category's SLA, so some are late; 5% neglected for months, 0.5% never), a rating by 60%
  of the reporters within the feedback window (a dissatisfied one reopens the case for a
  second round), else closed by the system after the window; 8% rejected at triage (spam,
  duplicates merged, …). Everything after `as_of` has not happened yet, so the open backlog
  is mostly recent with a stuck tail;
- for every case its timeline (`case_events`: each action of its path), its SLA clocks
  (`case_clocks`, stopped, paused or running, deadlines in calendar time approximating working
  time), the warnings and breaches the sweeper would have recorded by `as_of` (`sla_events`,
  older breaches mostly acknowledged), report photos and "after" photos (rows only, no files),
  ratings (`feedback`) and followers of merged duplicates.

Working time is approximated (one working day ≈ 1.4 calendar days: 5 of 7 days, 7.5 of 24
hours spread evenly); queues and figures only need deadlines that behave like real ones.

Fast: tables are filled with INSERT … SELECT generate_series (reference rows with one
executemany); secondary indexes and unique constraints are dropped first and rebuilt after,
foreign keys are not checked row by row (`session_replication_role = replica`: the generated
rows are consistent by construction); then VACUUM ANALYZE, as autovacuum would.

After the load, `POST_LOAD_STEPS` run in order (e.g. rebuilding a rollup table from the cases):
add one with `@post_load_step("name")`. Each step gets an open autocommit connection and the
`Dataset`; a step is also run on a reused data set that has not had it yet.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.perf import geography as geo  # noqa: E402
from tests.perf import texts  # noqa: E402
from tests.perf.perfkit import (  # noqa: E402
    FIGURE_CLASS_SQL,
    check_figure_classes,
    done,
    ensure_database,
    step,
)

GENERATOR_VERSION = 2
"""Bump when the generated rows change: a data set loaded by another version is reloaded."""
PERF_PASSWORD = "perf-password-1"  # noqa: S105 - synthetic accounts of a benchmark database
OPEN311_KEY = "perf-open311-key"
SPAN_DAYS = 730
GROWTH = 2.0
"""Reports per day at the end of the span relative to its start."""
LOCAL_OFFSET = timedelta(hours=7)
DAY_START_LOCAL_HOUR = 10
"""`as_of` is 10:00 in the province's time zone, a busy weekday-morning instant."""
WORKING_TO_CALENDAR = (24 * 7) / (7.5 * 5)
"""Calendar hours per working hour, on average (office hours 7.5 h a day, 5 days a week)."""
CITIZENS_PER_CASE = 0.4
CASE_COLUMNS = (
    "id", "tracking_code", "source", "state", "priority", "track", "version", "reporter_id",
    "reporter_name", "reporter_phone", "reporter_email", "is_anonymous", "is_public",
    "category_id", "area_id", "agency_id", "duplicate_of_id", "reject_reason", "description",
    "search_text", "attributes", "lat", "lon", "accuracy_m", "location_source",
    "location_mismatch_m", "address", "captured_at", "submitted_at", "assigned_at",
    "accepted_at", "resolved_at", "closed_at", "rejected_at", "due_at", "due_step",
    "resolve_due_at", "resolve_original_due_at", "pending_extension_due_at",
    "extension_granted", "resolution_round", "public_reply", "latest_rating",
    "resolve_working_minutes", "created_at", "updated_at")
"""The columns of `cases` the generator fills, in the order of insert_cases' SELECT."""


# --------------------------------------------------------------------------- the data set


@dataclass(frozen=True)
class Dataset:
    """A loaded data set: where it is and what it holds."""

    dsn: str
    cases: int
    seed: int
    as_of: datetime
    """The data's "now": nothing after it has happened; benchmarks travel to it."""
    load_seconds: float | None = None
    """How long the load took, or None when an existing data set was reused."""
    meta: dict[str, Any] = field(default_factory=dict)


PostLoadStep = Callable[[psycopg.Connection, Dataset], None]
POST_LOAD_STEPS: list[tuple[str, PostLoadStep]] = []
"""(name, step) run in order after every load, and on reuse when a step has not run yet."""


def post_load_step(name: str) -> Callable[[PostLoadStep], PostLoadStep]:
    """Register a step to run after the load (a rollup rebuilt from the cases, say)."""
    def register(function: PostLoadStep) -> PostLoadStep:
        POST_LOAD_STEPS[:] = [(n, f) for n, f in POST_LOAD_STEPS if n != name]
        POST_LOAD_STEPS.append((name, function))
        return function
    return register


@post_load_step("case_tallies")
def rebuild_case_tallies(conn: psycopg.Connection, dataset: Dataset) -> None:
    """The figures' tallies, as `flask stats rebuild-tallies` builds them from the cases."""
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from reports_app.config import database_url
    from workflows.calendar import DEFAULT_TZ
    from workflows.tallies import rebuild_tallies

    check_figure_classes(conn)
    engine = sa.create_engine(database_url(dataset.dsn))
    try:
        with engine.begin() as connection:
            rebuild_tallies(connection, ZoneInfo(DEFAULT_TZ))
    finally:
        engine.dispose()
    conn.execute("VACUUM ANALYZE case_tallies")


def default_as_of(now: datetime | None = None) -> datetime:
    """The latest 10:00 local time (UTC+7) at or before `now`."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    local = now + LOCAL_OFFSET
    start = local.replace(hour=DAY_START_LOCAL_HOUR, minute=0, second=0, microsecond=0)
    if start > local:
        start -= timedelta(days=1)
    return (start - LOCAL_OFFSET).replace(tzinfo=UTC)


def describe(dsn: str) -> dict[str, Any] | None:
    """What the generator recorded about the data set in this database, if any."""
    try:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT obj_description('public.cases'::regclass, 'pg_class'), "
                "(SELECT version_num FROM alembic_version LIMIT 1)").fetchone()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidCatalogName,
            psycopg.OperationalError):
        return None
    if row is None or not row[0]:
        return None
    try:
        meta = json.loads(row[0])
    except ValueError:
        return None
    meta["database_revision"] = row[1]
    return meta


def _scripts() -> Any:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    """The migrations' head revision(s), as Alembic names them."""
    return ",".join(sorted(_scripts().get_heads()))


def revision_chain(revision: str | None) -> list[str] | None:
    """The revisions from base up to `revision` as the code's migrations chain them, or None
    when the code does not know it. A merge that re-chains revisions changes this list."""
    if not revision:
        return None
    try:
        return [r.revision for r in _scripts().iterate_revisions(revision, "base")][::-1]
    except Exception:  # an unknown revision: alembic's errors have no common base class
        return None


def _dataset(dsn: str, meta: dict[str, Any], seconds: float | None) -> Dataset:
    return Dataset(dsn=dsn, cases=int(meta["cases"]), seed=int(meta["seed"]),
                   as_of=datetime.fromisoformat(meta["as_of"]), load_seconds=seconds, meta=meta)


def reuse_problem(meta: dict[str, Any] | None, cases: int, seed: int) -> str | None:
    """Why a recorded data set cannot be reused for (cases, seed), or None if it can."""
    if meta is None:
        return "no data set recorded in this database"
    wanted = {"generator": GENERATOR_VERSION, "cases": cases, "seed": seed}
    for key, value in wanted.items():
        if meta.get(key) != value:
            return f"it was loaded with {key}={meta.get(key)!r}, not {value!r}"
    return None


def migrate(dsn: str) -> None:
    """Run the migrations up to head on the database, through the app as `flask db upgrade`."""
    from flask_migrate import upgrade

    from reports_app import create_app
    from reports_app.config import database_url
    from reports_app.extensions import db
    from reports_app.migrations_setup import bind_migrations

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(dsn), "TESTING": True,
                      "SCHEDULER_ENABLED": False, "LOG_LEVEL": "WARNING"})
    bind_migrations(app)
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()


def upgrade_in_place(dsn: str) -> float:
    """Apply newer migrations to a loaded data set, as production would; seconds taken."""
    started = time.perf_counter()
    migrate(dsn)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def ensure(dsn: str, cases: int = 1_000_000, seed: int = 42, *, reuse: bool = True,
           as_of: datetime | None = None) -> Dataset:
    """The data set in `dsn`: reused when it matches (newer migrations applied to it, post-load
    steps caught up), else loaded afresh."""
    meta = describe(dsn)
    problem = reuse_problem(meta, cases, seed) if reuse else "--reuse not given"
    if problem is None and meta is not None:
        print(f"-- reusing the data set in {dsn.rsplit('/', 1)[-1]}: {cases:,} cases, seed "
              f"{seed}, as of {meta['as_of']} (loaded in {meta.get('seconds', '?')} s)",
              flush=True)
        head = head_revision()
        chain = revision_chain(meta.get("database_revision"))
        if meta.get("chain") and chain != meta["chain"]:
            print("-- loading afresh: the migrations were chained differently since the load "
                  f"({' → '.join(meta['chain'])} is now {chain and ' → '.join(chain)})",
                  flush=True)
            return load(dsn, cases, seed, as_of=as_of)
        if meta.get("database_revision") not in head.split(","):
            started = step(f"migrating the loaded data from {meta.get('database_revision')} "
                           f"to {head}")
            try:
                seconds = upgrade_in_place(dsn)
            except Exception as exc:  # an unknown or diverged revision: start again
                print(f"   cannot migrate ({exc}); loading afresh", flush=True)
                return load(dsn, cases, seed, as_of=as_of)
            done(started)
            meta.setdefault("migrations", []).append(
                {"to": head, "seconds": round(seconds, 1)})
            meta["chain"] = revision_chain(head.split(",")[0])
            _record(dsn, meta)
        dataset = _dataset(dsn, meta, None)
        missing = [(n, f) for n, f in POST_LOAD_STEPS if n not in meta.get("steps", [])]
        if missing:
            _run_steps(dataset, missing)
            meta["steps"] = meta.get("steps", []) + [n for n, _ in missing]
            _record(dsn, meta)
        return dataset
    if reuse:
        print(f"-- loading afresh: {problem}", flush=True)
    return load(dsn, cases, seed, as_of=as_of)


def _record(dsn: str, meta: dict[str, Any]) -> None:
    stored = {k: v for k, v in meta.items() if k != "database_revision"}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"COMMENT ON TABLE cases IS {_quote(json.dumps(stored))}")


def _run_steps(dataset: Dataset, steps: list[tuple[str, PostLoadStep]]) -> None:
    with psycopg.connect(dataset.dsn, autocommit=True) as conn:
        for name, function in steps:
            started = step(f"post-load step: {name}")
            function(conn, dataset)
            done(started)


# --------------------------------------------------------------------------- loading


def load(dsn: str, cases: int = 1_000_000, seed: int = 42, *,
         as_of: datetime | None = None) -> Dataset:
    """Wipe the database, build the schema with the migrations, load the data set, record it."""
    if cases < 1:
        raise ValueError("cases must be at least 1")
    as_of = (as_of or default_as_of()).astimezone(UTC)
    began = time.perf_counter()
    started = step("schema from the app's migrations (public schema dropped first)")
    build_schema(dsn)
    done(started)
    generator = _Generator(dsn, cases, seed, as_of)
    generator.run()
    seconds = round(time.perf_counter() - began, 1)
    meta = {"generator": GENERATOR_VERSION, "cases": cases, "seed": seed,
            "as_of": as_of.isoformat(), "seconds": seconds, "counts": generator.counts,
            "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"), "steps": [],
            "chain": revision_chain(head_revision().split(",")[0])}
    _record(dsn, meta)
    dataset = _dataset(dsn, {**meta, "database_revision": head_revision()}, seconds)
    if POST_LOAD_STEPS:
        _run_steps(dataset, list(POST_LOAD_STEPS))
        meta["steps"] = [n for n, _ in POST_LOAD_STEPS]
        _record(dsn, meta)
    total = round(time.perf_counter() - began, 1)
    print(f"-- loaded {cases:,} cases in {total:.1f} s: "
          + ", ".join(f"{k} {v:,}" for k, v in generator.counts.items()), flush=True)
    return _dataset(dsn, {**meta, "database_revision": head_revision()}, total)


def build_schema(dsn: str) -> None:
    """An empty public schema, then every migration, exactly as the tests build theirs."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate(dsn)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _array(values: list[float]) -> str:
    return "'{" + ",".join(repr(float(v)) for v in values) + "}'::float8[]"


def _cumulative(weights: list[float]) -> list[float]:
    """Lower bounds of each bucket in [0, 1): what width_bucket needs."""
    total = sum(weights)
    bounds, running = [], 0.0
    for weight in weights:
        bounds.append(running / total)
        running += weight
    return bounds


class _Generator:
    """The load, step by step; SQL text carries only numbers and ISO instants we made."""

    def __init__(self, dsn: str, cases: int, seed: int, as_of: datetime) -> None:
        self.dsn, self.cases, self.seed, self.as_of = dsn, cases, seed, as_of
        self.start = as_of - timedelta(days=SPAN_DAYS)
        self.counts: dict[str, int] = {}
        self.wards = geo.lay_out_wards(first_id=len(geo.PROVINCES) + 1)
        self.demo = json.loads((REPO_ROOT / "reports_app" / "demo" / "data" / "daklak.json")
                               .read_text(encoding="utf-8"))
        self.categories = self.demo["categories"]

    # ---- helpers

    def u(self, k: int, row: str = "g") -> str:
        """A uniform draw in [0, 1) for row `row` and draw number k (0 <= k < 128)."""
        return (f"((hashint8extended({row}::bigint * 128 + {k}, {self.seed}) "
                f"& 9007199254740991)::float8 / 9007199254740992.0)")

    def z(self, k: int, row: str = "g") -> str:
        """A standard normal draw (Box–Muller from draws k and k + 1)."""
        return (f"(sqrt(-2 * ln(1 - {self.u(k, row)})) * cos(2 * pi() * {self.u(k + 1, row)}))")

    def at(self, column: str) -> str:
        """The instant if it has happened by `as_of`, else NULL."""
        return f"(CASE WHEN {column} <= {self.asof} THEN {column} END)"

    @property
    def asof(self) -> str:
        return f"timestamptz '{self.as_of.isoformat()}'"

    # ---- the steps

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            for setting in ("synchronous_commit = off", "work_mem = '256MB'",
                            "maintenance_work_mem = '512MB'", "jit = off",
                            "session_replication_role = replica"):
                conn.execute(f"SET {setting}")
            started = step("dropping secondary indexes and unique constraints until the end")
            rebuild = self.drop_indexes(conn)
            done(started)
            started = step("reference data, staff and citizens")
            self.reference(conn)
            done(started)
            for label, method in (
                    ("cases: draws and planned paths", self.plan),
                    ("cases: SLA clocks", self.clocks),
                    ("cases", self.insert_cases),
                    ("timeline events", self.insert_events),
                    ("clocks", self.insert_clocks),
                    ("SLA warnings and breaches", self.insert_sla_events),
                    ("photos", self.insert_photos),
                    ("ratings and followers", self.insert_feedback)):
                started = step(label)
                method(conn)
                done(started)
            started = step("sequences, indexes and constraints")
            self.fix_sequences(conn)
            for statement in rebuild:
                conn.execute(statement)
            for table in ("_gen_p", "_gen_c", "_gen_clk", "_gen_w", "_gen_txt", "_gen_attr",
                          "_gen_pol", "_gen_ag", "_gen_prov", "_gen_cat"):
                conn.execute(f"DROP TABLE IF EXISTS {table}")
            done(started)
            started = step("VACUUM ANALYZE")
            conn.execute("VACUUM ANALYZE")
            done(started)
            for table in ("users", "cases", "case_events", "case_clocks", "sla_events",
                          "case_photos", "feedback", "case_followers"):
                self.counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def drop_indexes(self, conn: psycopg.Connection) -> list[str]:
        """Drop what a bulk load maintains row by row; return the statements that rebuild it."""
        rebuild: list[str] = []
        constraints = conn.execute("""
            SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
            FROM pg_constraint
            WHERE contype = 'u' AND connamespace = 'public'::regnamespace""").fetchall()
        for table, name, definition in constraints:
            conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        indexes = conn.execute("""
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
            WHERE c.relnamespace = 'public'::regnamespace AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
              AND c.relname <> 'alembic_version'""").fetchall()
        for name, definition in indexes:
            conn.execute(f"DROP INDEX {name}")
            rebuild.append(definition)
        return rebuild

    def fix_sequences(self, conn: psycopg.Connection) -> None:
        rows = conn.execute("""
            SELECT c.relname, a.attname, pg_get_serial_sequence(c.relname, a.attname)
            FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
            WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
              AND a.attnum > 0 AND pg_get_serial_sequence(c.relname, a.attname) IS NOT NULL
            """).fetchall()
        for table, column, sequence in rows:
            conn.execute(f"SELECT setval('{sequence}', coalesce((SELECT max({column}) "
                         f"FROM {table}), 0) + 1, false)")

    # ---- reference data

    def reference(self, conn: psycopg.Connection) -> None:
        from argon2 import PasswordHasher

        from reports_app.open311.keys import PREFIX_LENGTH, hash_key
        from workflows.durations import parse_duration
        from workflows.states import Track

        now = self.start - timedelta(days=30)
        password = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(
            PERF_PASSWORD)
        shares = geo.province_weights()
        cur = conn.cursor()

        provinces = []
        for index, p in enumerate(geo.PROVINCES):
            mine = [w for w in self.wards if w.province_index == index]
            box = (min(w.min_lat for w in mine), min(w.min_lon for w in mine),
                   max(w.max_lat for w in mine), max(w.max_lon for w in mine))
            ring = [[box[1], box[0]], [box[3], box[0]], [box[3], box[2]], [box[1], box[2]],
                    [box[1], box[0]]]
            provinces.append((index + 1, p.code, p.name_vi, p.name_en + " Province"
                              if not p.city else p.name_en, "province", None,
                              json.dumps({"type": "Polygon", "coordinates": [ring]}),
                              box[1], box[0], box[3], box[2]))
        wards = [(w.id, w.code, w.name_vi, w.name_en, w.level, w.province_index + 1,
                  json.dumps(w.boundary()), w.min_lon, w.min_lat, w.max_lon, w.max_lat)
                 for w in self.wards]
        cur.executemany("""
            INSERT INTO areas (id, code, name_vi, name_en, level, parent_id, boundary, min_lon,
                               min_lat, max_lon, max_lat, is_active, created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true, %s, %s)""",
                        [(*row, now, now) for row in provinces + wards])

        categories = []
        for index, c in enumerate(self.categories, start=1):
            categories.append((index, c["code"], c["service_code"], c["name_vi"], c["name_en"],
                               c["description_vi"], c["description_en"], c["group_vi"],
                               c["group_en"], json.dumps(c["keywords"]), c["default_priority"],
                               c["track"], c["requires_after_photo"],
                               json.dumps(c.get("fields", [])), c["sort_order"], now, now))
        cur.executemany("""
            INSERT INTO categories (id, code, service_code, name_vi, name_en, description_vi,
                description_en, group_vi, group_en, keywords, default_priority, track,
                requires_after_photo, fields, sort_order, is_active, created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true, %s, %s)
            """, categories)
        category_id = {c["code"]: i for i, c in enumerate(self.categories, start=1)}

        policies = []
        for index, item in enumerate(self.demo["sla_policies"], start=1):
            track = Track(item["track"])
            policies.append((index, category_id.get(item.get("category_code")),
                             item["priority"], item["track"],
                             parse_duration(item["triage"], track),
                             parse_duration(item["accept"], track),
                             parse_duration(item["resolve"], track),
                             item.get("warn_ratio", 0.75), now, now))
        cur.executemany("""
            INSERT INTO sla_policies (id, category_id, priority, track, triage_minutes,
                accept_minutes, resolve_minutes, warn_ratio, is_active, created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, true, %s, %s)""", policies)

        kinds = [k[0] for k in geo.AGENCY_KINDS]
        load_share = {k: sum(s for code, s in geo.CATEGORY_SHARE.items()
                             if geo.CATEGORY_AGENCY.get(code) == k)
                      + geo.CATEGORY_SHARE["other"] / len(kinds) for k in kinds}
        agencies, rules, pools, users = [], [], [], []
        user_id = 1
        users.append((user_id, None, "admin@perf.test", "Quản trị hệ thống", "admin", None, "vi"))
        province_pools = []
        for index, p in enumerate(geo.PROVINCES):
            share = shares[index]
            operators = 2 + round(60 * share)
            supervisors = 2 + round(12 * share)
            province_pools.append((index, user_id + 1, operators, user_id + 1 + operators,
                                   supervisors))
            for n in range(operators):
                user_id += 1
                users.append((user_id, None, f"operator{n + 1}.{p.code}@perf.test",
                              f"Tiếp nhận {n + 1} {p.name_vi}", "operator", None, "vi"))
            for n in range(supervisors):
                user_id += 1
                users.append((user_id, None, f"supervisor{n + 1}.{p.code}@perf.test",
                              f"Lãnh đạo {n + 1} {p.name_vi}", "supervisor", None,
                              "en" if n % 4 == 3 else "vi"))
            for k_index, (prefix, kind, name_vi, name_en) in enumerate(geo.AGENCY_KINDS):
                agency_id = index * len(kinds) + k_index + 1
                short_vi = p.name_vi.replace("Thành phố ", "thành phố ").replace("Tỉnh ", "tỉnh ")
                agencies.append((agency_id, f"{prefix}-{p.code}", f"{name_vi} {short_vi}",
                                 f"{name_en} {p.name_en}", kind, index + 1,
                                 f"{prefix.lower()}.{p.code}@perf.test"))
                staff = max(3, round(2400 * share * load_share[prefix]))
                pools.append((agency_id, index, k_index, user_id + 1, staff))
                for n in range(staff):
                    user_id += 1
                    users.append((user_id, None, f"staff{n + 1}.{prefix.lower()}.{p.code}"
                                  "@perf.test", f"Cán bộ {n + 1} {prefix}-{p.code}", "staff",
                                  agency_id, "vi"))
            for code, prefix in geo.CATEGORY_AGENCY.items():
                agency_id = index * len(kinds) + kinds.index(prefix) + 1
                rules.append((len(rules) + 1, category_id[code], index + 1, agency_id,
                              f"{code}: {prefix}-{p.code}"))
        cur.executemany("""
            INSERT INTO agencies (id, code, name_vi, name_en, kind, area_id, email, is_active,
                                  created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, true, %s, %s)""",
                        [(*row, now, now) for row in agencies])
        cur.executemany("""
            INSERT INTO routing_rules (id, category_id, area_id, agency_id, note, is_active,
                                       created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, true, %s, %s)""", [(*row, now, now) for row in rules])
        cur.executemany("""
            INSERT INTO users (id, phone, email, full_name, password_hash, role, agency_id,
                               language, is_active, created_at, updated_at)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, true, %s, %s)""",
                        [(i, ph, em, name, password, role, ag, lang, now, now)
                         for i, ph, em, name, role, ag, lang in users])
        self.first_citizen = user_id + 1
        self.citizens = max(1000, round(self.cases * CITIZENS_PER_CASE))
        cur.execute(f"""
            INSERT INTO users (id, phone, email, full_name, password_hash, role, agency_id,
                               language, is_active, created_at, updated_at)
            SELECT {self.first_citizen} + i, '09' || lpad(i::text, 8, '0'),
                   CASE WHEN {self.u(1, 'i')} < 0.2 THEN 'citizen' || i || '@perf.test' END,
                   (%s::text[])[1 + floor({self.u(2, 'i')} * %s)::int] || ' '
                   || (%s::text[])[1 + floor({self.u(3, 'i')} * %s)::int] || ' '
                   || (%s::text[])[1 + floor({self.u(4, 'i')} * %s)::int],
                   %s, 'citizen', NULL,
                   CASE WHEN {self.u(5, 'i')} < 0.05 THEN 'en' ELSE 'vi' END, true,
                   t.at, t.at
            FROM generate_series(0, {self.citizens - 1}) i,
                 LATERAL (SELECT timestamptz '{self.start.isoformat()}'
                          + ({self.u(6, 'i')} * {SPAN_DAYS} - 30) * interval '1 day' AS at) t
            """, (list(texts.FAMILY_NAMES), len(texts.FAMILY_NAMES), list(texts.MIDDLE_NAMES),
                  len(texts.MIDDLE_NAMES), list(texts.GIVEN_NAMES), len(texts.GIVEN_NAMES),
                  password))
        cur.execute("""
            INSERT INTO api_keys (name, key_hash, key_prefix, contact_email,
                                  rate_limit_per_minute, is_active, created_at)
            VALUES ('Perf Open311 client', %s, %s, 'open311@perf.test', 1000000, true, %s)""",
                    (hash_key(OPEN311_KEY), OPEN311_KEY[:PREFIX_LENGTH], now))

        # Staging tables the case queries join (dropped at the end).
        conn.execute("CREATE UNLOGGED TABLE _gen_w (idx int PRIMARY KEY, id int, p_idx int, "
                     "min_lat float8, min_lon float8, size float8, name_vi text, "
                     "name_fold text, prov_vi text, prov_fold text)")
        from workflows.text import fold
        cur.executemany("INSERT INTO _gen_w VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", [
            (n + 1, w.id, w.province_index, w.min_lat, w.min_lon, w.max_lat - w.min_lat,
             w.name_vi, w.name_fold, geo.PROVINCES[w.province_index].name_vi,
             fold(geo.PROVINCES[w.province_index].name_vi)) for n, w in enumerate(self.wards)])
        conn.execute("CREATE UNLOGGED TABLE _gen_prov (p_idx int PRIMARY KEY, first_op int, "
                     "n_op int, first_sup int, n_sup int)")
        cur.executemany("INSERT INTO _gen_prov VALUES (%s, %s, %s, %s, %s)", province_pools)
        conn.execute("CREATE UNLOGGED TABLE _gen_ag (id int PRIMARY KEY, p_idx int, k_idx int, "
                     "first_staff int, n_staff int)")
        cur.executemany("INSERT INTO _gen_ag VALUES (%s, %s, %s, %s, %s)", pools)
        conn.execute("CREATE UNLOGGED TABLE _gen_txt (cat_id int, idx int, before_vi text, "
                     "after_vi text, before_fold text, after_fold text, reply text, "
                     "PRIMARY KEY (cat_id, idx))")
        conn.execute("CREATE UNLOGGED TABLE _gen_attr (cat_id int, idx int, value jsonb, "
                     "PRIMARY KEY (cat_id, idx))")
        conn.execute("CREATE UNLOGGED TABLE _gen_cat (cat_id int PRIMARY KEY, code text, "
                     "n_txt int, n_attr int, k_idx int, routed bool, default_priority text, "
                     "after_photo bool)")
        for cat in self.categories:
            cid = category_id[cat["code"]]
            templates = texts.DESCRIPTIONS[cat["code"]]
            cur.executemany("INSERT INTO _gen_txt VALUES (%s, %s, %s, %s, %s, %s, %s)", [
                (cid, i, *texts.pieces(t), texts.REPLIES[cat["code"]])
                for i, t in enumerate(templates)])
            variants = texts.attribute_variants(cat.get("fields", []))
            cur.executemany("INSERT INTO _gen_attr VALUES (%s, %s, %s)",
                            [(cid, i, json.dumps(v)) for i, v in enumerate(variants)])
            prefix = geo.CATEGORY_AGENCY.get(cat["code"])
            cur.execute("INSERT INTO _gen_cat VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        (cid, cat["code"], len(templates), len(variants),
                         kinds.index(prefix) if prefix else -1, prefix is not None,
                         cat["default_priority"], cat["requires_after_photo"]))
        # The policy each (category, priority) gets, the way workflows/sla.find_policy picks.
        conn.execute("CREATE UNLOGGED TABLE _gen_pol (cat_id int, priority text, track text, "
                     "tri_h float8, acc_h float8, res_h float8, warn float8, tri_m int, "
                     "acc_m int, res_m int, PRIMARY KEY (cat_id, priority))")
        by_key = {(p[1], p[2]): p for p in policies}
        for cid in category_id.values():
            for priority in ("low", "normal", "high", "urgent"):
                candidates = [(cid, priority), (None, priority)]
                if priority != "normal":
                    candidates += [(cid, "normal"), (None, "normal")]
                policy = next(by_key[c] for c in candidates if c in by_key)
                factor = WORKING_TO_CALENDAR if policy[3] == "deadline" else 1.0
                cur.execute("INSERT INTO _gen_pol VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, "
                            "%s)", (cid, priority, policy[3], policy[4] / 60 * factor,
                                    policy[5] / 60 * factor, policy[6] / 60 * factor,
                                    policy[7], policy[4], policy[5], policy[6]))
        for table in ("_gen_w", "_gen_prov", "_gen_ag", "_gen_txt", "_gen_attr", "_gen_cat",
                      "_gen_pol", "users", "areas", "agencies"):
            conn.execute(f"ANALYZE {table}")
        self.counts["wards"] = len(self.wards)
        self.counts["agencies"] = len(agencies)
        self.counts["staff"] = sum(p[4] for p in pools)

    # ---- cases

    def plan(self, conn: psycopg.Connection) -> None:
        """_gen_c: every case's draws and the instants of its whole path, future included."""
        u, z = self.u, self.z
        n = self.cases
        ward_bounds = _array(_cumulative([w.weight for w in self.wards]))
        cat_bounds = _array(_cumulative([geo.CATEGORY_SHARE[c["code"]]
                                         for c in self.categories]))
        routed = [c["code"] for c in self.categories if c["code"] in geo.CATEGORY_AGENCY]
        # Routing rule ids are province * 11 + category id (see reference()).
        assert routed == [c["code"] for c in self.categories[:len(routed)]]
        r = GROWTH
        # Position in the span with a linearly growing rate (inverse of its CDF), then a warp
        # of each day (from 10:00 local) putting 90% of the reports between 06:00 and 22:00.
        conn.execute(f"""
            CREATE UNLOGGED TABLE _gen_a AS
            SELECT g, w.id AS ward_id, w.p_idx, w.min_lat + w.size * ({u(3)} + {u(4)}) / 2 AS lat,
                   w.min_lon + w.size * ({u(5)} + {u(6)}) / 2 AS lon, w.name_vi AS ward_vi,
                   w.name_fold AS ward_fold, w.prov_vi, w.prov_fold,
                   width_bucket({u(2)}, {cat_bounds}) AS cat_id,
                   timestamptz '{self.start.isoformat()}'
                   + floor(d.days) * interval '1 day'
                   + (CASE WHEN d.phi < 0.675 THEN d.phi / 0.675 * 12
                           WHEN d.phi < 0.775 THEN 12 + (d.phi - 0.675) / 0.1 * 8
                           ELSE 20 + (d.phi - 0.775) / 0.225 * 4 END) * interval '1 hour' AS sub
            FROM generate_series(1, {n}) g
            CROSS JOIN LATERAL (
                SELECT (-1 + sqrt(1 + ({r} * {r} - 1) * (g - 0.5) / {n})) / ({r} - 1)
                       * {SPAN_DAYS} AS days) d0
            CROSS JOIN LATERAL (SELECT d0.days AS days, d0.days - floor(d0.days) AS phi) d
            JOIN _gen_w w ON w.idx = width_bucket({u(1)}, {ward_bounds})""")
        conn.execute(f"""
            CREATE UNLOGGED TABLE _gen_p AS
            SELECT a.*, c.code AS cat_code, c.routed, c.after_photo, x.priority, pol.track,
                   pol.tri_h, pol.acc_h, pol.res_h, pol.warn, pol.tri_m, pol.acc_m, pol.res_m,
                   'PA-' || to_char(a.sub + interval '7 hours', 'YYMM') || '-'
                   || substr(k.alphabet, 1 + mod(k.v / 24389, 29)::int, 1)
                   || substr(k.alphabet, 1 + mod(k.v / 841, 29)::int, 1)
                   || substr(k.alphabet, 1 + mod(k.v / 29, 29)::int, 1)
                   || substr(k.alphabet, 1 + mod(k.v, 29)::int, 1)
                   || CASE WHEN a.month_n > 707281
                           THEN substr(k.alphabet, 1 + mod(a.month_n / 707281, 29)::int, 1)
                           ELSE '' END AS code,
                   x.source, x.reporter_id, x.anon, x.public, x.txt, x.attr, x.street, x.house,
                   x.photos, x.accuracy, x.rejected, x.reject_reason,
                   CASE WHEN x.reject_reason = 'duplicate' AND a.g > 1
                        THEN a.g - 1 - floor({u(40)} * least(50, a.g - 1))::bigint END AS dup_of,
                   CASE WHEN x.rejected THEN a.sub + x.h_tri * interval '1 hour' END AS t_reject,
                   CASE WHEN x.rejected AND NOT c.routed THEN NULL
                        WHEN c.routed THEN a.sub
                        WHEN {u(41)} < 0.005 THEN NULL
                        ELSE a.sub + x.h_tri * interval '1 hour' END AS t_assign,
                   ag0.id AS agency0, ag1.id AS agency1,
                   op.first_op + floor({u(42)} * op.n_op)::int AS operator_id,
                   op.first_sup + floor({u(43)} * op.n_sup)::int AS supervisor_id,
                   ag0.first_staff + floor({u(44)} * ag0.n_staff)::int AS staff0,
                   ag1.first_staff + floor({u(44)} * ag1.n_staff)::int AS staff1,
                   x.h_trans,
                   -- Acceptance takes hours on the deadline track, minutes on the immediate one.
                   CASE WHEN NOT x.never_accepted THEN least(240, greatest(0.05, exp(
                        ln(least(3, 0.35 * pol.acc_h)) + x.z_acc))) END AS h_acc,
                   x.h_info, x.h_info_ans, x.h_res1, x.h_neglect, x.h_rate,
                   x.rating, x.h_res2, x.ext, x.ext_granted, x.h_ext_dec, x.h_comment
            FROM (SELECT *, row_number() OVER (PARTITION BY date_trunc(
                      'month', sub + interval '7 hours') ORDER BY g) AS month_n
                  FROM _gen_a) a
            JOIN _gen_cat c ON c.cat_id = a.cat_id
            CROSS JOIN LATERAL (SELECT mod(a.month_n * 7919 + 12345, 707281) AS v,
                                       '23456789ABCDEFGHJKMNPQRSTWXYZ'::text AS alphabet) k
            CROSS JOIN LATERAL (SELECT
                CASE WHEN c.default_priority = 'normal' AND {u(7)} < 0.08 THEN 'high'
                     ELSE c.default_priority END AS priority,
                CASE WHEN {u(8)} < 0.88 THEN 'app' WHEN {u(8)} < 0.95 THEN 'open311'
                     ELSE 'hotline' END AS source,
                CASE WHEN {u(8)} < 0.88
                     THEN {self.first_citizen} + floor(power({u(9)}, 1.6) * {self.citizens})::int
                     END AS reporter_id,
                {u(8)} < 0.88 AND {u(10)} < 0.1 AS anon, {u(11)} < 0.92 AS public,
                floor({u(12)} * c.n_txt)::int AS txt, floor({u(13)} * c.n_attr)::int AS attr,
                1 + floor({u(14)} * {len(texts.STREETS)})::int AS street,
                1 + floor(power({u(15)}, 2) * 400)::int AS house,
                CASE WHEN {u(16)} < 0.03 THEN 0 WHEN {u(16)} < 0.73 THEN 1
                     WHEN {u(16)} < 0.93 THEN 2 ELSE 3 END AS photos,
                round((3 + power({u(17)}, 2) * 60)::numeric, 1)::float8 AS accuracy,
                {u(18)} < 0.08 AS rejected,
                CASE WHEN {u(18)} >= 0.08 THEN NULL WHEN {u(19)} < 0.25 THEN 'spam'
                     WHEN {u(19)} < 0.60 THEN 'duplicate' WHEN {u(19)} < 0.80 THEN 'out_of_scope'
                     WHEN {u(19)} < 0.95 THEN 'not_enough_information' ELSE 'abusive'
                     END AS reject_reason,
                least(72, greatest(0.05, exp(ln(1.5) + {z(20)}))) AS h_tri,
                CASE WHEN {u(22)} < 0.03 THEN 2 + {u(23)} * 28 END AS h_trans,
                {u(24)} < 0.002 AS never_accepted, {z(25)} AS z_acc,
                CASE WHEN {u(27)} < 0.05 AND {u(8)} < 0.88 THEN 1 + {u(28)} * 47 END AS h_info,
                CASE WHEN {u(29)} < 0.02 THEN NULL
                     ELSE least(720, greatest(0.5, exp(ln(20) + {z(30)}))) END AS h_info_ans,
                -- Resolve time as a share of the policy's span; 4% neglected for weeks.
                CASE WHEN {u(32)} < 0.04 THEN 1 + {u(33)} * 0.5
                     WHEN {u(32)} < 0.043 THEN NULL
                     ELSE exp(ln(0.45) + 0.7 * {z(35)}) END AS h_res1,
                CASE WHEN {u(32)} < 0.04 THEN -ln(1 - {u(34)}) * 45 * 24 ELSE 0 END AS h_neglect,
                CASE WHEN {u(8)} < 0.88 AND {u(37)} < 0.6 THEN 2.4 + {u(38)} * 153.6
                     END AS h_rate,
                CASE WHEN {u(39)} < 0.68 THEN 'satisfied' WHEN {u(39)} < 0.88 THEN 'accepted'
                     ELSE 'dissatisfied' END AS rating,
                exp(ln(0.3) + 0.6 * {z(45)}) AS h_res2,
                {u(47)} < 0.04 AS ext, {u(48)} < 0.75 AS ext_granted,
                2 + {u(49)} * 22 AS h_ext_dec,
                CASE WHEN {u(50)} < 0.1 THEN {u(51)} END AS h_comment
                ) x
            JOIN _gen_pol pol ON pol.cat_id = a.cat_id AND pol.priority = x.priority
            JOIN _gen_prov op ON op.p_idx = a.p_idx
            JOIN _gen_ag ag0 ON ag0.p_idx = a.p_idx AND ag0.k_idx = CASE WHEN c.routed
                 THEN c.k_idx ELSE floor({u(52)} * 6)::int END
            JOIN _gen_ag ag1 ON ag1.p_idx = a.p_idx
                 AND ag1.k_idx = mod(ag0.k_idx + 1 + floor({u(53)} * 5)::int, 6)""")
        conn.execute("DROP TABLE _gen_a")
        # The instants of each path, planned (they may lie after as_of); a rejection ends it.
        conn.execute(f"""
            CREATE UNLOGGED TABLE _gen_c AS
            SELECT p.*, t0.t_transfer, t1.t_accept, t2.t_info_req, t2.t_info_ans,
                   t4.t_res1, t4.t_ext_req, t4.t_ext_dec, t4.has_ext,
                   t4.t_res1 + p.h_rate * interval '1 hour' AS t_rate,
                   CASE WHEN p.rating = 'dissatisfied'
                        THEN t4.t_res1 + p.h_rate * interval '1 hour' END AS t_reopen,
                   CASE WHEN p.rating = 'dissatisfied'
                        THEN t4.t_res1 + p.h_rate * interval '1 hour'
                             + greatest(0.5, p.h_res2 * p.res_h) * interval '1 hour' END AS t_res2,
                   CASE WHEN p.h_rate IS NULL
                        THEN t4.t_res1 + interval '7 days' + {u(54)} * interval '10 minutes'
                        WHEN p.rating <> 'dissatisfied'
                        THEN t4.t_res1 + p.h_rate * interval '1 hour'
                        ELSE t4.t_res1 + p.h_rate * interval '1 hour'
                             + greatest(0.5, p.h_res2 * p.res_h) * interval '1 hour'
                             + interval '7 days' + {u(55)} * interval '10 minutes'
                        END AS t_close,
                   t1.t_accept + p.h_comment * t3.work * interval '1 hour' AS t_comment
            FROM _gen_p p
            CROSS JOIN LATERAL (SELECT CASE WHEN NOT p.rejected
                THEN p.t_assign + p.h_trans * interval '1 hour' END AS t_transfer) t0
            CROSS JOIN LATERAL (SELECT CASE WHEN NOT p.rejected
                THEN coalesce(t0.t_transfer, p.t_assign) + p.h_acc * interval '1 hour'
                END AS t_accept) t1
            CROSS JOIN LATERAL (SELECT t1.t_accept + p.h_info * interval '1 hour' AS t_info_req,
                t1.t_accept + (p.h_info + p.h_info_ans) * interval '1 hour' AS t_info_ans) t2
            CROSS JOIN LATERAL (SELECT
                greatest(0.2, p.h_res1 * p.res_h) + p.h_neglect AS work,
                CASE WHEN p.h_res1 IS NULL
                          OR (p.h_info IS NOT NULL AND p.h_info_ans IS NULL) THEN NULL
                     ELSE t1.t_accept + (coalesce(p.h_info + p.h_info_ans, 0)
                          + greatest(0.2, p.h_res1 * p.res_h) + p.h_neglect) * interval '1 hour'
                     END AS base,
                t1.t_accept + 0.5 * p.res_h * interval '1 hour' AS ext_req) t3
            CROSS JOIN LATERAL (SELECT
                p.ext AND t3.ext_req + p.h_ext_dec * interval '1 hour'
                    < coalesce(t3.base, 'infinity') AS valid) v
            CROSS JOIN LATERAL (SELECT
                coalesce(v.valid, false) AS has_ext,
                CASE WHEN v.valid THEN t3.ext_req END AS t_ext_req,
                CASE WHEN v.valid THEN t3.ext_req + p.h_ext_dec * interval '1 hour'
                     END AS t_ext_dec,
                t3.base + CASE WHEN v.valid AND p.ext_granted THEN 0.5 * p.res_h ELSE 0 END
                    * interval '1 hour' AS t_res1) t4""")
        conn.execute("DROP TABLE _gen_p")
        conn.execute("ALTER TABLE _gen_c ADD PRIMARY KEY (g)")
        conn.execute("ANALYZE _gen_c")

    def clocks(self, conn: psycopg.Connection) -> None:
        """_gen_clk: each case's clocks as they stand at as_of (started ones only)."""
        a = self.at
        conn.execute(f"""
            CREATE UNLOGGED TABLE _gen_clk AS
            SELECT c.g AS case_id, k.seq, k.step, k.round, c.track, k.allowed, c.warn,
                   k.started, {a('k.stop')} AS stopped_at,
                   -- A pause is on while the request is answered after as_of.
                   CASE WHEN k.pausable AND {a('c.t_info_req')} IS NOT NULL
                             AND {a('c.t_info_ans')} IS NULL
                             AND ({a('k.stop')} IS NULL) THEN c.t_info_req END AS paused_at,
                   k.started + k.span * c.warn * interval '1 hour' + k.shift AS warn_at,
                   k.started + k.span * interval '1 hour' + k.shift + k.extra AS due_at,
                   k.started + k.span * interval '1 hour' + k.shift AS original_due_at
            FROM _gen_c c
            CROSS JOIN LATERAL (
                SELECT coalesce(c.t_transfer, c.t_assign) AS assigned,
                       CASE WHEN c.t_info_ans <= {self.asof}
                            THEN c.t_info_ans - c.t_info_req ELSE interval '0' END AS pause,
                       CASE WHEN c.has_ext AND c.ext_granted AND c.t_ext_dec <= {self.asof}
                            THEN 0.5 * c.res_h * interval '1 hour' ELSE interval '0' END AS ext
                ) x
            CROSS JOIN LATERAL (VALUES
                (1, 'triage', 1, c.tri_m, c.tri_h, c.sub,
                 CASE WHEN NOT c.routed THEN coalesce(c.t_assign, c.t_reject) END,
                 false, interval '0', interval '0', NOT c.routed),
                (2, 'accept', 1, c.acc_m, c.acc_h, c.t_assign,
                 coalesce(c.t_transfer, c.t_accept, c.t_reject), false, interval '0',
                 interval '0', c.t_assign IS NOT NULL),
                (3, 'resolve', 1, c.res_m, c.res_h, c.t_assign,
                 coalesce(c.t_transfer, c.t_res1, c.t_reject),
                 c.t_transfer IS NULL, CASE WHEN c.t_transfer IS NULL THEN x.pause
                 ELSE interval '0' END, CASE WHEN c.t_transfer IS NULL THEN x.ext
                 ELSE interval '0' END, c.t_assign IS NOT NULL),
                (4, 'accept', 1, c.acc_m, c.acc_h, c.t_transfer, coalesce(c.t_accept, c.t_reject),
                 false, interval '0', interval '0', c.t_transfer IS NOT NULL),
                (5, 'resolve', 1, c.res_m, c.res_h, c.t_transfer, c.t_res1, true, x.pause, x.ext,
                 c.t_transfer IS NOT NULL),
                (6, 'resolve', 2, c.res_m, c.res_h, c.t_reopen, c.t_res2, false, interval '0',
                 interval '0', c.t_reopen IS NOT NULL)
            ) AS k(seq, step, round, allowed, span, started, stop, pausable, shift, extra, wanted)
            WHERE k.wanted AND k.started <= {self.asof}""")
        conn.execute("CREATE INDEX ON _gen_clk (case_id)")
        conn.execute("ANALYZE _gen_clk")

    def insert_cases(self, conn: psycopg.Connection) -> None:
        a = self.at
        asof = self.asof
        self.check_case_columns(conn)
        # The figure class is the app's rule (workflows/counting.py), here in SQL over the
        # generated columns; the `case_tallies` step checks a sample against the rule.
        conn.execute(f"""
            INSERT INTO cases ({", ".join(CASE_COLUMNS)}, figure_class)
            SELECT x.*, {FIGURE_CLASS_SQL} FROM (
            SELECT c.g, c.code, c.source, s.state, c.priority, c.track, 1 + ev.n,
                c.reporter_id,
                CASE WHEN c.source <> 'app' THEN 'Người gửi ' || c.g END,
                CASE WHEN c.source = 'hotline' THEN '08' || lpad(mod(c.g, 100000000)::text, 8, '0')
                     END,
                CASE WHEN c.source = 'open311' THEN 'open311.' || c.g || '@perf.test' END,
                c.anon, c.public, c.cat_id, c.ward_id,
                CASE WHEN {a('c.t_transfer')} IS NOT NULL THEN c.agency1
                     WHEN {a('c.t_assign')} IS NOT NULL THEN c.agency0 END,
                CASE WHEN s.state = 'rejected' THEN c.dup_of END,
                CASE WHEN s.state = 'rejected' THEN c.reject_reason END,
                tx.before_vi || st.name || tx.after_vi,
                tx.before_fold || st.fold || tx.after_fold || ' so ' || c.house || ' '
                    || st.fold || ', ' || c.ward_fold || ', ' || c.prov_fold,
                at.value, round(c.lat::numeric, 6)::float8, round(c.lon::numeric, 6)::float8,
                c.accuracy, CASE WHEN c.source = 'app' THEN 'app' END, NULL::float8,
                'Số ' || c.house || ' ' || st.name || ', ' || c.ward_vi || ', ' || c.prov_vi,
                CASE WHEN c.photos > 0 THEN c.sub - interval '3 minutes' END,
                c.sub, {a('coalesce(c.t_transfer, c.t_assign)')}, {a('c.t_accept')},
                coalesce({a('c.t_res2')}, {a('c.t_res1')}), {a('c.t_close')},
                {a('c.t_reject')},
                d.due_at, d.due_step, d.resolve_due_at, d.resolve_original_due_at,
                CASE WHEN s.state IN ('assigned', 'in_progress', 'need_info')
                          AND {a('c.t_ext_req')} IS NOT NULL AND {a('c.t_ext_dec')} IS NULL
                     THEN c.t_ext_req + 0.5 * c.res_h * interval '1 hour' END,
                coalesce(c.has_ext AND c.ext_granted AND c.t_ext_dec <= {asof}
                         AND {a('c.t_reopen')} IS NULL, false),
                CASE WHEN {a('c.t_res2')} IS NOT NULL THEN 2
                     WHEN {a('c.t_res1')} IS NOT NULL THEN 1 ELSE 0 END,
                CASE WHEN {a('c.t_res1')} IS NOT NULL THEN tx.reply END,
                CASE WHEN {a('c.t_rate')} IS NOT NULL THEN c.rating END,
                CASE WHEN coalesce({a('c.t_res2')}, {a('c.t_res1')}) IS NOT NULL
                     THEN round(extract(epoch FROM coalesce({a('c.t_res2')}, {a('c.t_res1')})
                                - c.sub) / 60 / {WORKING_TO_CALENDAR})::int END,
                c.sub, greatest(c.sub, ev.last_at)
            FROM _gen_c c
            JOIN _gen_txt tx ON tx.cat_id = c.cat_id AND tx.idx = c.txt
            JOIN _gen_attr at ON at.cat_id = c.cat_id AND at.idx = c.attr
            JOIN (SELECT i AS idx, (%s::text[])[i] AS name, (%s::text[])[i] AS fold
                  FROM generate_series(1, %s) i) st ON st.idx = c.street
            CROSS JOIN LATERAL (SELECT CASE
                WHEN {a('c.t_reject')} IS NOT NULL THEN 'rejected'
                WHEN {a('c.t_close')} IS NOT NULL THEN 'closed'
                WHEN {a('c.t_res2')} IS NOT NULL THEN 'resolved'
                WHEN {a('c.t_reopen')} IS NOT NULL THEN 'in_progress'
                WHEN {a('c.t_res1')} IS NOT NULL THEN 'resolved'
                WHEN {a('c.t_info_req')} IS NOT NULL AND {a('c.t_info_ans')} IS NULL
                     THEN 'need_info'
                WHEN {a('c.t_accept')} IS NOT NULL THEN 'in_progress'
                WHEN {a('c.t_assign')} IS NOT NULL THEN 'assigned'
                ELSE 'submitted' END AS state) s
            CROSS JOIN LATERAL (SELECT
                (SELECT count(*) FROM unnest(ARRAY[c.t_assign, c.t_reject, c.t_transfer,
                    c.t_accept, c.t_info_req, c.t_info_ans, c.t_ext_req, c.t_ext_dec, c.t_res1,
                    c.t_reopen, c.t_res2, c.t_close]) t WHERE t <= {asof}
                    AND NOT (c.routed AND t = c.t_assign)) AS n,
                (SELECT max(t) FROM unnest(ARRAY[c.t_assign, c.t_reject, c.t_transfer,
                    c.t_accept, c.t_info_req, c.t_info_ans, c.t_ext_req, c.t_ext_dec, c.t_res1,
                    c.t_reopen, c.t_res2, c.t_close]) t WHERE t <= {asof}) AS last_at) ev
            LEFT JOIN (
                SELECT case_id,
                    (array_agg(due_at ORDER BY due_at) FILTER (
                        WHERE stopped_at IS NULL AND paused_at IS NULL))[1] AS due_at,
                    (array_agg(step ORDER BY due_at) FILTER (
                        WHERE stopped_at IS NULL AND paused_at IS NULL))[1] AS due_step,
                    (array_agg(due_at ORDER BY seq DESC) FILTER (WHERE step = 'resolve'))[1]
                        AS resolve_due_at,
                    (array_agg(original_due_at ORDER BY seq DESC) FILTER (
                        WHERE step = 'resolve'))[1] AS resolve_original_due_at
                FROM _gen_clk GROUP BY case_id) d ON d.case_id = c.g
            ) AS x ({", ".join(CASE_COLUMNS)})
            ORDER BY x.id""", (list(texts.STREETS), [_fold(s) for s in texts.STREETS],
                               len(texts.STREETS)))
        conn.execute("ANALYZE cases")

    def check_case_columns(self, conn: psycopg.Connection) -> None:
        """Refuse to load when the schema has a required column of cases this code leaves out
        (a migration newer than the generator): say which, rather than fail on the insert."""
        required = {name for (name,) in conn.execute("""
            SELECT column_name FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name = 'cases' AND is_nullable = 'NO'
              AND column_default IS NULL""").fetchall()}
        missing = sorted(required - {*CASE_COLUMNS, "figure_class"})
        if missing:
            raise RuntimeError(
                f"cases.{', cases.'.join(missing)}: NOT NULL without a default, and the data "
                "generator does not fill it; add it to CASE_COLUMNS and to the SELECT of "
                "_Generator.insert_cases (tests/perf/datagen.py), and bump GENERATOR_VERSION")

    def insert_events(self, conn: psycopg.Connection) -> None:
        """Each action of a case's path up to as_of, inserted in time order (ids follow time)."""
        staff = "coalesce(CASE WHEN c.t_transfer IS NOT NULL THEN c.staff1 END, c.staff0)"

        def state_at(column: str) -> str:
            return (f"CASE WHEN c.t_info_req <= {column} AND (c.t_info_ans IS NULL "
                    f"OR c.t_info_ans > {column}) THEN 'need_info' ELSE 'in_progress' END")

        empty = "'{}'::jsonb"
        # (instant, action, actor, party, from, to, note, reason, data, public)
        events = [
            ("c.sub", "'submit'",
             "CASE c.source WHEN 'app' THEN c.reporter_id WHEN 'hotline' THEN c.operator_id END",
             "CASE c.source WHEN 'app' THEN 'reporter' WHEN 'open311' THEN 'open311_client' "
             "ELSE 'operator' END", "NULL",
             "CASE WHEN c.routed THEN 'assigned' ELSE 'submitted' END", "NULL", "NULL",
             f"CASE WHEN c.routed THEN jsonb_build_object('agency_id', c.agency0, "
             f"'routing_rule_id', c.p_idx * 11 + c.cat_id) ELSE {empty} END", "true"),
            ("CASE WHEN NOT c.routed THEN c.t_assign END", "'assign'", "c.operator_id",
             "'operator'", "'submitted'", "'assigned'", "NULL", "NULL",
             "jsonb_build_object('agency_id', c.agency0)", "true"),
            ("c.t_reject", "'reject'", "c.operator_id", "'operator'",
             "CASE WHEN c.routed THEN 'assigned' ELSE 'submitted' END", "'rejected'", "NULL",
             "c.reject_reason", f"CASE WHEN c.dup_of IS NOT NULL THEN jsonb_build_object("
             f"'duplicate_of', c.dup_of) ELSE {empty} END", "true"),
            ("c.t_transfer", "'transfer'", "c.operator_id", "'operator'", "'assigned'",
             "'assigned'", "NULL", "'Không thuộc thẩm quyền, chuyển đơn vị phù hợp'",
             "jsonb_build_object('agency_id', c.agency1, 'from_agency_id', c.agency0)", "true"),
            ("c.t_accept", "'accept'", staff, "'agency_staff'", "'assigned'", "'in_progress'",
             "NULL", "NULL", empty, "true"),
            ("c.t_info_req", "'request_info'", staff, "'agency_staff'", "'in_progress'",
             "'need_info'", "'Đề nghị cung cấp thêm ảnh chụp và vị trí chính xác'", "NULL",
             empty, "true"),
            ("c.t_info_ans", "'provide_info'", "c.reporter_id", "'reporter'", "'need_info'",
             "'in_progress'", "'Vị trí ở ngay trước cổng, tôi gửi thêm ảnh'", "NULL", empty,
             "true"),
            ("c.t_ext_req", "'request_extension'", staff, "'agency_staff'",
             state_at("c.t_ext_req"), state_at("c.t_ext_req"), "NULL",
             "'Cần thêm thời gian phối hợp liên ngành'",
             "jsonb_build_object('due_at', c.t_ext_req + 0.5 * c.res_h * interval '1 hour')",
             "false"),
            ("c.t_ext_dec", "'extend'", "c.supervisor_id", "'supervisor'",
             state_at("c.t_ext_dec"), state_at("c.t_ext_dec"), "NULL", "NULL",
             "jsonb_build_object('decision', CASE WHEN c.ext_granted THEN 'grant' "
             "ELSE 'refuse' END)", "false"),
            ("c.t_comment", "'comment'", staff, "'agency_staff'", state_at("c.t_comment"),
             state_at("c.t_comment"), "'Đã cử cán bộ kiểm tra hiện trường'", "NULL", empty,
             "false"),
            ("c.t_res1", "'resolve'", staff, "'agency_staff'", "'in_progress'", "'resolved'",
             "tx.reply", "NULL", empty, "true"),
            ("c.t_reopen", "'reopen'", "c.reporter_id", "'reporter'", "'resolved'",
             "'in_progress'", "'Chưa khắc phục triệt để'", "NULL",
             "jsonb_build_object('rating', 'dissatisfied')", "true"),
            ("c.t_res2", "'resolve'", staff, "'agency_staff'", "'in_progress'", "'resolved'",
             "tx.reply", "NULL", empty, "true"),
            ("c.t_close", "'close'", "NULL::int", "'system'", "'resolved'", "'closed'", "NULL",
             "NULL", f"CASE WHEN c.h_rate IS NOT NULL AND c.rating <> 'dissatisfied' THEN "
             f"jsonb_build_object('rating', c.rating) ELSE {empty} END", "true"),
        ]
        selects = []
        for at, action, actor, party, before, after, note, reason, data, public in events:
            join = "JOIN _gen_txt tx ON tx.cat_id = c.cat_id AND tx.idx = c.txt" \
                if "tx." in note else ""
            selects.append(
                f"SELECT c.g AS case_id, {action}::text AS action, {actor} AS actor, "
                f"{party}::text AS party, {before}::text AS from_state, {after}::text AS "
                f"to_state, {note}::text AS note, {reason}::text AS reason, {data} AS data, "
                f"{public} AS public, {at} AS at FROM _gen_c c {join} "
                f"WHERE {at} <= {self.asof}")
        conn.execute(f"""
            INSERT INTO case_events (case_id, action, actor_id, party, from_state, to_state,
                                     note, reason, data, is_public, created_at)
            SELECT case_id, action, actor, party, from_state, to_state, note, reason, data,
                   public, at
            FROM ({" UNION ALL ".join(selects)}) e
            ORDER BY at, case_id""")
        conn.execute("ANALYZE case_events")

    def insert_clocks(self, conn: psycopg.Connection) -> None:
        asof = self.asof
        conn.execute(f"""
            INSERT INTO case_clocks (case_id, step, round, track, allowed_minutes, warn_ratio,
                started_at, warn_at, due_at, original_due_at, paused_at, stopped_at,
                next_check_at)
            SELECT case_id, step, round, track, allowed, warn, started, warn_at, due_at,
                   original_due_at, paused_at, stopped_at,
                   CASE WHEN stopped_at IS NOT NULL OR paused_at IS NOT NULL THEN NULL
                        WHEN due_at <= {asof} THEN NULL
                        WHEN warn_at <= {asof} THEN due_at ELSE warn_at END
            FROM _gen_clk ORDER BY started, case_id, seq""")
        conn.execute("ANALYZE case_clocks")

    def insert_sla_events(self, conn: psycopg.Connection) -> None:
        """What the sweeper recorded by as_of: a warning and a breach per clock, at most."""
        u = self.u
        asof = self.asof
        conn.execute(f"""
            INSERT INTO sla_events (case_id, clock_id, agency_id, step, kind, due_at,
                                    recorded_at, acknowledged_at, acknowledged_by_id,
                                    acknowledgement_note)
            SELECT e.case_id, e.clock_id, e.agency_id, e.step, e.kind, e.due_at, e.recorded,
                   CASE WHEN e.ack THEN e.recorded + (1 + {u(2, 'e.clock_id')} * 47)
                        * interval '1 hour' END,
                   CASE WHEN e.ack THEN p.first_sup + floor({u(3, 'e.clock_id')} * p.n_sup)::int
                        END,
                   CASE WHEN e.ack THEN 'Đã nhắc nhở đơn vị xử lý' END
            FROM (
                SELECT k.case_id, k.id AS clock_id,
                       CASE WHEN k.step <> 'triage' THEN c.agency_id END AS agency_id, k.step,
                       x.kind, k.due_at, x.at + {u(1, 'k.id')} * interval '59 seconds' AS recorded,
                       x.kind = 'breach' AND x.at < {asof} - interval '3 days'
                           AND {u(4, 'k.id')} < 0.6 AS ack, a.p_idx
                FROM case_clocks k
                JOIN cases c ON c.id = k.case_id
                JOIN areas w ON w.id = c.area_id
                JOIN LATERAL (SELECT w.parent_id - 1 AS p_idx) a ON true
                CROSS JOIN LATERAL (VALUES ('warning', k.warn_at), ('breach', k.due_at)) x(kind, at)
                WHERE x.at <= least(coalesce(k.stopped_at, k.paused_at, {asof}), {asof})
            ) e
            JOIN _gen_prov p ON p.p_idx = e.p_idx
            ORDER BY e.recorded""")

    def insert_photos(self, conn: psycopg.Connection) -> None:
        """Report photos on the submit event, one "after" photo on each resolve event."""
        conn.execute("""
            INSERT INTO case_photos (case_id, event_id, kind, sha256, content_type, width,
                height, original_key, display_key, thumb_key, exif_lat, exif_lon,
                exif_captured_at, created_at)
            SELECT e.case_id, e.id, p.kind, h.sha, 'image/jpeg', p.w, p.h,
                   'original/' || h.sha || '.jpg', 'display/' || h.sha || '.jpg',
                   'thumb/' || h.sha || '.jpg',
                   CASE WHEN p.kind = 'report' AND mod(e.id + p.n, 5) < 3
                        THEN round(c.lat::numeric, 6)::float8 + 0.0001 * mod(e.id, 7) END,
                   CASE WHEN p.kind = 'report' AND mod(e.id + p.n, 5) < 3
                        THEN round(c.lon::numeric, 6)::float8 - 0.0001 * mod(e.id, 5) END,
                   CASE WHEN p.kind = 'report' THEN c.sub - interval '3 minutes' END,
                   e.created_at
            FROM case_events e
            JOIN _gen_c c ON c.g = e.case_id
            JOIN LATERAL (
                SELECT n, 'report' AS kind,
                       CASE WHEN mod(e.id + n, 4) = 0 THEN 3000 ELSE 4000 END AS w,
                       CASE WHEN mod(e.id + n, 4) = 0 THEN 4000 ELSE 3000 END AS h
                FROM generate_series(1, CASE WHEN e.action = 'submit' THEN c.photos ELSE 0 END) n
                UNION ALL
                SELECT 1, 'after', 1600, 1200 WHERE e.action = 'resolve' AND c.after_photo
            ) p ON true
            CROSS JOIN LATERAL (SELECT md5(e.id || ':' || p.n || ':' || p.kind)
                                       || md5(p.kind || ':' || e.id || ':' || p.n) AS sha) h
            WHERE e.action IN ('submit', 'resolve')
            ORDER BY e.id, p.n""")

    def insert_feedback(self, conn: psycopg.Connection) -> None:
        asof = self.asof
        conn.execute(f"""
            INSERT INTO feedback (case_id, resolution_round, user_id, rating, comment, created_at)
            SELECT g, 1, reporter_id, rating,
                   CASE rating WHEN 'satisfied' THEN 'Cảm ơn, xử lý nhanh'
                               WHEN 'dissatisfied' THEN 'Chưa khắc phục triệt để' END, t_rate
            FROM _gen_c WHERE t_rate <= {asof} AND reporter_id IS NOT NULL
            ORDER BY t_rate""")
        conn.execute("""
            INSERT INTO case_followers (case_id, user_id, created_at)
            SELECT DISTINCT ON (k.duplicate_of_id, k.reporter_id) k.duplicate_of_id,
                   k.reporter_id, k.rejected_at
            FROM cases k JOIN cases s ON s.id = k.duplicate_of_id
            WHERE k.duplicate_of_id IS NOT NULL AND k.reporter_id IS NOT NULL
              AND k.reporter_id IS DISTINCT FROM s.reporter_id
            ORDER BY k.duplicate_of_id, k.reporter_id, k.rejected_at""")


def _fold(text: str) -> str:
    from workflows.text import fold

    return fold(text)


# --------------------------------------------------------------------------- command line


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="perf_scale")
    parser.add_argument("--as-of", type=datetime.fromisoformat, default=None,
                        help="the data's now (ISO 8601 with offset); default: the latest "
                             "10:00 in UTC+7")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the data set if the database already holds this one")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    ensure_database(args.server, args.database)
    dsn = f"{args.server}/{args.database}"
    dataset = ensure(dsn, args.cases, args.seed, reuse=args.reuse, as_of=args.as_of)
    counts = dataset.meta.get("counts", {})
    print(json.dumps({"database": args.database, "cases": dataset.cases, "seed": dataset.seed,
                      "as_of": dataset.as_of.isoformat(), "load_seconds": dataset.load_seconds,
                      "counts": counts}, indent=2))
    if dataset.load_seconds is not None and math.isfinite(dataset.load_seconds):
        rate = dataset.cases / max(dataset.load_seconds, 0.001)
        print(f"-- {rate:,.0f} cases per second, everything included")


if __name__ == "__main__":
    main()
