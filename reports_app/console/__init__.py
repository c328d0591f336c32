"""The web console (operators, agency staff, supervisors) and the public transparency pages.

Pages are static shells rendered by Flask in the reader's language; their scripts
(reports_app/static/console/) load everything else from the JSON API. Two small public
reference endpoints the maps and pickers need live here too (`reference.py`).
"""

from __future__ import annotations

from flask import Flask
from flask_smorest import Api


def register_console(app: Flask, api: Api) -> None:
    """Attach the pages and the public reference endpoints (areas, agencies)."""
    from reports_app.console.pages import pages
    from reports_app.console.reference import blp as reference

    api.register_blueprint(reference)
    app.register_blueprint(pages)
