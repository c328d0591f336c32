"""The POST benchmark (tests/perf/report_submit.py) swaps its own stand-in into the app's photo
path; this keeps it in step with the app without a run on the national data set."""

from __future__ import annotations

import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.models import Case, CasePhoto
from tests.reports.conftest import INSIDE_WARD, jpeg


def test_the_submit_benchmark_files_reports_in_both_series(refdata, client, headers):
    """Both series, with the photo decoded and with the precomputed stand-in, file reports."""
    from tests.perf import report_submit

    token = headers["Authorization"].removeprefix("Bearer ")
    point = (str(INSIDE_WARD[0]), str(INSIDE_WARD[1]))
    full, bare, alone = report_submit.series(client, token, jpeg(size=(640, 480)), 2, 1, point)
    assert (len(full), len(bare), len(alone)) == (2, 2, 2)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 6
    assert db.session.scalar(sa.select(sa.func.count(sa.distinct(CasePhoto.sha256)))) == 6
