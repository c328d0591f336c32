"""Benchmark the console's work queue and the outbox dispatcher on PostgreSQL.

Run: .venv/bin/python tests/perf/case_queue.py [--cases 500000] [--messages 5000]
     [--server postgresql://postgres@127.0.0.1:5432] [--database perf_cases] [--reuse]

What it does:
  1. creates the dedicated database (default `perf_cases`), drops its public schema and builds
     it with the app's migrations (unless --reuse finds the cases already loaded);
  2. loads a province with 20 wards and 20 agencies, one staff account per agency, an operator,
     and N cases spread over agencies, wards, states and deadlines (INSERT … SELECT
     generate_series, no ORM): about 40% open, 5% of them overdue, the rest resolved or closed;
  3. times `GET /api/v1/cases` through the Flask test client (the whole request: auth, query,
     count, serialisation of a 20-row page) for a staff queue, the operator's overdue queue,
     a state filter, an area filter (province: every ward), and free-text searches with and
     without diacritics, and prints EXPLAIN ANALYZE of the staff queue and of a search;
  4. queues M outbox messages and times `dispatch_outbox` with a channel that only counts
     (the dispatcher's own cost per message), then again with four dispatchers at once
     (threads, own sessions), checking that every message was delivered exactly once.
Figures go to stdout: p50/p95 per queue query in ms, messages per second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import Session

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from flask_jwt_extended import create_access_token  # noqa: E402

from reports_app import create_app  # noqa: E402
from reports_app.config import database_url  # noqa: E402
from reports_app.db import utcnow  # noqa: E402
from reports_app.extensions import db  # noqa: E402
from reports_app.models import OutboxMessage, User  # noqa: E402
from tests.perf.perfkit import done, ensure_database, step  # noqa: E402
from workflows.calendar import calendar_from_config  # noqa: E402
from workflows.channels import Delivery  # noqa: E402
from workflows.dispatch import dispatch_outbox  # noqa: E402
from workflows.jobs import JobContext  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=500_000)
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="perf_cases")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reuse", action="store_true")
    return parser.parse_args()





def load(dsn: str, cases: int) -> None:
    """Reference data, accounts and the cases, straight into the tables."""
    base = utcnow()
    with psycopg.connect(dsn) as conn:
        conn.execute("""
            INSERT INTO areas (code, name_vi, name_en, level, parent_id, boundary, min_lon,
                               min_lat, max_lon, max_lat, is_active, created_at, updated_at)
            VALUES ('P', 'Tỉnh', 'Province', 'province', NULL, '{}'::jsonb, 107, 12, 109, 13,
                    true, now(), now())""")
        conn.execute("""
            INSERT INTO areas (code, name_vi, name_en, level, parent_id, boundary, min_lon,
                               min_lat, max_lon, max_lat, is_active, created_at, updated_at)
            SELECT 'W' || g, 'Phường ' || g, 'Ward ' || g, 'ward', 1, '{}'::jsonb, 107, 12,
                   109, 13, true, now(), now() FROM generate_series(1, 20) g""")
        conn.execute("""
            INSERT INTO agencies (code, name_vi, name_en, kind, is_active, created_at, updated_at)
            SELECT 'AG' || g, 'Đơn vị ' || g, 'Agency ' || g, 'department', true, now(), now()
            FROM generate_series(1, 20) g""")
        conn.execute("""
            INSERT INTO categories (code, service_code, name_vi, name_en, description_vi,
                description_en, group_vi, group_en, keywords, default_priority, track,
                requires_after_photo, fields, sort_order, is_active, created_at, updated_at)
            SELECT 'c' || g, 's' || g, 'Lĩnh vực ' || g, 'Category ' || g, '', '', '', '',
                   '[]'::jsonb, 'normal', 'deadline', true, '[]'::jsonb, g, true, now(), now()
            FROM generate_series(1, 5) g""")
        conn.execute("""
            INSERT INTO users (email, full_name, password_hash, role, agency_id, language,
                               is_active, created_at, updated_at)
            SELECT 'staff' || g || '@perf.test', 'Cán bộ ' || g, 'x', 'staff', g, 'vi', true,
                   now(), now() FROM generate_series(1, 20) g""")
        conn.execute("""
            INSERT INTO users (email, full_name, password_hash, role, language, is_active,
                               created_at, updated_at)
            VALUES ('operator@perf.test', 'Điều phối', 'x', 'operator', 'vi', true, now(), now())
            """)
        # Streets with diacritics, so the folded search text and the query folding matter.
        conn.execute("""
            INSERT INTO cases (tracking_code, source, state, priority, track, version,
                is_anonymous, is_public, category_id, area_id, agency_id, description,
                search_text, attributes, lat, lon, submitted_at, assigned_at, due_at, due_step,
                resolve_due_at, resolve_original_due_at, extension_granted, resolution_round,
                created_at, updated_at)
            SELECT 'PQ-' || g, 'app', s.state, 'normal', 'deadline', 1, false, true,
                1 + g %% 5, 2 + g %% 20, 1 + (g / 7) %% 20,
                'Ổ gà trên đường ' || st.name || ' số ' || g,
                'o ga tren duong ' || st.plain || ' so ' || g, '{}'::jsonb, 12.6, 108.0,
                %(base)s - (g %% 400) * interval '1 hour', %(base)s - (g %% 400) * interval '1 hour',
                CASE WHEN s.state IN ('assigned', 'in_progress') THEN
                     %(base)s + ((g %% 100) - 5) * interval '1 hour' END,
                CASE WHEN s.state IN ('assigned', 'in_progress') THEN 'resolve' END,
                %(base)s + interval '3 days', %(base)s + interval '3 days', false, 0,
                %(base)s - (g %% 400) * interval '1 hour', %(base)s
            FROM generate_series(1, %(cases)s) g,
                 LATERAL (SELECT (ARRAY['assigned', 'in_progress', 'resolved', 'closed',
                                        'closed'])[1 + g %% 5] AS state) s,
                 LATERAL (SELECT (ARRAY['Lê Duẩn', 'Phan Bội Châu', 'Nguyễn Tất Thành',
                                        'Hùng Vương', 'Y Jút'])[1 + (g / 3) %% 5] AS name,
                                 (ARRAY['le duan', 'phan boi chau', 'nguyen tat thanh',
                                        'hung vuong', 'y jut'])[1 + (g / 3) %% 5] AS plain) st
            """, {"base": base, "cases": cases})
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def timed(client, path: str, headers: dict[str, str], runs: int) -> tuple[float, float, int]:
    """p50 and p95 in ms over `runs` requests, and the total the query found."""
    samples = []
    total = 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.get_json()
        total = response.get_json()["total"]
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1], total


class CountingChannel:
    """Delivers instantly; counts per message so a double delivery shows."""

    name = "count"

    def __init__(self) -> None:
        self.sent: Counter[int] = Counter()
        self.lock = threading.Lock()

    def send(self, delivery: Delivery, now: datetime) -> None:
        with self.lock:
            self.sent[delivery.message_id] += 1


def queue_messages(app, count: int) -> None:
    with app.app_context():
        db.session.execute(sa.delete(OutboxMessage))
        user_id = db.session.scalar(sa.select(User.id).where(User.role == "operator"))
        now = utcnow()
        db.session.execute(sa.insert(OutboxMessage), [
            {"dedupe_key": f"perf:{n}", "topic": "case_updated", "recipient_user_id": user_id,
             "language": "vi", "channel": "default", "payload": {"title": f"Hồ sơ {n}"},
             "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for n in range(count)])
        db.session.commit()


def dispatch(app, channel: CountingChannel) -> None:
    with app.app_context():
        calendar = calendar_from_config(app.config)
        config = {**app.config, "NOTIFY_BATCH_SIZE": 50, "NOTIFY_MAX_BATCHES": 1_000_000}
        with Session(db.engine) as session:
            dispatch_outbox(session, JobContext(now=utcnow(), calendar=calendar, config=config),
                            channels={"count": channel})


def main() -> None:
    args = parse_args()
    ensure_database(args.server, args.database)
    dsn = f"{args.server}/{args.database}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url(dsn), "SCHEDULER_ENABLED": False,
                      "LOG_LEVEL": "WARNING"})
    with app.app_context():
        loaded = 0
        if args.reuse:
            try:
                loaded = db.session.scalar(sa.text("SELECT count(*) FROM cases")) or 0
            except sa.exc.SQLAlchemyError:
                db.session.rollback()
        if loaded != args.cases:
            from flask_migrate import upgrade

            started = step("building the schema with the migrations")
            db.session.remove()
            with db.engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            upgrade()
            done(started)
            started = step(f"loading {args.cases} cases")
            load(dsn, args.cases)
            done(started)
        staff = db.session.scalar(sa.select(User).where(User.email == "staff3@perf.test"))
        operator = db.session.scalar(sa.select(User).where(User.role == "operator"))
        headers = {u.role: {"Authorization": "Bearer " + create_access_token(identity=u)}
                   for u in (staff, operator)}
    client = app.test_client()
    print(f"\nGET /api/v1/cases over {args.cases} cases, {args.runs} runs each "
          "(p50 / p95 ms, total found)")
    queries = [
        ("staff: own agency's open queue", "staff", "?status=assigned,in_progress"),
        ("staff: whole own queue", "staff", ""),
        ("operator: overdue", "operator", "?overdue=true"),
        ("operator: in_progress", "operator", "?status=in_progress"),
        ("operator: area P (all wards)", "operator", "?area=P&status=assigned"),
        ("operator: area W5", "operator", "?area=W5"),
        ("operator: q=duong le duan", "operator", "?q=duong%20le%20duan"),
        ("operator: q=Phan Bội Châu", "operator", "?q=Phan%20B%E1%BB%99i%20Ch%C3%A2u"),
        ("operator: q=tracking code", "operator", "?q=PQ-4242"),
    ]
    for label, role, query in queries:
        p50, p95, total = timed(client, f"/api/v1/cases{query}", headers[role], args.runs)
        print(f"  {label:38s} {p50:8.1f} {p95:8.1f}   {total}")

    with app.app_context():
        agency_id = db.session.scalar(sa.select(User.agency_id).where(
            User.email == "staff3@perf.test"))
        for label, sql in [
            ("staff queue", "SELECT * FROM cases WHERE agency_id = :a ORDER BY due_at ASC NULLS "
                            "LAST, submitted_at, id LIMIT 20"),
            ("search", "SELECT * FROM cases WHERE tracking_code = 'DUONG LE DUAN' OR "
                       "(search_text LIKE '%duong%' AND search_text LIKE '%le%' AND search_text "
                       "LIKE '%duan%') ORDER BY due_at ASC NULLS LAST, submitted_at, id "
                       "LIMIT 20"),
        ]:
            plan = db.session.execute(sa.text("EXPLAIN (ANALYZE, BUFFERS) " + sql),
                                      {"a": agency_id}).scalars().all()
            print(f"\nEXPLAIN ANALYZE {label}:")
            for line in plan:
                print("   ", line)

    print(f"\ndispatch_outbox, {args.messages} messages, a channel that only counts")
    queue_messages(app, args.messages)
    channel = CountingChannel()
    started = time.perf_counter()
    dispatch(app, channel)
    elapsed = time.perf_counter() - started
    assert len(channel.sent) == args.messages
    assert set(channel.sent.values()) == {1}
    print(f"  one dispatcher:   {args.messages / elapsed:8.0f} messages/s ({elapsed:.1f} s)")

    queue_messages(app, args.messages)
    channel = CountingChannel()
    threads = [threading.Thread(target=dispatch, args=(app, channel)) for _ in range(4)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    twice = [m for m, n in channel.sent.items() if n > 1]
    print(f"  four dispatchers: {args.messages / elapsed:8.0f} messages/s ({elapsed:.1f} s); "
          f"delivered {len(channel.sent)}, more than once: {len(twice)}")


if __name__ == "__main__":
    main()
