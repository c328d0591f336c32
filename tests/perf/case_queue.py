"""Benchmark the console's work queue and the outbox dispatcher on the national data set.

Run: .venv/bin/python tests/perf/case_queue.py [--cases 1000000] [--database perf_scale]
     [--reuse] [--runs 200] [--explain]   (or through tests/perf/run.py)

Figures (the whole request through the Flask test client, the clock at the data set's as_of):
- staff queue page: `GET /api/v1/cases?status=assigned,in_progress,need_info&page_size=25`, the
  console's default view, soonest deadline first, for staff of the 20 agencies with the most
  open cases, in turn (the target figure);
- the same staff's "done" view (resolved and closed: the long tail of their history);
- free-text search: a staff member's search within the agency, and an operator's search over
  every case of the country, with and without diacritics, and a tracking code typed as a
  search; the operator's overdue queue;
- `dispatch_outbox` with a channel that only counts, one dispatcher and four at once (its own
  cost per message; every message exactly once). The messages are removed afterwards.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.perf.perfkit import (  # noqa: E402
    Figure,
    RunContext,
    Target,
    captured_statements,
    cpu_note,
    distribution,
    explain_captured,
    timed_ms,
)

MESSAGES = 5000
OPEN_VIEW = "assigned,in_progress,need_info"
DONE_VIEW = "resolved,closed"
BUSIEST = 20


def _tokens(app: Any, user_ids: list[int]) -> dict[int, str]:
    from flask_jwt_extended import create_access_token

    from reports_app.extensions import db
    from reports_app.models import User

    with app.app_context():
        users = db.session.scalars(sa.select(User).where(User.id.in_(user_ids))).all()
        return {u.id: create_access_token(identity=u) for u in users}


def _queue(ctx: RunContext, client: Any, name: str, paths: list[tuple[str, str]],
           target: Target | None = None, runs: int | None = None, note: str = "") -> Figure:
    totals: list[int] = []

    def call(i: int) -> None:
        path, token = paths[i % len(paths)]
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        if response.status_code != 200:
            raise AssertionError(f"{path}: {response.status_code} {response.get_data()[:300]!r}")
        totals.append(response.get_json()["total"])

    cpu: list[float] = []
    samples = timed_ms(call, runs or ctx.runs, cpu=cpu)
    spread = f"{min(totals):,}–{max(totals):,} cases found" if totals else ""
    return distribution(name, samples, target=target, how="test client",
                        note="; ".join(filter(None, [note, spread, cpu_note(cpu)])),
                        source="queue")


def _explain(ctx: RunContext, label: str, app: Any, client: Any, path: str, token: str) -> None:
    from reports_app.extensions import db

    if not ctx.explain:
        return
    with app.app_context():
        engine = db.engine
    with captured_statements(engine, lambda s: "FROM cases" in s) as seen:
        client.get(path, headers={"Authorization": f"Bearer {token}"})
    explain_captured(ctx, label, engine, seen)


class CountingChannel:
    """Delivers instantly; counts per message so a double delivery shows."""

    name = "count"

    def __init__(self) -> None:
        self.sent: Counter[int] = Counter()
        self.lock = threading.Lock()

    def send(self, delivery: Any, now: datetime) -> None:
        with self.lock:
            self.sent[delivery.message_id] += 1


def _queue_messages(app: Any, count: int, now: datetime) -> None:
    from reports_app.extensions import db
    from reports_app.models import OutboxMessage, User

    with app.app_context():
        db.session.execute(sa.delete(OutboxMessage).where(
            OutboxMessage.dedupe_key.like("perf:%")))
        user_id = db.session.scalar(sa.select(User.id).where(User.role == "operator").limit(1))
        db.session.execute(sa.insert(OutboxMessage), [
            {"dedupe_key": f"perf:{n}", "topic": "case_updated", "recipient_user_id": user_id,
             "language": "vi", "channel": "default", "payload": {"title": f"Hồ sơ {n}"},
             "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
            for n in range(count)])
        db.session.commit()


def _dispatch(app: Any, channel: CountingChannel, now: datetime) -> None:
    from sqlalchemy.orm import Session

    from reports_app.extensions import db
    from workflows.calendar import calendar_from_config
    from workflows.dispatch import dispatch_outbox
    from workflows.jobs import JobContext

    with app.app_context():
        calendar = calendar_from_config(app.config)
        config = {**app.config, "NOTIFY_BATCH_SIZE": 50, "NOTIFY_MAX_BATCHES": 1_000_000}
        with Session(db.engine) as session:
            dispatch_outbox(session, JobContext(now=now, calendar=calendar, config=config),
                            channels={"count": channel})


def _dispatch_figures(app: Any, now: datetime) -> list[Figure]:
    from reports_app.extensions import db
    from reports_app.models import OutboxMessage

    figures = []
    try:
        for dispatchers in (1, 4):
            _queue_messages(app, MESSAGES, now)
            channel = CountingChannel()
            threads = [threading.Thread(target=_dispatch, args=(app, channel, now))
                       for _ in range(dispatchers)]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
            twice = sum(1 for n in channel.sent.values() if n > 1)
            if len(channel.sent) != MESSAGES or twice:
                raise AssertionError(f"{dispatchers} dispatchers delivered {len(channel.sent)} "
                                     f"of {MESSAGES} messages, {twice} more than once")
            figures.append(Figure(
                name=f"outbox dispatch, {dispatchers} dispatcher{'s' if dispatchers > 1 else ''}",
                unit="msg/s", value=MESSAGES / elapsed, samples=MESSAGES,
                how="dispatch_outbox, counting channel",
                note=f"{MESSAGES:,} messages in {elapsed:.1f} s, each exactly once",
                source="queue"))
    finally:
        with app.app_context():
            db.session.execute(sa.delete(OutboxMessage).where(
                OutboxMessage.dedupe_key.like("perf:%")))
            db.session.commit()
    return figures


def measure(ctx: RunContext) -> list[Figure]:
    """The staff queue page (target), its done view, searches, overdue, outbox dispatch."""
    import time_machine

    from reports_app.extensions import db

    app = ctx.app()
    with app.app_context(), db.engine.connect() as conn:
        busiest = conn.execute(sa.text(f"""
            SELECT c.agency_id, count(*) AS open FROM cases c
            WHERE c.state IN ('assigned', 'in_progress', 'need_info')
            GROUP BY c.agency_id ORDER BY open DESC, c.agency_id LIMIT {BUSIEST}""")).all()
        staff = conn.execute(sa.text("""
            SELECT agency_id, array_agg(id ORDER BY id) FROM users
            WHERE role = 'staff' AND agency_id = ANY(:ids) GROUP BY agency_id"""),
            {"ids": [a for a, _ in busiest]}).all()
        operator = conn.scalar(sa.text("SELECT min(id) FROM users WHERE role = 'operator'"))
        code = conn.scalar(sa.text("SELECT tracking_code FROM cases ORDER BY id DESC LIMIT 1"))
    people = {agency: ids for agency, ids in staff}
    # Agency after agency, a different staff member each time round.
    rotation = [people[a][n % len(people[a])] for n in range(10) for a, _ in busiest]
    client = app.test_client()
    figures = []
    with time_machine.travel(ctx.as_of, tick=True):
        tokens = _tokens(app, [*rotation, operator])
        open_paths = [(f"/api/v1/cases?status={OPEN_VIEW}&page=1&page_size=25", tokens[u])
                      for u in rotation]
        sizes = ", ".join(f"{n:,}" for _, n in busiest[:3])
        figures.append(_queue(ctx, client, "staff queue page (open cases, by deadline)",
                              open_paths, Target("p95", 15.0),
                              note=f"{BUSIEST} busiest agencies, top three hold {sizes} open"))
        done_paths = [(f"/api/v1/cases?status={DONE_VIEW}&page=1&page_size=25", tokens[u])
                      for u in rotation]
        figures.append(_queue(ctx, client, "staff queue page, done view", done_paths,
                              runs=min(ctx.runs, 60)))
        staff_search = [(f"/api/v1/cases?q={quote(q)}&page_size=25", tokens[u])
                        for u, q in zip(rotation, ["le duan", "Hùng Vương", "ổ gà", "nga tu"]
                                        * len(rotation), strict=False)]
        figures.append(_queue(ctx, client, "staff search in own agency (q=…)", staff_search,
                              runs=min(ctx.runs, 60)))
        op = tokens[operator]
        for label, query in (("operator search, whole country: q=duong le duan",
                              "duong le duan"),
                             ("operator search, whole country: q=Phan Bội Châu",
                              "Phan Bội Châu"),
                             ("operator search: a tracking code", code)):
            figures.append(_queue(ctx, client, label,
                                  [(f"/api/v1/cases?q={quote(query)}&page_size=20", op)],
                                  runs=min(ctx.runs, 30)))
        figures.append(_queue(ctx, client, "operator overdue queue (whole country)",
                              [("/api/v1/cases?overdue=true&page_size=20", op)],
                              runs=min(ctx.runs, 30)))
        for label, (path, token) in (("staff queue page", open_paths[0]),
                                     ("staff done view", done_paths[0]),
                                     ("staff search", staff_search[0]),
                                     ("operator search", (f"/api/v1/cases?q="
                                                          f"{quote('duong le duan')}", op))):
            _explain(ctx, label, app, client, path, token)
        figures += _dispatch_figures(app, ctx.as_of)
    return figures


def main() -> None:
    from tests.perf.run import standalone

    standalone(measure)


if __name__ == "__main__":
    main()
