"""Benchmark the Open311 endpoints through the Flask test client: GET requests (1,000 results,
JSON and XML), GET with filters, one request by id, services, and POST requests (form only).

Run: .venv/bin/python tests/perf/open311_requests.py [--cases 3000] [--runs 20]
     [--database-url URL]

Default database: a fresh SQLite file in a temporary folder. With --database-url (e.g.
postgresql://postgres@127.0.0.1:5432/perf_open311) the script DROPS AND REBUILDS the public
schema of that database with the migrations: give it a database of its own.

Set-up: the demo province and its key `demo-open311-key`; `--cases` public reports filed
through the engine over the last 80 days (a third of them with a photo row), spread over the
categories and routed as the demo rules say. The time covers what the server does for each
request: parse, query, map every case, render JSON or XML. Prints median and p95 per series.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from flask_migrate import upgrade  # noqa: E402

from reports_app import create_app  # noqa: E402
from reports_app.config import database_url  # noqa: E402
from reports_app.extensions import db  # noqa: E402
from reports_app.models import Area, CasePhoto, Category  # noqa: E402
from reports_app.workflow_context import workflow_context  # noqa: E402
from workflows.machine import Party  # noqa: E402
from workflows.operations import Actor, NewReport, submit_report  # noqa: E402
from workflows.routing import route  # noqa: E402

POINT = (12.65955, 108.03247)  # inside Phường Buôn Ma Thuột (demo ward 24133)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--database-url", default=None)
    return parser.parse_args()


def build_app(url: str | None, folder: Path):  # noqa: ANN201 - a Flask app
    from tests.conftest import _reset_schema

    app = create_app({
        "TESTING": True, "SCHEDULER_ENABLED": False, "PASSWORD_TIME_COST": 1,
        "PASSWORD_MEMORY_KIB": 1024, "MEDIA_ROOT": str(folder / "media"),
        "SQLALCHEMY_DATABASE_URI": database_url(url or f"sqlite:///{folder / 'perf.sqlite3'}"),
        "OPEN311_ADDRESS_RATE_LIMIT": "1000000/minute",
    })
    with app.app_context():
        _reset_schema()
        upgrade()
        from reports_app.demo.loader import load_demo

        load_demo()
        from reports_app.models import ApiKey

        db.session.execute(sa.update(ApiKey).values(rate_limit_per_minute=1_000_000))
        db.session.commit()
    return app


def seed(count: int) -> None:
    """`count` public reports over the last 80 days, filed through the engine."""
    rng = random.Random(7)
    categories = db.session.scalars(sa.select(Category).where(Category.is_active)).all()
    ward = db.session.scalar(sa.select(Area).where(Area.code == "24133"))
    now = datetime.now(UTC)
    for n in range(count):
        category = rng.choice(categories)
        rule = route(db.session, category.id, ward.id)
        ctx = workflow_context(now - timedelta(minutes=rng.randint(1, 80 * 24 * 60)))
        case = submit_report(db.session, NewReport(
            category=category, description=f"Phản ánh số {n}: " + "mô tả " * 20,
            lat=POINT[0], lon=POINT[1], area_id=ward.id, address="Phường Buôn Ma Thuột",
            source="open311"), Actor(None, Party.OPEN311_CLIENT), ctx,
            routed_agency_id=rule.agency_id if rule else None,
            routing_rule_id=rule.id if rule else None)
        if n % 3 == 0:
            db.session.add(CasePhoto(case_id=case.id, kind="report", sha256=f"{n:064x}",
                                     content_type="image/jpeg", width=1600, height=1200,
                                     original_key=f"original/{n}.jpg",
                                     display_key=f"display/{n}.jpg",
                                     thumb_key=f"thumb/{n}.jpg"))
        if n % 500 == 499:
            db.session.commit()
    db.session.commit()


def timed(client, method: str, url: str, runs: int, **kwargs) -> list[float]:  # noqa: ANN001
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.open(url, method=method, **kwargs)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.data[:300]
    return times


def report(name: str, times: list[float], note: str = "") -> None:
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    print(f"{name:<44} median {statistics.median(times):8.1f} ms   p95 {p95:8.1f} ms  {note}")


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(args.database_url, Path(tmp))
        with app.app_context():
            start = time.perf_counter()
            seed(args.cases)
            print(f"seeded {args.cases} cases in {time.perf_counter() - start:.1f} s "
                  f"({db.engine.dialect.name})")
        client = app.test_client()
        size = len(client.get("/open311/v2/requests.json").get_json())
        report("GET requests.json (newest, capped)", timed(
            client, "GET", "/open311/v2/requests.json", args.runs), f"{size} requests")
        report("GET requests.xml (newest, capped)", timed(
            client, "GET", "/open311/v2/requests.xml", args.runs))
        report("GET requests.json?status=open&service_code=roads", timed(
            client, "GET", "/open311/v2/requests.json?status=open&service_code=roads",
            args.runs))
        report("GET requests.json?service_request_id=1..50", timed(
            client, "GET", "/open311/v2/requests.json?service_request_id="
            + ",".join(str(i) for i in range(1, 51)), args.runs))
        report("GET requests/{id}.json", timed(client, "GET", "/open311/v2/requests/10.json",
                                               args.runs))
        report("GET services.json", timed(client, "GET", "/open311/v2/services.json",
                                          args.runs))
        form = {"api_key": "demo-open311-key", "service_code": "roads", "lat": str(POINT[0]),
                "long": str(POINT[1]), "description": "Ổ gà lớn",
                "attribute[hazard_size]": "large"}
        report("POST requests.json (form, no photo)", timed(
            client, "POST", "/open311/v2/requests.json", args.runs, data=form))


if __name__ == "__main__":
    main()
