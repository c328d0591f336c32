"""`flask --app wsgi stats rebuild-month YYYY-MM` and `flask --app wsgi simulate`."""

from __future__ import annotations

import logging
import time

import click
from flask import current_app
from flask.cli import AppGroup

from reports_app.db import utcnow
from reports_app.extensions import db

log = logging.getLogger(__name__)

stats_cli = AppGroup("stats", help="Monthly summaries of the figures.")


@stats_cli.command("rebuild-month")
@click.argument("month")
def rebuild_month_command(month: str) -> None:
    """Recompute MONTH (YYYY-MM) now and replace its kept summary (logged)."""
    from workflows.monthly import MonthError, rebuild_month

    now = utcnow()
    try:
        row = rebuild_month(db.session, month, now, current_app.config["TIMEZONE"])
    except MonthError as exc:
        db.session.rollback()
        raise click.BadParameter(str(exc), param_hint="MONTH") from None
    db.session.commit()
    click.echo(f"{month} rebuilt as of {now.isoformat()}: {row.data['headline']['vi']} | "
               f"{row.data['headline']['en']}")


@stats_cli.command("rebuild-tallies")
def rebuild_tallies_command() -> None:
    """Recompute the figures' tallies from every case (after a bulk load or a TIMEZONE change)."""
    from reports_app.tallying import tally_zone
    from workflows.tallies import rebuild_tallies

    started = time.perf_counter()
    rows = rebuild_tallies(db.session, tally_zone())
    db.session.commit()
    click.echo(f"tallies rebuilt in {time.perf_counter() - started:.1f} s: {rows} rows "
               f"({tally_zone().key})")


@click.command("simulate")
@click.option("--months", default=8, show_default=True, type=click.IntRange(1, 36),
              help="How many whole months to fill.")
@click.option("--reports", default=439, show_default=True, type=click.IntRange(1, 100_000),
              help="How many reports the synthetic citizens send.")
@click.option("--seed", default=2024, show_default=True, type=int,
              help="The same seed gives the same history.")
@click.option("--until", default=None, metavar="YYYY-MM",
              help="The last month to fill (default: the month before this one).")
def simulate_command(months: int, reports: int, seed: int, until: str | None) -> None:
    """Fill past months of the demo province with a history made by the real workflow."""
    from media import storage_from_config
    from reports_app.workflow_context import app_calendar
    from workflows.monthly import MonthError, parse_month
    from workflows.simulate import Settings, SimulationError, simulate

    if until is not None:
        try:
            parse_month(until)
        except MonthError as exc:
            raise click.BadParameter(str(exc), param_hint="--until") from None
    config = current_app.config
    settings = Settings(months=months, reports=reports, seed=seed, until=until,
                        feedback_window_days=int(config.get("FEEDBACK_WINDOW_DAYS", 7)),
                        tz=config["TIMEZONE"], config=dict(config))
    started = time.perf_counter()
    try:
        result = simulate(db.session, app_calendar(), storage_from_config(config), settings,
                          utcnow())
    except SimulationError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"simulated {result.cases} reports over {result.months[0]}..{result.months[-1]} "
               f"in {time.perf_counter() - started:.1f} s")
    click.echo("actions: " + ", ".join(f"{k} {v}" for k, v in sorted(result.actions.items())))
    click.echo(f"job runs: {dict(result.job_runs)}; skipped {result.skipped}; "
               f"{result.discarded_notifications} notifications of the simulated past discarded")
    for month in result.summaries:
        from workflows.monthly import stored_summary

        row = stored_summary(db.session, month)
        if row is not None:
            click.echo(f"  {month}: {row.data['headline']['vi']} | {row.data['headline']['en']}")
