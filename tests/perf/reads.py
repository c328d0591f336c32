"""Benchmark the hot read paths over the national data set, through the Flask test client.

Run: .venv/bin/python tests/perf/reads.py [--cases 1000000] [--database perf_scale] [--reuse]
     [--runs 200] [--explain]   (or through tests/perf/run.py, which runs every benchmark)

Each figure is the whole request in-process (routing, auth, the queries, serialisation), with
the clock travelled to the data set's `as_of`; every run asks for a different case or place,
picked deterministically:
- case by id: `GET /api/v1/cases/{id}` as a staff member of the case's agency (an operator for
  cases no agency holds), half open cases, half any case;
- case by tracking code: `GET /api/v1/public/reports/{code}` (public cases);
- nearby 500 m: `GET /api/v1/reports/nearby` around where open public reports are;
- public feed page: `GET /api/v1/public/reports?bbox=…` with a phone-sized map viewport
  (about 5 × 3.5 km) centred where reports are, first page of 20; and the same feed without a
  bounding box, as the public home page asks for it.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

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

P95_TARGET = Target("p95", 15.0)
VIEWPORT = (0.045, 0.032)
"""Degrees of longitude and latitude a phone map shows at street level (~5 × 3.5 km)."""


def _sample(conn: sa.Connection, sql: str, count: int, seed: int) -> list[sa.Row[Any]]:
    """`count` rows of a query, picked by a seeded shuffle of its ids (deterministic)."""
    rows = conn.execute(sa.text(sql)).all()
    rng = random.Random(seed)
    rng.shuffle(rows)
    return rows[:count] if len(rows) >= count else (rows * (count // max(len(rows), 1) + 1))[:count]


def _tokens(app: Any, user_ids: set[int]) -> dict[int, str]:
    from flask_jwt_extended import create_access_token

    from reports_app.extensions import db
    from reports_app.models import User

    with app.app_context():
        users = db.session.scalars(sa.select(User).where(User.id.in_(user_ids))).all()
        return {u.id: create_access_token(identity=u) for u in users}


def _sequence(ctx: RunContext, name: str, how: str, client: Any, requests: list[tuple],
              target: Target | None, note: str = "") -> Figure:
    """Time one request per (path, headers) pair, in order; every answer must be 200."""
    def call(i: int) -> None:
        path, headers = requests[i % len(requests)] if i >= 0 else requests[i]
        response = client.get(path, headers=headers)
        if response.status_code != 200:
            raise AssertionError(f"{path}: {response.status_code} {response.get_data()[:300]!r}")

    cpu: list[float] = []
    samples = timed_ms(call, min(ctx.runs, len(requests)), cpu=cpu)
    return distribution(name, samples, target=target, how=how, source="reads",
                        note="; ".join(filter(None, [note, cpu_note(cpu)])))


def _explain_request(ctx: RunContext, label: str, app: Any, client: Any, path: str,
                     headers: dict[str, str]) -> None:
    from reports_app.extensions import db

    if not ctx.explain:
        return
    with app.app_context():
        engine = db.engine
    with captured_statements(engine, lambda s: "FROM cases" in s or "JOIN cases" in s) as seen:
        client.get(path, headers=headers)
    explain_captured(ctx, label, engine, seen)


def measure(ctx: RunContext) -> list[Figure]:
    """Case by id and by tracking code, nearby, the public feed (with and without a box)."""
    import time_machine

    from reports_app.extensions import db

    app = ctx.app()
    seed = ctx.dataset.seed
    runs = ctx.runs
    with app.app_context(), db.engine.connect() as conn:
        open_cases = _sample(conn, """
            SELECT c.id, c.agency_id FROM cases c
            WHERE c.state IN ('submitted', 'assigned', 'in_progress', 'need_info')""",
            runs // 2, seed)
        any_cases = _sample(conn, f"""
            SELECT c.id, c.agency_id FROM cases c
            WHERE c.id % {max(1, ctx.dataset.cases // (runs * 20))} = 0""",
            runs - len(open_cases), seed + 1)
        staff = dict(conn.execute(sa.text(
            "SELECT agency_id, min(id) FROM users WHERE role = 'staff' "
            "GROUP BY agency_id")).all())
        operator = conn.scalar(sa.text("SELECT min(id) FROM users WHERE role = 'operator'"))
        public = _sample(conn, f"""
            SELECT tracking_code FROM cases
            WHERE is_public AND id % {max(1, ctx.dataset.cases // (runs * 20))} = 0
              AND NOT (state = 'rejected' AND reject_reason IN ('spam', 'abusive'))""",
            runs, seed + 2)
        places = _sample(conn, """
            SELECT lat, lon FROM cases WHERE is_public
              AND state IN ('submitted', 'assigned', 'in_progress', 'need_info')""",
            runs, seed + 3)
        feed_places = _sample(conn, f"""
            SELECT lat, lon FROM cases
            WHERE id % {max(1, ctx.dataset.cases // (runs * 20))} = 0""", runs, seed + 4)
    cases = [row for pair in zip(open_cases, any_cases, strict=False) for row in pair]
    cases += open_cases[len(any_cases):] + any_cases[len(open_cases):]
    viewer = {case_id: staff.get(agency_id, operator) for case_id, agency_id in cases}
    client = app.test_client()
    dlon, dlat = VIEWPORT
    figures: list[Figure] = []
    with time_machine.travel(ctx.as_of, tick=True):
        tokens = _tokens(app, set(viewer.values()))
        by_id = [(f"/api/v1/cases/{case_id}",
                  {"Authorization": f"Bearer {tokens[viewer[case_id]]}"})
                 for case_id, _ in cases]
        figures.append(_sequence(ctx, "case by id (GET /cases/{id})", "test client, staff",
                                 client, by_id, P95_TARGET))
        by_code = [(f"/api/v1/public/reports/{code}", {}) for (code,) in public]
        figures.append(_sequence(ctx, "case by tracking code (GET /public/reports/{code})",
                                 "test client, public", client, by_code, None))
        nearby = [(f"/api/v1/reports/nearby?lat={lat:.6f}&lon={lon:.6f}&radius_m=500", {})
                  for lat, lon in places]
        figures.append(_sequence(ctx, "nearby 500 m (GET /reports/nearby)", "test client",
                                 client, nearby, P95_TARGET))
        feed = [(f"/api/v1/public/reports?bbox={lon - dlon / 2:.5f},{lat - dlat / 2:.5f},"
                 f"{lon + dlon / 2:.5f},{lat + dlat / 2:.5f}", {}) for lat, lon in feed_places]
        figures.append(_sequence(ctx, "public feed page, map viewport (bbox)", "test client",
                                 client, feed, P95_TARGET, note="first page of 20, newest "
                                 "change first, with the total"))
        country = [("/api/v1/public/reports", {})] * min(runs, 30)
        figures.append(_sequence(ctx, "public feed page, whole country (home page)",
                                 "test client", client, country, None))
        for label, (path, headers) in (("case by id", by_id[0]), ("case by code", by_code[0]),
                                       ("nearby 500 m", nearby[0]), ("public feed bbox", feed[0]),
                                       ("public feed, no bbox", country[0])):
            _explain_request(ctx, label, app, client, path, headers)
    return figures


def main() -> None:
    from tests.perf.run import standalone

    standalone(measure)


if __name__ == "__main__":
    main()
