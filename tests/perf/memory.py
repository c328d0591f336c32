"""API worker memory: the resident size of one gunicorn worker over 10,000 mixed requests.

Run: .venv/bin/python tests/perf/memory.py [--cases 1000000] [--database perf_scale]
     [--reuse]   (or through tests/perf/run.py)

The app runs as in production (`gunicorn -c gunicorn.conf.py wsgi:app`, APP_ENV=production)
on the data set's database with one worker (WEB_CONCURRENCY=1, its 2 threads) so that every
request lands in the process measured, and with worker recycling off
(GUNICORN_MAX_REQUESTS=0), or a leak would hide behind the restarts. Four client threads send
a fixed, seeded mix: a case file (25%), a staff queue page (15%), nearby (15%), a public feed
page (15%), a public report by code (10%), an Open311 week window (5%), the public summary
(5%), the categories (5%), `GET /me` (4%) and a report with a 12-MP photo (1%; those reports
are deleted afterwards). The worker's RSS is read from /proc after 500 warm-up requests and
after every 1,000.

Targets: at most 150 MB after 10,000 requests, and not growing: at most 5 MB more after
10,000 requests than after 5,000 (a leak of 1 KB a request would add 5 MB).
"""

from __future__ import annotations

import http.client
import random
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.perf.perfkit import Figure, RunContext, Target, undo_new_cases  # noqa: E402
from tests.perf.servers import Server, app_environment, gunicorn, rss_mb  # noqa: E402

REQUESTS = 10_000
WARMUP = 500
CHECKPOINT = 1_000
CLIENTS = 4
RSS_TARGET = Target("value", 150.0)
GROWTH_TARGET = Target("value", 5.0)
MIX = (("case", 25), ("queue", 15), ("nearby", 15), ("feed", 15), ("code", 10),
       ("open311", 5), ("summary", 5), ("categories", 5), ("me", 4), ("submit", 1))


def _material(ctx: RunContext) -> dict[str, Any]:
    """Tokens and the cases, places and codes the mix draws from."""
    import time_machine
    from flask_jwt_extended import create_access_token

    from reports_app.extensions import db
    from reports_app.models import User

    app = ctx.app()
    with app.app_context():
        agency = db.session.scalar(sa.text(
            "SELECT agency_id FROM cases WHERE agency_id IS NOT NULL GROUP BY agency_id "
            "ORDER BY count(*) DESC LIMIT 1"))
        cases = db.session.scalars(sa.text(
            "SELECT id FROM cases WHERE agency_id = :a ORDER BY hashint8(id) LIMIT 500"),
            {"a": agency}).all()
        places = db.session.execute(sa.text(
            "SELECT lat, lon FROM cases WHERE id % 2000 = 3 ORDER BY id LIMIT 500")).all()
        codes = db.session.scalars(sa.text(
            "SELECT tracking_code FROM cases WHERE is_public AND state <> 'rejected' "
            "AND id % 2000 = 5 ORDER BY id LIMIT 500")).all()
        ward = db.session.execute(sa.text(
            "SELECT (min_lat + max_lat) / 2, (min_lon + max_lon) / 2 FROM areas "
            "WHERE level = 'ward' ORDER BY id LIMIT 1")).one()
        staff = db.session.scalar(sa.select(User).where(User.role == "staff",
                                                        User.agency_id == agency).limit(1))
        citizen = db.session.scalar(sa.select(User).where(User.role == "citizen").limit(1))
        with time_machine.travel(ctx.as_of, tick=True):
            staff_token = create_access_token(identity=staff)
            citizen_token = create_access_token(identity=citizen)
    return {"cases": cases, "places": places, "codes": codes, "ward": ward,
            "staff": staff_token, "citizen": citizen_token}


def _photo_body(ward: tuple[float, float]) -> tuple[bytes, str, bytes]:
    from tests.perf.report_submit import body, twelve_mp_jpeg

    photo = twelve_mp_jpeg(REPO_ROOT.parent / "shared" / "photos")
    payload, content_type = body(photo, (f"{ward[0]:.6f}", f"{ward[1]:.6f}"))
    return payload, content_type, photo


def _requests(material: dict[str, Any], seed: int, count: int) -> list[tuple[str, str]]:
    """(kind, path) of the whole run, drawn from MIX with a seeded generator."""
    rng = random.Random(seed)
    kinds = [k for k, weight in MIX for _ in range(weight)]
    week = "start_date=2026-01-05T00:00:00Z&end_date=2026-01-12T00:00:00Z"
    out = []
    for _ in range(count):
        kind = rng.choice(kinds)
        lat, lon = rng.choice(material["places"])
        path = {
            "case": f"/api/v1/cases/{rng.choice(material['cases'])}",
            "queue": "/api/v1/cases?status=assigned,in_progress,need_info&page="
                     f"{rng.randint(1, 3)}&page_size=25",
            "nearby": f"/api/v1/reports/nearby?lat={lat:.6f}&lon={lon:.6f}&radius_m=500",
            "feed": f"/api/v1/public/reports?bbox={lon - 0.0225:.5f},{lat - 0.016:.5f},"
                    f"{lon + 0.0225:.5f},{lat + 0.016:.5f}",
            "code": f"/api/v1/public/reports/{rng.choice(material['codes'])}",
            "open311": f"/open311/v2/requests.json?{week}",
            "summary": "/api/v1/stats/public-summary",
            "categories": "/api/v1/categories",
            "me": "/api/v1/me",
            "submit": "/api/v1/reports",
        }[kind]
        out.append((kind, path))
    return out


class Driver:
    """Client threads with a keep-alive connection each, sending the planned requests."""

    def __init__(self, server: Server, material: dict[str, Any],
                 photo: tuple[bytes, str]) -> None:
        self.host = urlsplit(server.url)
        self.material = material
        self.photo = photo
        self.failures: Counter[str] = Counter()
        self.lock = threading.Lock()

    def _send(self, conn: http.client.HTTPConnection, kind: str, path: str) -> None:
        headers = {}
        if kind in ("case", "queue"):
            headers["Authorization"] = f"Bearer {self.material['staff']}"
        elif kind in ("me", "submit"):
            headers["Authorization"] = f"Bearer {self.material['citizen']}"
        if kind == "submit":
            payload, content_type = self.photo
            headers.update({"Content-Type": content_type, "Idempotency-Key": str(uuid.uuid4())})
            conn.request("POST", path, body=payload, headers=headers)
        else:
            conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status >= 400:
            with self.lock:
                self.failures[f"{kind} {response.status}"] += 1

    def run(self, plan: list[tuple[str, str]]) -> None:
        """Send `plan` over CLIENTS connections; returns when every request is answered."""
        position = iter(range(len(plan)))

        def client() -> None:
            conn = http.client.HTTPConnection(self.host.hostname, self.host.port, timeout=120)
            try:
                while True:
                    with self.lock:
                        index = next(position, None)
                    if index is None:
                        return
                    self._send(conn, *plan[index])
            finally:
                conn.close()

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


def measure(ctx: RunContext) -> list[Figure]:
    """RSS of the one worker after 10,000 mixed requests, and its growth over the second half."""
    material = _material(ctx)
    payload, content_type, _ = _photo_body(material["ward"])
    plan = _requests(material, ctx.dataset.seed, WARMUP + REQUESTS)
    env = app_environment(ctx.dsn, WEB_CONCURRENCY="1", GUNICORN_MAX_REQUESTS="0")
    series: list[tuple[int, float]] = []
    with undo_new_cases(ctx.dsn), gunicorn("wsgi:app", ctx.free_port(), env,
                                           "memory-app") as server:
        workers = server.worker_pids()
        if len(workers) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {workers}")
        worker = workers[0]
        driver = Driver(server, material, (payload, content_type))
        started = time.perf_counter()
        driver.run(plan[:WARMUP])
        series.append((0, rss_mb(worker)))
        for done in range(CHECKPOINT, REQUESTS + 1, CHECKPOINT):
            driver.run(plan[WARMUP + done - CHECKPOINT:WARMUP + done])
            series.append((done, rss_mb(worker)))
        elapsed = time.perf_counter() - started
        if server.worker_pids() != [worker]:
            raise RuntimeError("the worker was replaced during the run")
    if driver.failures:
        raise RuntimeError(f"failed requests: {dict(driver.failures)}")
    by_count = dict(series)
    growth = by_count[REQUESTS] - by_count[REQUESTS // 2]
    trail = ", ".join(f"{n // 1000}k {mb:.0f}" for n, mb in series)
    how = f"gunicorn, 1 worker × 2 threads, {CLIENTS} clients"
    return [
        Figure(name="API worker RSS after 10,000 mixed requests", unit="MB",
               value=by_count[REQUESTS], samples=REQUESTS, target=RSS_TARGET, how=how,
               note=f"RSS (MB) after n requests (0 = after {WARMUP} warm-up): {trail}; "
                    f"{(WARMUP + REQUESTS) / elapsed:.0f} req/s", source="memory"),
        Figure(name="API worker RSS growth, 5,000 → 10,000 requests", unit="MB",
               value=growth, samples=REQUESTS, target=GROWTH_TARGET, how=how,
               source="memory"),
    ]


def main() -> None:
    from tests.perf.run import standalone

    standalone(measure)


if __name__ == "__main__":
    main()
