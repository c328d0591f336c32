"""reports_app: the Flask application. Nothing runs on import; call create_app()."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app from the environment, with optional overrides for tests."""
    app = Flask(__name__, instance_relative_config=False,
                instance_path=os.environ.get("INSTANCE_PATH") or None)
    from reports_app.config import check_production, load_config

    app.config.update(load_config(app.instance_path))
    if test_config:
        app.config.update(test_config)
    check_production(app.config)
    os.makedirs(app.instance_path, exist_ok=True)
    from reports_app.common.input import BigIdConverter, IdConverter, StrictJSONProvider

    app.json = StrictJSONProvider(app)
    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["bigint"] = BigIdConverter

    from reports_app import audit, models  # noqa: F401 - tables on the metadata; history guards
    from reports_app.auth.passwords import configure_hasher
    from reports_app.auth.tokens import init_jwt
    from reports_app.cli import register_cli
    from reports_app.cors import init_cors
    from reports_app.db_connections import init_connections
    from reports_app.errors import register_error_handlers
    from reports_app.extensions import api, db, jwt
    from reports_app.observability import configure_logging, init_request_hooks
    from reports_app.ratelimits import init_limiter
    from reports_app.routes import register_blueprints
    from reports_app.scheduler import init_scheduler
    from reports_app.tallying import install_tally_hooks

    configure_logging(app)
    init_request_hooks(app)
    configure_hasher(app.config["PASSWORD_TIME_COST"], app.config["PASSWORD_MEMORY_KIB"])
    install_tally_hooks()
    db.init_app(app)
    init_connections(app, db)
    jwt.init_app(app)
    init_limiter(app)
    if app.config["PROXY_FIX_X_FOR"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_FIX_X_FOR"],  # type: ignore[method-assign]
                                x_proto=1)
    init_jwt(jwt)
    init_cors(app)
    from reports_app.api_errors import ErrorResponsesPlugin

    api.init_app(app, spec_kwargs={
        "extra_plugins": [ErrorResponsesPlugin()],
        "info": {"description": "Citizen field reports (phản ánh hiện trường) API"},
        "components": {"securitySchemes": {
            "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
    })
    register_blueprints(app, api)
    register_error_handlers(app)
    register_cli(app)
    init_scheduler(app)
    return app
