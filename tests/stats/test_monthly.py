"""Monthly summaries: built once on the 1st in province time, kept, rebuilt only on purpose."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from reports_app.extensions import db
from reports_app.models import Case, MonthlySummary
from reports_app.scheduler import build_scheduler, run_job
from tests.stats.conftest import act, local, rate, submit
from tests.stats.history import AS_OF, OCTOBER, build_october
from workflows.jobs import declared_jobs
from workflows.monthly import MonthError, month_window, previous_month, stored_summary
from workflows.stats import BREAKDOWNS, compute_summary

TZ_NAME = "Asia/Ho_Chi_Minh"


def _job():
    return next(j for j in declared_jobs() if j.id == "build_monthly_summary")


def _kept(month: str) -> MonthlySummary | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(MonthlySummary).where(MonthlySummary.month == month))


@pytest.fixture
def october(app, province, citizen):
    return build_october(app, province, citizen)


def test_the_job_on_the_1st_keeps_the_month_that_just_ended(app, october):
    """At 00:30 on Nov 1 (province time) October is computed and stored, as of that moment."""
    with time_machine.travel(AS_OF, tick=False):
        assert run_job(app, _job()) == "2026-10"
    row = _kept("2026-10")
    assert row is not None
    assert (row.scope, row.cutoff_at, row.computed_at) == ("province", AS_OF, AS_OF)
    expected = compute_summary(db.session, OCTOBER, AS_OF, breakdowns=BREAKDOWNS).as_dict()
    assert row.data["figures"] == expected["figures"]
    assert row.data["breakdowns"] == expected["breakdowns"]
    assert row.data["headline"] == {"vi": "Đã xử lý 9/14 phản ánh, 85% hài lòng",
                                    "en": "9 of 14 handled, 85% satisfied"}
    assert row.data["window"] == {"from": "2026-10-01T00:00:00+07:00",
                                  "to": "2026-11-01T00:00:00+07:00"}


def test_running_the_job_again_changes_nothing(app, october):
    """A second run (a retry, another scheduler process) keeps the first summary."""
    with time_machine.travel(AS_OF, tick=False):
        run_job(app, _job())
    first = _kept("2026-10")
    data, computed = dict(first.data), first.computed_at
    with time_machine.travel(AS_OF + timedelta(minutes=10), tick=False):
        assert run_job(app, _job()) is None
    again = _kept("2026-10")
    assert (again.data, again.computed_at) == (data, computed)
    assert db.session.scalar(sa.select(sa.func.count(MonthlySummary.id))) == 1


def test_a_kept_summary_does_not_follow_later_changes_until_rebuilt(app, october, province,
                                                                   caplog):
    """Old cases change in November; October stays as published until the CLI rebuilds it."""
    with time_machine.travel(AS_OF, tick=False):
        run_job(app, _job())
    published = dict(_kept("2026-10").data)
    # The case nobody accepted in October is handled on Nov 5.
    late = db.session.get(Case, october.cases["c6"].id)
    staff = province.staff[province.department.id]
    act(late, "accept", staff, local(2026, 11, 5, 9))
    act(late, "resolve", staff, local(2026, 11, 5, 15), note="Xong", with_photo=True)
    rate(late, october.reporters["chi"], "satisfied", local(2026, 11, 6, 8))
    with time_machine.travel(local(2026, 12, 1, 0, 30), tick=False):
        assert run_job(app, _job()) == "2026-11"
    assert _kept("2026-10").data == published

    with time_machine.travel(local(2026, 11, 6, 9), tick=False), \
            caplog.at_level(logging.WARNING, logger="workflows.monthly"):
        result = app.test_cli_runner().invoke(args=["stats", "rebuild-month", "2026-10"])
    assert result.exit_code == 0, result.output
    rebuilt = _kept("2026-10")
    assert rebuilt.cutoff_at == local(2026, 11, 6, 9)
    assert rebuilt.data["figures"]["handled"] == published["figures"]["handled"] + 1
    assert rebuilt.data["figures"]["satisfied"] == published["figures"]["satisfied"] + 1
    assert rebuilt.data["figures"]["in_progress"] == published["figures"]["in_progress"] - 1
    assert "Đã xử lý 10/14 phản ánh" in result.output
    assert any("REBUILT" in r.getMessage() for r in caplog.records)


def test_the_monthly_job_is_a_cron_at_0030_on_the_1st_in_province_time(app):
    """The scheduler fires it at 00:30 on the 1st, Hồ Chí Minh City time, not UTC."""
    job = _job()
    assert (job.trigger, dict(job.trigger_args)) == ("cron", {"day": 1, "hour": 0,
                                                              "minute": 30})
    scheduler = build_scheduler(app)
    trigger = scheduler.get_job("build_monthly_summary").trigger
    after = local(2026, 10, 15, 12)
    fire = trigger.get_next_fire_time(None, after)
    assert fire == local(2026, 11, 1, 0, 30)
    assert fire.astimezone(UTC) == datetime(2026, 10, 31, 17, 30, tzinfo=UTC)
    assert trigger.get_next_fire_time(fire, fire + timedelta(seconds=1)) == \
        local(2026, 12, 1, 0, 30)


def test_months_begin_at_midnight_in_province_time(app, province, citizen):
    """Oct 31 23:30 +07 is October; Nov 1 00:10 +07 (Oct 31 17:10 UTC) is November."""
    reporter = citizen()
    submit(province, reporter, province.other, local(2026, 10, 31, 23, 30))
    submit(province, reporter, province.other, local(2026, 11, 1, 0, 10))
    assert previous_month(local(2026, 11, 1, 0, 30), TZ_NAME) == "2026-10"
    assert previous_month(datetime(2026, 10, 31, 17, 30, tzinfo=UTC), TZ_NAME) == "2026-10"
    assert previous_month(local(2027, 1, 1, 0, 30), TZ_NAME) == "2026-12"
    now = local(2026, 12, 1, 0, 30)
    for month in ("2026-10", "2026-11"):
        window = month_window(month, TZ_NAME)
        assert compute_summary(db.session, window, now).figures.counts["received"] == 1


def test_rebuilding_a_month_that_has_not_ended_is_refused(app, province):
    """A month is summarised once it is over; the CLI says so and stores nothing."""
    with time_machine.travel(local(2026, 10, 20), tick=False):
        result = app.test_cli_runner().invoke(args=["stats", "rebuild-month", "2026-10"])
    assert result.exit_code != 0
    assert "has not ended yet" in result.output
    assert stored_summary(db.session, "2026-10") is None


@pytest.mark.parametrize("month", ["2026-13", "2026-1", "26-10", "october", ""])
def test_a_malformed_month_is_refused(app, month):
    """MONTH is YYYY-MM."""
    result = app.test_cli_runner().invoke(args=["stats", "rebuild-month", month])
    assert result.exit_code != 0
    assert "not a month" in result.output
    with pytest.raises(MonthError):
        month_window(month, TZ_NAME)
