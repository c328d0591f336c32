"""Throughput on loopback: our GET of one case (and our public feed page) against a bare Flask
JSON endpoint, both under the repository's gunicorn settings, in one run, with wrk.

Run: .venv/bin/python tests/perf/throughput.py [--cases 1000000] [--database perf_scale]
     [--reuse]   (or through tests/perf/run.py). Needs wrk (Debian: apt-get install -y wrk).

Both servers are `gunicorn -c gunicorn.conf.py …` with the same environment (WEB_CONCURRENCY,
GUNICORN_THREADS as set, else the file's defaults: 2 × CPUs + 1 workers, 2 threads each): the
app with APP_ENV=production on the data set's database (its access log on, as in production),
the bare app from tests/perf/bare_app.py. wrk (1 thread, 20 connections, keep-alive) runs
10 s against each in turn, twice, after a 3 s warm-up each; a figure is the mean of its two
rounds. GET one case cycles through 200 cases of one agency with that agency's staff token;
the feed cycles through 200 map viewports; `/readyz` (one `SELECT 1` through the app's
stack, no token) shows what a single database round trip already costs. The ratio's target:
at least 0.4.

wrk and the servers share the machine's cores, as PostgreSQL does: on 2 cores this measures
the whole stack's CPU cost per request more than any server's ceiling.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import sqlalchemy as sa

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.perf.perfkit import Figure, RunContext, Target  # noqa: E402
from tests.perf.servers import app_environment, gunicorn  # noqa: E402

DURATION_S = 10
WARMUP_S = 3
ROUNDS = 2
CONNECTIONS = 20
RATIO_TARGET = Target("value", 0.4, at_least=True)


def wrk(url: str, paths: list[str], seconds: int, headers: dict[str, str] | None = None
        ) -> dict[str, float]:
    """Requests per second and latency percentiles (ms) of one wrk run cycling `paths`."""
    lua = "local paths = {" + ",".join(f'"{p}"' for p in paths) + "}\n" + (
        "local i = 0\nrequest = function()\n  i = i + 1\n"
        "  return wrk.format('GET', paths[(i % #paths) + 1])\nend\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        command = ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s",
                   script.name]
        for name, value in (headers or {}).items():
            command += ["-H", f"{name}: {value}"]
        out = subprocess.run([*command, url], check=True, capture_output=True,  # noqa: S603
                             text=True).stdout
    finally:
        Path(script.name).unlink()
    result = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}
    for share, value, unit in re.findall(r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
        result[f"p{share}"] = float(value) * scale
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed responses from {url}{paths[0]}")
    return result


def _samples(ctx: RunContext) -> tuple[list[str], str, list[str]]:
    """200 case paths of the busiest agency, its staff token, and 200 feed viewports."""
    import time_machine
    from flask_jwt_extended import create_access_token

    from reports_app.extensions import db
    from reports_app.models import User

    app = ctx.app()
    with app.app_context():
        agency = db.session.scalar(sa.text(
            "SELECT agency_id FROM cases WHERE agency_id IS NOT NULL GROUP BY agency_id "
            "ORDER BY count(*) DESC LIMIT 1"))
        ids = db.session.scalars(sa.text(
            "SELECT id FROM cases WHERE agency_id = :a ORDER BY hashint8(id) LIMIT 200"),
            {"a": agency}).all()
        places = db.session.execute(sa.text(
            "SELECT lat, lon FROM cases WHERE id % 5000 = 7 ORDER BY id LIMIT 200")).all()
        staff = db.session.scalar(sa.select(User).where(User.role == "staff",
                                                        User.agency_id == agency).limit(1))
        # A token valid whenever it is used: the servers run on the real clock.
        with time_machine.travel(ctx.as_of, tick=True):
            token = create_access_token(identity=staff)
    feed = [f"/api/v1/public/reports?bbox={lon - 0.0225:.5f},{lat - 0.016:.5f},"
            f"{lon + 0.0225:.5f},{lat + 0.016:.5f}" for lat, lon in places]
    return [f"/api/v1/cases/{i}" for i in ids], token, feed


def measure(ctx: RunContext) -> list[Figure]:
    """req/s of GET one case and of a feed page, each against bare Flask, same gunicorn."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install -y wrk)")
    cases, token, feed = _samples(ctx)
    env = app_environment(ctx.dsn)
    app_port = ctx.free_port()
    runs: dict[str, list[dict[str, float]]] = {"bare": [], "ready": [], "case": [], "feed": []}
    with gunicorn("wsgi:app", app_port, env, "throughput-app") as app_server:
        bare_port = ctx.free_port()
        with gunicorn("tests.perf.bare_app:app", bare_port, env, "throughput-bare",
                      ready_path="/ping") as bare_server:
            auth = {"Authorization": f"Bearer {token}"}
            plan: list[tuple[str, str, list[str], dict[str, str] | None]] = [
                ("bare", bare_server.url, ["/ping"], None),
                ("ready", app_server.url, ["/readyz"], None),
                ("case", app_server.url, cases, auth),
                ("feed", app_server.url, feed, None)]
            for _, url, paths, headers in plan:
                wrk(url, paths, WARMUP_S, headers)
            for _ in range(ROUNDS):
                for name, url, paths, headers in plan:
                    runs[name].append(wrk(url, paths, DURATION_S, headers))
            workers = len(app_server.worker_pids())

    def mean(name: str, key: str) -> float:
        return sum(r.get(key, 0.0) for r in runs[name]) / len(runs[name])

    how = f"gunicorn ({workers} workers) + wrk, {CONNECTIONS} connections"
    rounds = {n: ", ".join(f"{r['rps']:,.0f}" for r in runs[n]) for n in runs}
    figures = [Figure(name=f"req/s, {label}", unit="req/s", value=mean(name, "rps"),
                      median=None, samples=ROUNDS, how=how,
                      note=f"rounds: {rounds[name]}; latency p50 {mean(name, 'p50'):.1f} ms, "
                           f"p99 {mean(name, 'p99'):.1f} ms", source="throughput")
               for name, label in (("bare", "bare Flask JSON endpoint"),
                                   ("ready", "our /readyz (one SELECT 1, no auth)"),
                                   ("case", "GET one case (staff)"),
                                   ("feed", "public feed page (bbox)"))]
    bare = mean("bare", "rps")
    figures.append(Figure(name="GET one case ÷ bare Flask (req/s)", unit="×",
                          value=mean("case", "rps") / bare, target=RATIO_TARGET, how=how,
                          source="throughput"))
    figures.append(Figure(name="public feed page ÷ bare Flask (req/s)", unit="×",
                          value=mean("feed", "rps") / bare, how=how, source="throughput"))
    figures.append(Figure(name="our /readyz ÷ bare Flask (req/s)", unit="×",
                          value=mean("ready", "rps") / bare, how=how, source="throughput",
                          note="the ceiling of any endpoint that reads the database once"))
    return figures


def main() -> None:
    from tests.perf.run import standalone

    standalone(measure)


if __name__ == "__main__":
    main()
