"""Fixtures for the deployment tests: a fresh PostgreSQL database per test (cloned from one
migrated, demo-loaded template per worker), and processes that are always stopped afterwards.

These tests need PostgreSQL (TEST_DATABASE_URL); on SQLite they are skipped.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from reports_app.config import database_url
from tests.deploy.processes import (
    Ports,
    Process,
    Server,
    app_environment,
    flask,
    gunicorn,
    scheduler,
)


def _admin_engine(url: sa.engine.URL) -> sa.Engine:
    return sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_base() -> sa.engine.URL:
    """The PostgreSQL server of this run, named after TEST_DATABASE_URL's database and worker."""
    raw = os.environ.get("TEST_DATABASE_URL", "")
    if not raw.startswith(("postgres://", "postgresql")):
        pytest.skip("real processes against PostgreSQL: set TEST_DATABASE_URL")
    url = sa.engine.make_url(database_url(raw))
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return url.set(database=f"{url.database}_{worker}_deploy")


def _recreate(admin: sa.Engine, name: str, template: str | None = None) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        clause = f' TEMPLATE "{template}"' if template else ""
        conn.execute(sa.text(f'CREATE DATABASE "{name}"{clause}'))


@pytest.fixture(scope="session")
def template_database(pg_base: sa.engine.URL,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One database migrated by `flask db upgrade` and filled by `flask demo`, to clone from."""
    name = f"{pg_base.database}_template"
    admin = _admin_engine(pg_base)
    _recreate(admin, name)
    folder = tmp_path_factory.mktemp("template")
    env = app_environment(pg_base.set(database=name).render_as_string(hide_password=False),
                          folder / "media", folder)
    flask(env, "db", "upgrade")
    flask(env, "demo")
    yield name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def ports() -> Ports:
    return Ports(worker=os.environ.get("PYTEST_XDIST_WORKER"))


@dataclass
class Deployment:
    """One deployment under test: its database, media folder, environment and processes."""

    url: str
    folder: Path
    ports: Ports
    engine: sa.Engine
    settings: dict[str, str] = field(default_factory=dict)
    processes: list[Process] = field(default_factory=list)

    @property
    def media_root(self) -> Path:
        return self.folder / "media"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment every process of this deployment shares, plus `extra`."""
        return app_environment(self.url, self.media_root, self.folder / "instance",
                               **{**self.settings, **extra})

    def server(self, name: str, port: int | None = None, **extra: str) -> Server:
        """Start one gunicorn app server (wait for it with `wait_ready`)."""
        port = port or self.ports.take()
        process = gunicorn(name, port, self.env(**extra), self.folder).start()
        self.processes.append(process)
        return Server(port, process)

    def scheduler(self, **extra: str) -> Process:
        """Start the scheduler process."""
        process = scheduler(self.env(**extra), self.folder).start()
        self.processes.append(process)
        return process

    def flask(self, *args: str, **extra: str) -> str:
        """Run one `flask --app wsgi` command against this deployment."""
        return flask(self.env(**extra), *args)

    def logs(self) -> str:
        return "\n".join(p.log() for p in self.processes)

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.execute(sa.text(sql), params))


@pytest.fixture
def deployment(pg_base: sa.engine.URL, template_database: str, ports: Ports, tmp_path: Path,
               request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A fresh database (a clone of the template) and folder; every process started through it
    is stopped at the end, whatever happened."""
    name = f"{pg_base.database}_{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:10]}"
    admin = _admin_engine(pg_base)
    _recreate(admin, name, template_database)
    url = pg_base.set(database=name).render_as_string(hide_password=False)
    (tmp_path / "instance").mkdir()
    engine = sa.create_engine(url)
    deployed = Deployment(url, tmp_path, ports, engine)
    try:
        yield deployed
    finally:
        for process in reversed(deployed.processes):
            process.stop()
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
