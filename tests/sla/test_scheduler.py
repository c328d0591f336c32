"""Running the scheduled jobs: in the dev server once, never in tests or gunicorn; the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import click
import pytest
import sqlalchemy as sa
import time_machine
from apscheduler.triggers.interval import IntervalTrigger

from reports_app import create_app
from reports_app.extensions import db
from reports_app.models import Agency, SlaEvent
from reports_app.scheduler import (
    Runtime,
    build_scheduler,
    current_runtime,
    run_job,
    should_start_in_process,
)
from tests.sla.conftest import vn
from workflows.jobs import Job, declared_jobs

REPO = Path(__file__).resolve().parents[2]
DEV = {"SCHEDULER_ENABLED": True}


def runtime(command="run", reloader=False, child=False, gunicorn=False) -> Runtime:
    return Runtime(command=command, reloader=reloader, reloader_child=child, in_gunicorn=gunicorn)


@pytest.mark.parametrize(("config", "facts", "starts", "why"), [
    (DEV, runtime(), True, "flask run without the reloader"),
    (DEV, runtime(reloader=True, child=True), True, "the reloader's serving child"),
    (DEV, runtime(reloader=True), False, "the reloader's watcher process"),
    ({**DEV, "TESTING": True}, runtime(), False, "tests never start it"),
    ({"SCHEDULER_ENABLED": False}, runtime(), False, "switched off"),
    ({}, runtime(), False, "not configured: off"),
    (DEV, runtime(gunicorn=True), False, "never inside gunicorn workers"),
    (DEV, runtime(command="scheduler"), False, "the scheduler process builds its own"),
    (DEV, runtime(command="db"), False, "other commands are not the dev server"),
    (DEV, runtime(command=None), False, "imported outside the CLI (wsgi under a server)"),
])
def test_in_process_scheduler_decision(config, facts, starts, why):
    """The dev server's serving process starts the scheduler; nothing else does."""
    assert should_start_in_process(config, facts) is starts, why


def test_current_runtime_reads_flask_run_and_the_reloader():
    """Under `flask run --reload` the child carries WERKZEUG_RUN_MAIN=true."""
    run = click.Command("run", params=[click.Option(["--reload/--no-reload"], default=None)])
    with click.Context(run, info_name="run") as ctx:
        ctx.params["reload"] = True
        assert current_runtime({"WERKZEUG_RUN_MAIN": "true"}) == Runtime(
            command="run", reloader=True, reloader_child=True, in_gunicorn="gunicorn" in sys.modules)
        assert not current_runtime({}).reloader_child
        ctx.params["reload"] = False
        assert current_runtime({}).reloader is False


def test_test_app_has_no_scheduler(app):
    """create_app in tests registers the commands but starts nothing."""
    assert "scheduler" not in app.extensions
    assert "scheduler" in app.cli.commands
    assert "jobs" in app.cli.commands


def test_dev_server_conditions_start_one_background_scheduler(tmp_path, monkeypatch):
    """With SCHEDULER_ENABLED under `flask run` (reloader child) the app runs the jobs itself."""
    run = click.Command("run", params=[click.Option(["--reload/--no-reload"], default=None)])
    monkeypatch.setenv("WERKZEUG_RUN_MAIN", "true")
    with click.Context(run, info_name="run") as ctx:
        ctx.params["reload"] = True
        dev = create_app({"SCHEDULER_ENABLED": True, "TESTING": False,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'dev.db'}"})
    scheduler = dev.extensions["scheduler"]
    try:
        assert scheduler.running
        assert {job.id for job in scheduler.get_jobs()} == {job.id for job in declared_jobs()}
    finally:
        scheduler.shutdown(wait=False)


def test_scheduler_has_every_declared_job_coalesced_one_at_a_time(app):
    """Each job: its trigger, in the office's time zone, coalesced, one instance, a grace time."""
    scheduler = build_scheduler(app)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job("sweep_deadlines")
        assert isinstance(job.trigger, IntervalTrigger)
        assert job.trigger.interval == timedelta(seconds=60)
        assert str(scheduler.timezone) == "Asia/Ho_Chi_Minh"
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time == 30
    finally:
        scheduler.shutdown(wait=False)


def test_scheduler_once_runs_the_jobs_and_commits(app, new_case):
    """`flask scheduler --once` sweeps now: a case long overdue gets its breach recorded."""
    new_case()
    with time_machine.travel(vn(2026, 11, 18, 9, 0), tick=False):
        result = app.test_cli_runner().invoke(args=["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert "sweep_deadlines: checked 1 clocks" in result.output
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaEvent)
                             .where(SlaEvent.kind == "breach")) == 1


def test_jobs_run_by_id(app, new_case):
    """`flask jobs run sweep_deadlines` runs that job once."""
    new_case()
    with time_machine.travel(vn(2026, 11, 18, 9, 0), tick=False):
        result = app.test_cli_runner().invoke(args=["jobs", "run", "sweep_deadlines"])
    assert result.exit_code == 0, result.output
    assert "1 warnings, 1 breaches" in result.output


def test_unknown_job_id_is_refused(app):
    """A typo in a job id fails with the list of declared ids."""
    result = app.test_cli_runner().invoke(args=["jobs", "run", "sweep_deadline"])
    assert result.exit_code != 0
    assert "sweep_deadlines" in result.output


def test_jobs_list_shows_the_triggers(app):
    """`flask jobs list` names each job and its trigger."""
    result = app.test_cli_runner().invoke(args=["jobs", "list"])
    assert result.exit_code == 0
    assert "sweep_deadlines\tinterval(seconds=60)" in result.output


def test_a_failing_job_is_rolled_back_and_reported(app, refdata, caplog):
    """What a job wrote before failing is rolled back, and the failure is logged."""
    def fails(session, ctx):
        session.add(Agency(code="HALF", name_vi="Nửa", name_en="Half"))
        session.flush()
        raise RuntimeError("boom")

    job = Job("broken", fails, "interval", {"seconds": 60}, "fails on purpose")
    with pytest.raises(RuntimeError):
        run_job(app, job)
    assert db.session.scalar(sa.select(Agency).where(Agency.code == "HALF")) is None
    assert "job broken failed" in caplog.text


def test_scheduler_process_stops_cleanly_on_sigterm(tmp_path):
    """The production process exits 0 on SIGTERM (what systemd or Kubernetes send)."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
           "INSTANCE_PATH": str(tmp_path), "APP_ENV": "development"}
    with subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "scheduler"],
                          cwd=REPO, env=env, stderr=subprocess.PIPE, text=True) as process:
        try:
            assert process.stderr is not None
            for line in process.stderr:
                if "scheduler started with jobs" in line:
                    break
            process.send_signal(signal.SIGTERM)
            _, rest = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0, rest
    assert "scheduler stopped" in rest


def test_scheduler_process_catches_up_on_start(app, new_case):
    """Started (or restarted) late, the scheduler sweeps at once: the overdue breach is recorded."""
    from reports_app.scheduler import catch_up

    new_case()
    with time_machine.travel(vn(2026, 11, 18, 9, 0), tick=False):
        catch_up(app, threading.Event())
    db.session.remove()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SlaEvent)
                             .where(SlaEvent.kind == "breach")) == 1


def test_catch_up_runs_interval_jobs_in_declared_order(app, monkeypatch):
    """The sweep runs before the delivery, so its escalations go out in the same catch-up;
    cron jobs wait for their time; a stop request ends the catch-up."""
    from reports_app import scheduler as module

    ran: list[str] = []
    monkeypatch.setattr(module, "_scheduled_run", lambda _app, job_id: ran.append(job_id))
    module.catch_up(app, threading.Event())
    assert ran == [j.id for j in declared_jobs() if j.trigger == "interval"]
    assert ran.index("sweep_deadlines") < ran.index("dispatch_outbox")
    stopping = threading.Event()
    stopping.set()
    ran.clear()
    module.catch_up(app, stopping)
    assert ran == []
