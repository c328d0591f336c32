"""Benchmark the Open311 endpoints on the national data set, through the Flask test client.

Run: .venv/bin/python tests/perf/open311_requests.py [--cases 1000000] [--database perf_scale]
     [--reuse] [--runs 200] [--explain]   (or through tests/perf/run.py)

The clock is at the data set's `as_of`. Each figure is the whole request: parse, query, map
every case, render JSON or XML.
- `GET requests.json` without dates (the last 90 days: capped at the 1,000 newest), in XML too;
- `GET requests.json` with a one-week date window (`start_date`, `end_date`), a window in
  another week each run; the same in one province (`jurisdiction_id`), and with
  `service_code` and `status=open`;
- 50 ids at once (`service_request_id=…`), one request by id, the services list;
- `POST requests.json` (form, no photo) into a central ward, with the data set's key; the
  reports it files are deleted afterwards.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.perf.perfkit import (  # noqa: E402
    Figure,
    RunContext,
    captured_statements,
    distribution,
    explain_captured,
    timed_ms,
    undo_new_cases,
)

BASE = "/open311/v2"


def _series(ctx: RunContext, client: Any, name: str, paths: list[str], *, method: str = "GET",
            data: dict[str, str] | None = None, runs: int | None = None) -> Figure:
    sizes: list[int] = []

    def call(i: int) -> None:
        path = paths[i % len(paths)]
        response = client.open(path, method=method, data=data)
        if response.status_code != 200:
            raise AssertionError(f"{path}: {response.status_code} {response.get_data()[:300]!r}")
        if path.endswith(".json") or ".json?" in path:
            body = response.get_json()
            sizes.append(len(body) if isinstance(body, list) else 1)

    samples = timed_ms(call, runs or ctx.runs)
    note = f"{min(sizes):,}–{max(sizes):,} requests per answer" if sizes else ""
    return distribution(name, samples, how="test client", note=note, source="open311")


def measure(ctx: RunContext) -> list[Figure]:
    """GET requests in several shapes, one by id, services, and POST (undone afterwards)."""
    import time_machine

    from reports_app.extensions import db

    app = ctx.app(OPEN311_ADDRESS_RATE_LIMIT="1000000/minute")
    with app.app_context(), db.engine.connect() as conn:
        ids = conn.execute(sa.text(
            "SELECT id FROM cases WHERE is_public ORDER BY id DESC LIMIT 50")).scalars().all()
        province = conn.scalar(sa.text(
            "SELECT a.code FROM areas a JOIN areas w ON w.parent_id = a.id "
            "JOIN cases c ON c.area_id = w.id GROUP BY a.code ORDER BY count(*) DESC LIMIT 1"))
        ward = conn.execute(sa.text(
            "SELECT (min_lat + max_lat) / 2, (min_lon + max_lon) / 2 FROM areas "
            "WHERE level = 'ward' ORDER BY id LIMIT 1")).one()
    runs = min(ctx.runs, 40)
    weeks = []
    for n in range(runs):
        end = ctx.as_of - timedelta(days=7 * (n % 50))
        start = end - timedelta(days=7)
        weeks.append(f"start_date={start:%Y-%m-%dT%H:%M:%SZ}&end_date={end:%Y-%m-%dT%H:%M:%SZ}")
    client = app.test_client()
    figures = []
    with time_machine.travel(ctx.as_of, tick=True):
        figures.append(_series(ctx, client, "Open311 GET requests.json, last 90 days",
                               [f"{BASE}/requests.json"], runs=runs))
        figures.append(_series(ctx, client, "Open311 GET requests.xml, last 90 days",
                               [f"{BASE}/requests.xml"], runs=min(runs, 20)))
        figures.append(_series(ctx, client, "Open311 GET requests.json, one-week window",
                               [f"{BASE}/requests.json?{w}" for w in weeks], runs=runs))
        figures.append(_series(ctx, client, "Open311 GET, one-week window, one province",
                               [f"{BASE}/requests.json?{w}&jurisdiction_id={province}"
                                for w in weeks], runs=runs))
        figures.append(_series(ctx, client, "Open311 GET, week, service_code=roads&status=open",
                               [f"{BASE}/requests.json?{w}&service_code=roads&status=open"
                                for w in weeks], runs=runs))
        figures.append(_series(ctx, client, "Open311 GET service_request_id=(50 ids)",
                               [f"{BASE}/requests.json?service_request_id="
                                + ",".join(str(i) for i in ids)], runs=runs))
        figures.append(_series(ctx, client, "Open311 GET requests/{id}.json",
                               [f"{BASE}/requests/{i}.json" for i in ids], runs=runs))
        figures.append(_series(ctx, client, "Open311 GET services.json",
                               [f"{BASE}/services.json"], runs=runs))
        from tests.perf.datagen import OPEN311_KEY

        form = {"api_key": OPEN311_KEY, "service_code": "roads", "lat": f"{ward[0]:.6f}",
                "long": f"{ward[1]:.6f}", "description": "Ổ gà lớn giữa đường",
                "attribute[hazard_size]": "large"}
        with undo_new_cases(ctx.dsn):
            figures.append(_series(ctx, client, "Open311 POST requests.json (form, no photo)",
                                   [f"{BASE}/requests.json"], method="POST", data=form,
                                   runs=min(runs, 30)))
        if ctx.explain:
            with app.app_context():
                engine = db.engine
            for label, path in (("Open311 GET, 90 days", f"{BASE}/requests.json"),
                                ("Open311 GET, week window", f"{BASE}/requests.json?{weeks[3]}"),
                                ("Open311 GET, week, province",
                                 f"{BASE}/requests.json?{weeks[3]}&jurisdiction_id={province}")):
                with captured_statements(engine, lambda s: "FROM cases" in s) as seen:
                    client.get(path)
                explain_captured(ctx, label, engine, seen)
    return figures


def main() -> None:
    from tests.perf.run import standalone

    standalone(measure)


if __name__ == "__main__":
    main()
