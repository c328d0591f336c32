"""Fixtures: an app whose schema is built by the migrations, a clean database per test,
and factories for accounts and reference data."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import downgrade, upgrade

from reports_app import create_app
from reports_app.extensions import db
from tests import factories

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DIR", REPO.parent / "shared"))


def _database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return _worker_database(url, worker) if worker else url


def _worker_database(url: str, worker: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database, created on demand."""
    from reports_app.config import database_url

    base = sa.engine.make_url(database_url(url))
    name = f"{base.database}_{worker}"
    engine = sa.create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app on a database migrated from empty to head."""
    from reports_app.config import database_url

    instance = tmp_path_factory.mktemp("instance")
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url(_database_url(tmp_path_factory)),
        "MEDIA_ROOT": str(instance / "media"),
        "SCHEDULER_ENABLED": False,
        "PASSWORD_TIME_COST": 1,
        "PASSWORD_MEMORY_KIB": 1024,
        "JWT_SECRET_KEY": "test-secret-key-that-is-long-enough-000000000",
        # Limits stay on (they are code under test) but high; limit tests lower them.
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_STORAGE_OPTIONS": {},
        # Redis is opted into by the tests that need it (tests/redis_support.py), never by the
        # environment the suite happens to run in.
        "REDIS_URL": None,
        "LOGIN_RATE_LIMIT": "10000/minute",
        "LOGIN_ACCOUNT_RATE_LIMIT": "10000/minute",
        "REGISTER_RATE_LIMIT": "10000/minute",
        "REPORT_RATE_LIMIT": "10000/minute",
        "REPORT_ADDRESS_RATE_LIMIT": "10000/minute",
        "LOGIN_LOCKOUT_ATTEMPTS": 1000,
    })
    from reports_app.auth.passwords import configure_hasher
    from reports_app.migrations_setup import bind_migrations

    configure_hasher(1, 1024)
    bind_migrations(app)
    with app.app_context():
        _reset_schema()
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _reset_schema() -> None:
    """Start from an empty database, whatever an earlier run left behind."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    else:
        db.drop_all()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))


def truncate_all() -> None:
    """Empty every table (not the migration version), fast on both databases."""
    db.session.remove()
    tables = [t.name for t in reversed(db.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        for name in tables:
            conn.execute(sa.text(f"DELETE FROM {name}"))  # noqa: S608 - our own table names
        if db.engine.dialect.name == "postgresql":
            # Ids start again at 1, as TRUNCATE … RESTART IDENTITY would; TRUNCATE itself costs
            # a fifth of a second per test (new files for every table), DELETE a few ms.
            conn.execute(sa.text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                                 "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"))


@pytest.fixture(autouse=True)
def _clean_db(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the app starts and ends on empty tables."""
    if "app" not in request.fixturenames:
        yield
        return
    app: Flask = request.getfixturevalue("app")
    from reports_app.ratelimits import limiter

    with app.app_context():
        yield
        truncate_all()
        limiter.reset()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def is_postgres(app: Flask) -> bool:
    return db.engine.dialect.name == "postgresql"


@pytest.fixture
def migrated_down_and_up(app: Flask) -> Callable[[], None]:
    """Downgrade to empty and back to head (restores the session's schema afterwards)."""
    def run() -> None:
        db.session.remove()
        downgrade(revision="base")
        upgrade()

    return run


@pytest.fixture
def make_user(app: Flask) -> Callable[..., Any]:
    return factories.make_user


@pytest.fixture
def auth(client: FlaskClient) -> Callable[..., dict[str, str]]:
    """Headers carrying an access token for an account made by the factory."""
    return lambda user: factories.auth_headers(user)


@pytest.fixture
def refdata(app: Flask) -> factories.RefData:
    """A small province: one ward, two agencies, two categories, a routing rule, policies."""
    return factories.make_refdata()


@pytest.fixture
def demo(app: Flask) -> None:
    """The full demo province."""
    from reports_app.demo.loader import load_demo

    load_demo()


@pytest.fixture
def media_root(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Photos go to this test's own empty folder, so leftovers can be counted."""
    root = tmp_path / "media"
    monkeypatch.setitem(app.config, "MEDIA_ROOT", str(root))
    monkeypatch.delitem(app.extensions, "media_storage", raising=False)
    monkeypatch.delitem(app.extensions, "geocoder", raising=False)
    yield root
    app.extensions.pop("media_storage", None)
    app.extensions.pop("geocoder", None)


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"shared/ folder not found at {SHARED}; set SHARED_DIR")
    return SHARED


TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")
"""Redis for the tests that need one (database 7: the server may be shared); skipped without."""


@dataclass(frozen=True)
class RedisForTest:
    """A reachable Redis and a key prefix unique to one test: nothing it writes meets others."""

    url: str
    prefix: str
    client: Any

    def written(self) -> list[str]:
        """Every key this test wrote."""
        return sorted(k.decode() for k in self.client.scan_iter(match=f"{self.prefix}:*"))


@pytest.fixture
def redis_for_test() -> Iterator[RedisForTest]:
    """Redis at TEST_REDIS_URL with a fresh prefix; its keys are deleted afterwards."""
    import uuid

    import redis

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"no Redis at {TEST_REDIS_URL}: {exc}")
    found = RedisForTest(TEST_REDIS_URL, f"test-{uuid.uuid4().hex[:12]}", client)
    yield found
    stale = list(client.scan_iter(match=f"{found.prefix}:*"))
    if stale:
        client.delete(*stale)
    client.close()


@pytest.fixture
def redis_mode(app: Flask, redis_for_test: RedisForTest,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisForTest]:
    """The app with REDIS_URL set (idempotency locks and replies in Redis)."""
    monkeypatch.setitem(app.config, "REDIS_URL", redis_for_test.url)
    monkeypatch.setitem(app.config, "REDIS_KEY_PREFIX", redis_for_test.prefix)
    app.extensions.pop("redis_client", None)
    yield redis_for_test
    app.extensions.pop("redis_client", None)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """The number of requests the API fuzzing sent (tests/security/test_api_fuzzing.py)."""
    per_operation = {report.nodeid: value
                     for reports in terminalreporter.stats.values() for report in reports
                     for name, value in getattr(report, "user_properties", ())
                     if name == "fuzz_requests"}
    sent = sum(per_operation.values())
    if sent:
        terminalreporter.write_line(
            f"API fuzzing: {sent} requests sent to {len(per_operation)} operations")
