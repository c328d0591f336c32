"""Command-line tools: `flask --app wsgi demo`, `users create`, `media cleanup`, `db`."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from reports_app.extensions import db
from workflows.roles import Role

users_cli = AppGroup("users", help="Manage accounts.")


@users_cli.command("create")
@click.option("--email", help="E-mail login.")
@click.option("--phone", help="Phone login (any common Vietnamese form).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.CITIZEN.value)
@click.option("--agency", "agency_code", help="Agency code (required for staff).")
@click.option("--name", "full_name", default="")
def create_user_command(email: str | None, phone: str | None, password: str, role: str,
                        agency_code: str | None, full_name: str) -> None:
    """Create an account with a role."""
    from reports_app.audit import audited_session
    from reports_app.auth.service import AccountError, create_user
    from reports_app.models import Agency

    agency_id = None
    if agency_code:
        agency_id = db.session.scalar(sa.select(Agency.id).where(Agency.code == agency_code))
        if agency_id is None:
            raise click.BadParameter(f"no agency with code {agency_code}", param_hint="--agency")
    if len(password) < 8:
        raise click.BadParameter("at least 8 characters", param_hint="--password")
    with audited_session(db.session):  # actor: none (the server's shell)
        try:
            user = create_user(email=email, phone=phone, password=password, role=Role(role),
                               agency_id=agency_id, full_name=full_name,
                               region=current_app.config["PHONE_REGION"])
        except AccountError as exc:
            db.session.rollback()
            raise click.ClickException(f"{exc.code}: {exc} {exc.errors or ''}") from None
        db.session.commit()
    click.echo(f"created user {user.id} ({user.role}) {user.email or user.phone}")


@click.command("demo")
def demo_command() -> None:
    """Load the demo province (Đắk Lắk) and its demo accounts; safe to run again."""
    from reports_app.demo.loader import load_demo

    result = load_demo()
    click.echo(f"demo province loaded: created {result.created or 'nothing'}, "
               f"updated {result.updated or 'nothing'}")


media_cli = AppGroup("media", help="Stored photo objects.")


@media_cli.command("cleanup")
@click.option("--grace-minutes", type=click.IntRange(min=0), default=None,
              help="Only objects untouched this long (default: MEDIA_ORPHAN_GRACE_MINUTES).")
def media_cleanup_command(grace_minutes: int | None) -> None:
    """Delete photo objects that no case uses (left by requests that died before committing)."""
    from datetime import timedelta

    from reports_app.db import utcnow
    from reports_app.reports.orphans import remove_orphan_photos
    from reports_app.reports.photos import app_storage

    minutes = current_app.config["MEDIA_ORPHAN_GRACE_MINUTES"] if grace_minutes is None \
        else grace_minutes
    result = remove_orphan_photos(db.session, app_storage(), now=utcnow(),
                                  grace=timedelta(minutes=minutes))
    click.echo(f"media cleanup (grace {minutes} min): {result}")


def register_cli(app: Flask) -> None:
    """Attach the commands to `flask`."""
    from reports_app.cases.cli import docs_cli
    from reports_app.migrations_setup import LazyMigrationsGroup
    from reports_app.stats.cli import simulate_command, stats_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(media_cli)
    app.cli.add_command(stats_cli)
    app.cli.add_command(simulate_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(docs_cli)
    app.cli.add_command(LazyMigrationsGroup(app))
