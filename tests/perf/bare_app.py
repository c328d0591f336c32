"""The yardstick for throughput: a bare Flask app with one JSON endpoint and nothing else.

Served by tests/perf/throughput.py with the same gunicorn settings as the real app
(`gunicorn -c gunicorn.conf.py tests.perf.bare_app:app`).
"""

from flask import Flask

app = Flask(__name__)


@app.get("/ping")
def ping() -> dict[str, str]:
    """The smallest JSON answer Flask can give."""
    return {"status": "ok"}
