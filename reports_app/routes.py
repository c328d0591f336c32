"""Every blueprint, registered in one place."""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register_blueprints(app: Flask, api: Api) -> None:
    """Attach the API blueprints (documented) and the plain ones."""
    from reports_app.admin.routes import blp as admin
    from reports_app.auth.routes import blp as auth
    from reports_app.catalog.routes import blp as catalog
    from reports_app.health import blp as health

    for blueprint in (auth, catalog, admin):
        api.register_blueprint(blueprint)
    app.register_blueprint(health)
