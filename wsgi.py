"""Entry point for gunicorn and `flask --app wsgi`."""

from reports_app import create_app

app = create_app()
