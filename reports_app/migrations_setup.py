"""Flask-Migrate, bound to an app only where migrations run: `flask db ...`, tests, scripts.

Alembic and Flask-Migrate add about 9 MB to every API worker and serve no request, so create_app()
does not import them; the `db` command imports and binds them when it is run.
"""

from __future__ import annotations

import os
from typing import Any

import click
from flask import Flask

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "migrations")


def bind_migrations(app: Flask) -> None:
    """Bind Flask-Migrate to the app (once), for flask_migrate.upgrade() and the `db` commands."""
    if "migrate" in app.extensions:
        return
    from flask_migrate import Migrate

    from reports_app.extensions import db

    Migrate(app, db, directory=MIGRATIONS_DIR, render_as_batch=True, compare_type=True)


class LazyMigrationsGroup(click.Group):
    """`flask db`: stands in for Flask-Migrate's group until the command is parsed."""

    def __init__(self, app: Flask) -> None:
        """A placeholder named `db` for the app's command line."""
        super().__init__("db", help="Perform database migrations.")
        self.app = app

    def _target(self) -> click.Group:
        bind_migrations(self.app)
        from flask_migrate.cli import db as db_group

        return db_group

    def make_context(self, info_name: str | None, args: list[str],
                     parent: click.Context | None = None, **extra: Any) -> click.Context:
        """Flask-Migrate's group parses the arguments, so its options and commands run as is."""
        return self._target().make_context(info_name, args, parent=parent, **extra)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """Flask-Migrate's sub-commands."""
        return self._target().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        """One of Flask-Migrate's sub-commands."""
        return self._target().get_command(ctx, cmd_name)

