"""Configuration, migrations and the demo province."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import check

from reports_app import create_app
from reports_app.config import ConfigError
from reports_app.extensions import db


@pytest.mark.parametrize("secret", [None, "short", "dev-only-secret-change-me-in-production-000000"])
def test_production_refuses_a_default_or_missing_secret(monkeypatch, tmp_path, secret):
    """In production the app will not start without a real secret."""
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    if secret is None:
        monkeypatch.delenv("JWT_SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("JWT_SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="JWT_SECRET_KEY"):
        create_app()


def test_production_starts_with_a_real_secret(monkeypatch, tmp_path):
    """A long random secret is enough to start."""
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("JWT_SECRET_KEY", "x" * 48)
    monkeypatch.setenv("SECRET_KEY", "y" * 48)
    assert create_app().config["APP_ENV"] == "production"


def test_sqlite_is_the_embedded_default_under_the_instance_folder(monkeypatch, tmp_path):
    """With no DATABASE_URL the app keeps its SQLite file and media in the instance folder."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("MEDIA_ROOT", raising=False)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'reports.sqlite3'}"
    assert app.config["MEDIA_ROOT"] == str(tmp_path / "media")


def test_postgres_urls_use_the_installed_driver(monkeypatch, tmp_path):
    """A plain postgresql:// URL is served by psycopg 3."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@h/db")
    assert create_app().config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


OPTIONAL_BACKENDS = ("alembic", "flask_migrate", "redis", "geopy", "requests", "botocore", "boto3",
                     "apscheduler")
"""Packages an API worker with the default config never uses: loading them costs each worker."""

_BOOT_THEN_MIGRATE = f"""
import json, sys
from reports_app import create_app
app = create_app()
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({OPTIONAL_BACKENDS!r}))
heads = app.test_cli_runner().invoke(args=["db", "heads"])
print(json.dumps({{"loaded": loaded, "heads": heads.output, "exit_code": heads.exit_code}}))
"""


def test_the_app_loads_no_optional_backend_until_a_migration_runs(tmp_path):
    """Built like an API worker, the app imports neither Alembic, Redis, geopy, botocore nor
    APScheduler; `flask db` still loads Flask-Migrate and works."""
    unset = {"DATABASE_URL", "REDIS_URL", "GEOCODER", "MEDIA_STORAGE", "SCHEDULER_ENABLED"}
    env = {**{k: v for k, v in os.environ.items() if k not in unset}, "APP_ENV": "production",
           "JWT_SECRET_KEY": "j" * 40, "SECRET_KEY": "s" * 40, "INSTANCE_PATH": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", _BOOT_THEN_MIGRATE],  # noqa: S603 - our own code
                            cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True,
                            text=True, timeout=120, check=True)
    outcome = json.loads(result.stdout.splitlines()[-1])
    assert outcome["loaded"] == []
    assert outcome["exit_code"] == 0, outcome["heads"]
    assert "(head)" in outcome["heads"]


def test_models_and_migrations_agree(app):
    """Autogenerate finds nothing to add: every model change has its migration."""
    check()


def test_migrations_downgrade_to_empty_and_upgrade_again(app, migrated_down_and_up):
    """Every revision's downgrade works, on SQLite and on PostgreSQL."""
    migrated_down_and_up()
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"users", "agencies", "areas", "categories", "routing_rules", "sla_policies",
            "revoked_tokens"} <= tables


def test_downgrade_to_base_leaves_no_tables(app):
    """Downgrading to base removes every table we created."""
    from flask_migrate import downgrade, upgrade

    db.session.remove()
    downgrade(revision="base")
    try:
        tables = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
    finally:
        upgrade()


def test_demo_loader_is_idempotent(app):
    """Loading the demo twice changes nothing the second time."""
    from reports_app.demo.loader import load_demo
    from reports_app.models import Agency, Area, Category, RoutingRule, SlaPolicy, User

    first = load_demo()
    counts = {m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
              for m in (Agency, Area, Category, RoutingRule, SlaPolicy, User)}
    second = load_demo()
    again = {m.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(m))
             for m in (Agency, Area, Category, RoutingRule, SlaPolicy, User)}
    assert first.created
    assert not second.created
    assert not second.updated
    assert counts == again


def test_demo_province_has_what_the_issue_asks(app, demo):
    """Đắk Lắk: ≥6 wards/communes, ≥10 categories, ≥8 agencies, rules and policies."""
    from reports_app.models import Agency, Area, Category, RoutingRule, SlaPolicy

    def count(model, *where):
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))

    assert count(Area, Area.level.in_(["ward", "commune"])) >= 6
    assert count(Area, Area.level == "province") == 1
    assert count(Category) >= 10
    assert count(Agency) >= 8
    assert count(RoutingRule) > 0
    assert count(SlaPolicy) > 0


def test_demo_accounts_sign_in(client, demo):
    """Every published demo account signs in with demo12345."""
    from reports_app.models import User

    emails = db.session.scalars(sa.select(User.email)).all()
    assert {"admin@demo.test", "operator@demo.test", "supervisor@demo.test",
            "citizen@demo.test"} <= set(emails)
    for email in emails:
        response = client.post("/api/v1/auth/login",
                               json={"username": email, "password": "demo12345"})
        assert response.status_code == 200, email
    by_phone = client.post("/api/v1/auth/login",
                           json={"username": "0900 000 001", "password": "demo12345"})
    assert by_phone.get_json()["user"]["email"] == "citizen@demo.test"


def test_public_categories_are_listed_in_both_languages(client, demo):
    """Anyone can read the categories, each named in Vietnamese and English."""
    body = client.get("/api/v1/categories").get_json()
    assert len(body) >= 10
    for category in body:
        assert category["name"]["vi"]
        assert category["name"]["en"]
        assert category["service_code"]


def test_users_create_command_makes_an_account_with_a_role(app):
    """`flask users create` makes a working account."""
    from reports_app.models import User

    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--email", "boss@example.test", "--password", "password123",
        "--role", "supervisor"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "boss@example.test"))
    assert user.role == "supervisor"


def test_users_create_command_refuses_staff_without_agency(app):
    """The CLI reports a missing agency instead of crashing."""
    result = app.test_cli_runner().invoke(args=[
        "users", "create", "--email", "s@example.test", "--password", "password123",
        "--role", "staff"])
    assert result.exit_code != 0
    assert "agency" in result.output
