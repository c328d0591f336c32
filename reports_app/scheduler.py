"""Running the declared jobs (workflows/jobs.py) with APScheduler 3.

Two ways, never both for one deployment:

* development: `flask run` starts a BackgroundScheduler inside the dev server when
  SCHEDULER_ENABLED is true (the default when APP_ENV=development), in the reloader's child
  process only, so it never runs twice;
* production: one `flask --app wsgi scheduler` process (a BlockingScheduler; SIGTERM stops it
  cleanly after the running job), never a scheduler per gunicorn worker. On start it runs each
  interval job once, in declared order, before following the schedule.

`flask --app wsgi scheduler --once` (or `flask --app wsgi jobs run ID`) runs jobs once and
exits, for cron and tests. Every run gets its own app context and session, `now`, a commit
after the job and a rollback (and a log line) when it fails.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

import click
from flask import Flask
from flask.cli import AppGroup

from reports_app.db import utcnow
from reports_app.extensions import db
from workflows.jobs import Job, JobContext, declared_jobs

if TYPE_CHECKING:
    from apscheduler.events import SchedulerEvent
    from apscheduler.schedulers.base import BaseScheduler

log = logging.getLogger(__name__)

DEFAULT_MISFIRE_GRACE_SECONDS = 30


# --------------------------------------------------------------------------- running one job


def run_job(app: Flask, job: Job, now: datetime | None = None) -> Any:
    """Run one job in its own app context and transaction: commit after, roll back on error."""
    with app.app_context():
        from reports_app.workflow_context import app_calendar

        ctx = JobContext(now=now or utcnow(), calendar=app_calendar(), config=app.config)
        started = time.perf_counter()
        try:
            result = job.run(db.session, ctx)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("job %s failed at %s", job.id, ctx.now.isoformat())
            raise
        finally:
            db.session.remove()
        log.info("job %s ran at %s in %.3f s: %s", job.id, ctx.now.isoformat(),
                 time.perf_counter() - started, result)
        return result


def _scheduled_run(app: Flask, job_id: str) -> None:
    """What APScheduler calls: a failure is logged (by run_job) and the schedule goes on."""
    job = _jobs_by_id()[job_id]
    with contextlib.suppress(Exception):  # run_job logged it with the traceback
        run_job(app, job)


def _jobs_by_id() -> dict[str, Job]:
    return {job.id: job for job in declared_jobs()}


# --------------------------------------------------------------------------- building


def build_scheduler(app: Flask, *, blocking: bool = False) -> BaseScheduler:
    """A scheduler with every declared job, in the office's time zone."""
    # Only the scheduler process and the dev server build one, so API workers never load it.
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    grace = int(app.config.get("SCHEDULER_MISFIRE_GRACE_SECONDS", DEFAULT_MISFIRE_GRACE_SECONDS))
    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=app.config["TIMEZONE"], job_defaults={
        # A late or piled-up run is one run, one at a time per job.
        "coalesce": True, "max_instances": 1, "misfire_grace_time": grace})
    for job in declared_jobs():
        scheduler.add_job(_scheduled_run, trigger=job.trigger, args=(app, job.id), id=job.id,
                          name=job.description, replace_existing=True, **dict(job.trigger_args))
    return scheduler


# --------------------------------------------------------------------------- in-process (dev)


@dataclass(frozen=True)
class Runtime:
    """What decides whether this process should run the in-process scheduler."""

    command: str | None  # the `flask` sub-command running, e.g. "run"; None outside the CLI
    reloader: bool  # `flask run` with the reloader (its watcher process and its child)
    reloader_child: bool  # WERKZEUG_RUN_MAIN == "true": the child that serves requests
    in_gunicorn: bool


def should_start_in_process(config: Mapping[str, Any], runtime: Runtime) -> bool:
    """Only the dev server's serving process runs jobs in-process; never tests, never gunicorn."""
    if config.get("TESTING") or not config.get("SCHEDULER_ENABLED"):
        return False
    if runtime.in_gunicorn or runtime.command != "run":
        # Gunicorn workers would each start one; other commands (db upgrade, scheduler,
        # shell) are not the dev server.
        return False
    # Under the reloader the watcher process also builds the app: only its child serves.
    return runtime.reloader_child or not runtime.reloader


def current_runtime(environ: Mapping[str, str]) -> Runtime:
    """Read the facts from the click context, the environment and the loaded modules."""
    ctx = click.get_current_context(silent=True)
    command = ctx.info_name if ctx is not None else None
    reloader = False
    if command == "run" and ctx is not None:
        reload = ctx.params.get("reload")
        if reload is None:  # flask run's default: the reloader follows debug mode
            from flask.helpers import get_debug_flag

            reload = get_debug_flag()
        reloader = bool(reload)
    return Runtime(command=command, reloader=reloader,
                   reloader_child=environ.get("WERKZEUG_RUN_MAIN") == "true",
                   in_gunicorn="gunicorn" in sys.modules)


def init_scheduler(app: Flask) -> None:
    """Register the CLI; start the in-process scheduler when this is the dev server."""
    import os

    app.cli.add_command(scheduler_command)
    app.cli.add_command(jobs_cli)
    if not should_start_in_process(app.config, current_runtime(os.environ)):
        return
    scheduler = build_scheduler(app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
    log.info("in-process scheduler started with jobs %s",
             ", ".join(j.id for j in scheduler.get_jobs()))


# --------------------------------------------------------------------------- command line


def _run_once(app: Flask, job_ids: tuple[str, ...]) -> None:
    jobs = _jobs_by_id()
    unknown = [j for j in job_ids if j not in jobs]
    if unknown:
        raise click.BadParameter(f"unknown job(s): {', '.join(unknown)}; "
                                 f"declared: {', '.join(jobs)}")
    failed = []
    for job_id in job_ids or tuple(jobs):
        try:
            result = run_job(app, jobs[job_id])
        except Exception as exc:
            failed.append(job_id)
            click.echo(f"{job_id}: failed: {type(exc).__name__}: {exc}", err=True)
        else:
            click.echo(f"{job_id}: {result}")
    if failed:
        raise click.ClickException(f"{len(failed)} job(s) failed: {', '.join(failed)}")


@click.command("scheduler")
@click.option("--once", is_flag=True, help="Run each job once now and exit (cron, tests).")
@click.option("--job", "job_ids", multiple=True, metavar="ID",
              help="Only this job (repeatable); default: every declared job.")
def scheduler_command(once: bool, job_ids: tuple[str, ...]) -> None:
    """Run the scheduled jobs in this process (production: one such process per deployment)."""
    from apscheduler.events import EVENT_SCHEDULER_START
    from flask import current_app

    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if once:
        _run_once(app, job_ids)
        return
    if job_ids:
        raise click.BadParameter("--job only goes with --once", param_hint="--job")
    scheduler = build_scheduler(app, blocking=True)
    stopping = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler stopping on signal %s", signum)
        stopping.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)  # lets a running job finish and commit

    def started(_event: SchedulerEvent) -> None:
        if stopping.is_set():  # the signal came while the scheduler was starting
            scheduler.shutdown(wait=True)
            return
        jobs = ", ".join(f"{j.id} ({j.trigger})" for j in scheduler.get_jobs())
        log.info("scheduler started with jobs %s", jobs)
        click.echo(f"scheduler started with jobs {jobs}", err=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    catch_up(app, stopping)
    scheduler.add_listener(started, EVENT_SCHEDULER_START)
    scheduler.start()
    click.echo("scheduler stopped", err=True)


def catch_up(app: Flask, stopping: threading.Event) -> None:
    """Run every interval job once now, in declared order (the sweep before the delivery), so a
    restart or a deployment never delays breaches or notifications by a whole interval."""
    for job in declared_jobs():
        if stopping.is_set():
            return
        if job.trigger == "interval":
            _scheduled_run(app, job.id)


jobs_cli = AppGroup("jobs", help="List and run the scheduled jobs by hand.")


@jobs_cli.command("list")
def list_jobs_command() -> None:
    """Show every declared job with its trigger."""
    for job in declared_jobs():
        args = ", ".join(f"{k}={v}" for k, v in job.trigger_args.items())
        click.echo(f"{job.id}\t{job.trigger}({args})\t{job.description}")


@jobs_cli.command("run")
@click.argument("job_ids", nargs=-1, required=True, metavar="ID...")
def run_jobs_command(job_ids: tuple[str, ...]) -> None:
    """Run the named jobs once now and exit."""
    from flask import current_app

    _run_once(current_app._get_current_object(), job_ids)  # type: ignore[attr-defined]
