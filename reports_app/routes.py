"""Every blueprint, registered in one place."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register_blueprints(app: Flask, api: Api) -> None:
    """Attach the API blueprints (documented) and the plain ones."""
    from reports_app.admin.routes import blp as admin
    from reports_app.auth.routes import blp as auth
    from reports_app.cases.routes import blp as cases
    from reports_app.catalog.routes import blp as catalog
    from reports_app.feedback.routes import blp as feedback
    from reports_app.health import blp as health
    from reports_app.open311.admin_routes import blp as open311_keys
    from reports_app.open311.routes import blp as open311
    from reports_app.reports.routes import blp as reports
    from reports_app.sla.routes import blp as sla
    from reports_app.stats.routes import blp as stats

    for blueprint in (auth, catalog, admin, open311_keys, cases, sla, reports, feedback, stats):
        api.register_blueprint(blueprint)
    app.register_blueprint(health)
    app.register_blueprint(open311)
    from reports_app.console import register_console

    register_console(app, api)
