"""The running tallies (workflows/tallies.py): exact after every action, whatever is folded."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.extensions import db
from reports_app.models import Case, CaseTally, CaseTallyDelta
from reports_app.tallying import tally_zone
from reports_app.workflow_context import app_calendar
from tests.concurrency import at_once
from tests.stats import timeline
from tests.stats.conftest import local, submit
from tests.stats.history import AS_OF, OCTOBER, build_october
from workflows.counting import CLASS_COUNTERS, TALLIED
from workflows.stats import BREAKDOWNS, Filters, Window, compute_summary
from workflows.tallies import (
    Span,
    compact_tallies,
    fold_deltas,
    rebuild_tallies,
    split_window,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def october(app, province, citizen):
    """The October history (tests/stats/history.py) and its independent facts."""
    history = build_october(app, province, citizen)
    return history, timeline.replay(app_calendar(), AS_OF)


def _tally_rows() -> dict[tuple, tuple[int, ...]]:
    """Every (grain, period, dimension, key) with its counters, deltas and folded added up."""
    rows: dict[tuple, list[int]] = {}
    for model in (CaseTally, CaseTallyDelta):
        for row in db.session.scalars(sa.select(model)):
            key = (row.grain, row.period, row.dimension, row.key_id)
            total = rows.setdefault(key, [0] * len(TALLIED))
            for i, name in enumerate(TALLIED):
                total[i] += getattr(row, name)
    return {key: tuple(v) for key, v in rows.items() if any(v)}


def _summaries() -> list[dict]:
    return [compute_summary(db.session, window, AS_OF, breakdowns=BREAKDOWNS).as_dict()
            for window in (OCTOBER, Window(local(2026, 9, 30, 12), local(2026, 11, 1, 6)))]


def test_running_tallies_equal_a_rebuild_from_the_cases(october):
    """Every action of the history kept the tallies exactly where a rebuild puts them."""
    running = _tally_rows()
    assert running
    rebuild_tallies(db.session, tally_zone())
    db.session.commit()
    assert _tally_rows() == running


def test_folding_the_deltas_changes_no_figure(october):
    """The summaries read the same before and after the job folds the deltas, and after it
    every tally row is folded (no deltas left, no rows of zeros)."""
    before = _summaries()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseTallyDelta)) > 0
    assert compact_tallies(db.session) > 0
    db.session.commit()
    assert _summaries() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseTallyDelta)) == 0
    zero = sa.and_(*(getattr(CaseTally, name) == 0 for name in TALLIED))
    assert db.session.scalar(sa.select(sa.func.count()).where(zero)) == 0


def test_folding_in_small_batches_gives_the_same_tallies(october):
    """However many deltas one statement folds, the sums come out the same."""
    running = _tally_rows()
    while fold_deltas(db.session, batch=7) == 7:
        pass
    db.session.commit()
    assert _tally_rows() == running


def test_any_window_matches_the_independent_count(october):
    """Whole months, whole days and partial days at either edge, in any mix: the totals and
    percentiles equal a count in Python over the timeline."""
    _, facts = october
    rng = random.Random(11)
    start, span = local(2026, 9, 25, 0), int(timedelta(days=45).total_seconds())
    windows = [OCTOBER, Window(local(2026, 10, 5, 0), local(2026, 10, 20, 0)),
               Window(local(2026, 9, 30, 23), local(2026, 11, 1, 0, 10)),
               Window(local(2026, 10, 13, 10), local(2026, 10, 13, 12))]
    for _ in range(25):
        a, b = sorted(rng.sample(range(0, span, 600), 2))
        windows.append(Window(start + timedelta(seconds=a), start + timedelta(seconds=b)))
    for window in windows:
        selected = timeline.select(facts, window.start, window.end)
        summary = compute_summary(db.session, window, AS_OF, breakdowns=BREAKDOWNS)
        assert summary.figures.counts == timeline.count(selected, AS_OF), window
        minutes = timeline.working_minutes(app_calendar(), selected)
        assert (summary.figures.median_hours_to_resolve,
                summary.figures.p90_hours_to_resolve) == timeline.hours_percentiles(minutes)
        for name, key in (("agency", lambda f: f.agency_id), ("area", lambda f: f.area_id)):
            expected = {k: timeline.count(group, AS_OF)
                        for k, group in timeline.group(selected, key).items()}
            assert {row.key: row.figures.counts
                    for row in summary.breakdowns[name]} == expected, (window, name)


def test_a_breakdown_drops_an_agency_whose_cases_all_moved_away(october, province):
    """c18 was handed back and given to the ward: the department no longer counts it, and
    an agency left with no case has no row at all, folded or not."""
    history, _ = october
    moved = history.cases["c18"]
    assert moved.agency_id == province.ward_agency.id
    rows = {row.key: row for row in compute_summary(
        db.session, Window(local(2026, 10, 20, 0), local(2026, 10, 21, 0)), AS_OF,
        breakdowns=["agency"]).breakdowns["agency"]}
    assert province.department.id not in rows
    assert rows[province.ward_agency.id].figures.counts["handled"] == 1
    compact_tallies(db.session)
    again = compute_summary(db.session, Window(local(2026, 10, 20, 0), local(2026, 10, 21, 0)),
                            AS_OF, breakdowns=["agency"]).breakdowns["agency"]
    assert [row.key for row in again] == [province.ward_agency.id]


def test_an_action_rolled_back_leaves_no_delta(app, province, citizen):
    """The deltas are written in the action's transaction, so they go with its rollback."""
    case = submit(province, citizen(), province.roads, local(2026, 10, 1), agency=province.department)
    before = _tally_rows()
    case.state, case.reject_reason = "rejected", "spam"
    db.session.flush()
    assert _tally_rows() != before
    db.session.rollback()
    assert _tally_rows() == before


def test_moving_a_case_by_its_relationship_moves_its_counts(app, province, citizen):
    """Setting `case.agency` (not the id) is seen too: the counts follow the new agency."""
    case = submit(province, citizen(), province.roads, local(2026, 10, 1), agency=province.department)
    case.agency = province.ward_agency
    db.session.commit()
    day = sa.and_(CaseTally.grain == "day", CaseTally.dimension == "agency")
    running = {key[3]: counts for key, counts in _tally_rows().items()
               if key[0] == "day" and key[2] == "agency"}
    assert running == {province.ward_agency.id: tuple(CLASS_COUNTERS["open"][n] for n in TALLIED)}
    assert db.session.scalar(sa.select(sa.func.count()).where(day)) == 0


def test_every_case_row_keeps_its_figure_class(october):
    """The class stored on each case is the one its columns give now."""
    from workflows.counting import class_of_case

    cases = db.session.scalars(sa.select(Case)).all()
    assert {case.figure_class for case in cases} >= {"open", "rejected", "excluded",
                                                     "on_time:satisfied", "late:accepted"}
    assert all(case.figure_class == class_of_case(case) for case in cases)


def test_filtered_summaries_count_the_cases_and_agree_with_the_tallies(october, province):
    """A filter reads the cases instead: an area filter on the whole province gives the
    unfiltered figures (every case is in one of its wards)."""
    everything = compute_summary(db.session, OCTOBER, AS_OF, breakdowns=BREAKDOWNS)
    province_wide = compute_summary(db.session, OCTOBER, AS_OF, breakdowns=BREAKDOWNS,
                                    filters=Filters(area_id=province.province.id))
    assert province_wide.as_dict()["figures"] == everything.as_dict()["figures"]
    assert province_wide.as_dict()["breakdowns"] == everything.as_dict()["breakdowns"]


def test_tallies_follow_the_province_zone_given(october):
    """Days are the province's: a rebuild in another zone moves late-evening cases to the
    next day, and a summary read in that zone still matches the timeline."""
    _, facts = october
    rebuild_tallies(db.session, ZoneInfo("Pacific/Kiritimati"))
    window = Window(datetime(2026, 10, 1, tzinfo=ZoneInfo("Pacific/Kiritimati")),
                    datetime(2026, 11, 1, tzinfo=ZoneInfo("Pacific/Kiritimati")))
    summary = compute_summary(db.session, window, AS_OF, tz="Pacific/Kiritimati")
    assert summary.figures.counts == timeline.count(
        timeline.select(facts, window.start, window.end), AS_OF)


@pytest.mark.postgres_only
def test_two_compactors_at_once_never_fold_a_delta_twice(october, is_postgres):
    """Folding runs in several scheduler processes by mistake: the sums stay exact."""
    if not is_postgres:
        pytest.skip("concurrent transactions need PostgreSQL")
    running = _tally_rows()
    db.session.commit()
    engine = db.engine

    def compact() -> None:
        with Session(engine) as session:
            while fold_deltas(session, batch=5) == 5:
                pass
            session.commit()

    at_once(compact, compact)
    db.session.expire_all()
    assert _tally_rows() == running


# --------------------------------------------------------------------------- splitting


@pytest.mark.parametrize(("start", "end", "expected"), [
    # October: one whole month.
    ((2026, 10, 1, 0), (2026, 11, 1, 0),
     Span((date(2026, 10, 1), date(2026, 11, 1)), (), ())),
    # Whole days on both sides of whole months.
    ((2026, 9, 28, 0), (2026, 12, 3, 0),
     Span((date(2026, 10, 1), date(2026, 12, 1)),
          ((date(2026, 9, 28), date(2026, 10, 1)), (date(2026, 12, 1), date(2026, 12, 3))), ())),
    # Days inside one month; partial days at both edges.
    ((2026, 10, 5, 13), (2026, 10, 9, 8),
     Span(None, ((date(2026, 10, 6), date(2026, 10, 9)),),
          (((2026, 10, 5, 13), (2026, 10, 6, 0)), ((2026, 10, 9, 0), (2026, 10, 9, 8))))),
    # Less than a day: all read from the cases.
    ((2026, 10, 5, 13), (2026, 10, 6, 8), Span(None, (), (((2026, 10, 5, 13), (2026, 10, 6, 8)),))),
])
def test_a_window_splits_into_months_days_and_partial_days(start, end, expected):
    """Whole local months first, then whole local days, then what is left, in the zone."""
    def at(parts: tuple[int, ...]) -> datetime:
        return datetime(*parts, tzinfo=TZ)

    want = Span(expected.months, expected.days,
                tuple((at(a), at(b)) for a, b in expected.partial))
    assert split_window(at(start), at(end), TZ) == want


def test_a_window_given_in_utc_splits_by_the_province_days():
    """Midnight in Hồ Chí Minh City is 17:00 UTC the day before."""
    span = split_window(datetime(2026, 9, 30, 17, tzinfo=UTC), datetime(2026, 10, 31, 17, tzinfo=UTC),
                        TZ)
    assert span == Span((date(2026, 10, 1), date(2026, 11, 1)), (), ())


def test_folding_is_a_declared_one_minute_job_run_by_the_scheduler(app, october):
    """The scheduler folds the deltas every minute, in its own committed transaction."""
    from reports_app.scheduler import run_job
    from workflows.jobs import declared_jobs

    job = next(j for j in declared_jobs() if j.id == "compact_tallies")
    assert (job.trigger, dict(job.trigger_args)) == ("interval", {"seconds": 60})
    running = _tally_rows()
    assert run_job(app, job, AS_OF) > 0
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CaseTallyDelta)) == 0
    assert _tally_rows() == running


def test_rebuild_tallies_command_recomputes_them_from_the_cases(app, october):
    """`flask stats rebuild-tallies` after tallies went wrong (say, a bulk load) puts them right."""
    running = _tally_rows()
    db.session.execute(sa.delete(CaseTallyDelta))
    db.session.commit()
    assert _tally_rows() != running
    result = app.test_cli_runner().invoke(args=["stats", "rebuild-tallies"])
    assert result.exit_code == 0, result.output
    assert "tallies rebuilt" in result.output
    db.session.expire_all()
    assert _tally_rows() == running
