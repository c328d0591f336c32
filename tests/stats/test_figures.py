"""The figures (workflows/stats.py) against an independent count over the timeline."""

from __future__ import annotations

import random
import statistics
from datetime import timedelta

import pytest
import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.models import Case
from reports_app.workflow_context import app_calendar
from tests.stats import timeline
from tests.stats.history import AS_OF, OCTOBER, build_october
from workflows.sla_clock import classify_handling
from workflows.stats import (
    BREAKDOWNS,
    COUNTS,
    Figures,
    Filters,
    Window,
    compute_summary,
    headline,
    percentile,
    working_minutes,
)

COUNT_NAMES = list(COUNTS)


@pytest.fixture
def october(app, province, citizen):
    """The October history and its independent facts at the cut-off."""
    history = build_october(app, province, citizen)
    facts = timeline.select(timeline.replay(app_calendar(), AS_OF), OCTOBER.start, OCTOBER.end)
    return history, facts


def test_every_figure_matches_an_independent_count_over_the_timeline(october):
    """Each count and both percentiles equal a count made in Python from case_events."""
    _, facts = october
    summary = compute_summary(db.session, OCTOBER, AS_OF)
    assert summary.figures.counts == timeline.count(facts, AS_OF)
    minutes = timeline.working_minutes(app_calendar(), facts)
    assert (summary.figures.median_hours_to_resolve,
            summary.figures.p90_hours_to_resolve) == timeline.hours_percentiles(minutes)


def test_the_october_history_has_the_figures_worked_out_by_hand(october):
    """The scenario's figures as derived case by case in tests/stats/history.py."""
    figures = compute_summary(db.session, OCTOBER, AS_OF).figures
    assert figures.counts == {
        "received": 14, "handled": 9, "handled_on_time": 6, "handled_late_with_extension": 1,
        "handled_late": 2, "open_overdue": 2, "in_progress": 4, "rejected": 1, "excluded": 3,
        "rated": 7, "satisfied": 4, "accepted": 2, "dissatisfied": 1}
    assert figures.rates == {"handled_rate": round(9 / 14, 4), "on_time_rate": round(6 / 9, 4),
                             "rating_rate": round(7 / 9, 4), "satisfaction_rate": round(6 / 7, 4)}


def test_received_is_handled_plus_in_progress_plus_rejected(october):
    """Every received case is in exactly one of the three."""
    c = compute_summary(db.session, OCTOBER, AS_OF).figures.counts
    assert c["received"] == c["handled"] + c["in_progress"] + c["rejected"]
    assert c["handled"] == (c["handled_on_time"] + c["handled_late_with_extension"]
                            + c["handled_late"])


def test_headline_states_handled_of_received_and_the_satisfied_share(october):
    """6 of 7 ratings are satisfied or accepted: 85.7% reads 85% (rounded down)."""
    summary = compute_summary(db.session, OCTOBER, AS_OF)
    assert summary.headline == {"vi": "Đã xử lý 9/14 phản ánh, 85% hài lòng",
                                "en": "9 of 14 handled, 85% satisfied"}


def test_breakdown_rows_match_the_independent_count_per_group(october):
    """Per agency (the one holding the case now), per category and per area, in one call."""
    _, facts = october
    summary = compute_summary(db.session, OCTOBER, AS_OF, breakdowns=BREAKDOWNS)
    keys = {"agency": lambda f: f.agency_id, "category": lambda f: f.category_id,
            "area": lambda f: f.area_id}
    for name, key in keys.items():
        expected = {k: timeline.count(group, AS_OF)
                    for k, group in timeline.group(facts, key).items()}
        assert {row.key: row.figures.counts for row in summary.breakdowns[name]} == expected
    only = compute_summary(db.session, OCTOBER, AS_OF, breakdowns=["category"])
    assert set(only.breakdowns) == {"category"}


@pytest.mark.parametrize("lookup_max", [200, 0])
def test_breakdown_rows_carry_codes_names_and_add_up_to_the_totals(october, province,
                                                                  monkeypatch, lookup_max):
    """A row per agency with its code and names (looked up by id, or from the whole table
    when there are many); the unassigned ones under a null id."""
    monkeypatch.setattr("workflows.stats.LOOKUP_BY_ID_MAX", lookup_max)
    summary = compute_summary(db.session, OCTOBER, AS_OF, breakdowns=BREAKDOWNS)
    areas = {row.key: row.code for row in summary.breakdowns["area"]}
    assert areas == {province.ward.id: "W1", province.ward2.id: "W2"}
    rows = {row.key: row for row in summary.breakdowns["agency"]}
    assert rows[province.department.id].code == "SXD"
    assert rows[province.department.id].name["vi"] == province.department.name_vi
    assert rows[None].name == {"vi": "Chưa chuyển đơn vị xử lý",
                               "en": "Not assigned to an agency"}
    for name in BREAKDOWNS:
        for figure in COUNT_NAMES:
            assert sum(r.figures.counts[figure] for r in summary.breakdowns[name]) == \
                summary.figures.counts[figure]


def test_filters_match_the_independent_count(october, province):
    """One agency, one category, one area; an area includes the areas inside it."""
    _, facts = october
    ward_ids = {province.ward.id, province.ward2.id, province.province.id}
    cases = [
        (Filters(agency_id=province.department.id),
         lambda f: f.agency_id == province.department.id),
        (Filters(category_id=province.lights.id), lambda f: f.category_id == province.lights.id),
        (Filters(area_id=province.ward2.id), lambda f: f.area_id == province.ward2.id),
        (Filters(area_id=province.province.id), lambda f: f.area_id in ward_ids),
        (Filters(agency_id=province.department.id, category_id=province.roads.id),
         lambda f: f.agency_id == province.department.id and f.category_id == province.roads.id),
    ]
    for filters, where in cases:
        selected = [f for f in facts if where(f)]
        summary = compute_summary(db.session, OCTOBER, AS_OF, filters=filters)
        assert summary.figures.counts == timeline.count(selected, AS_OF), filters
        assert summary.figures.counts["received"] > 0
        minutes = timeline.working_minutes(app_calendar(), selected)
        assert (summary.figures.median_hours_to_resolve,
                summary.figures.p90_hours_to_resolve) == timeline.hours_percentiles(minutes)


def test_stored_figure_class_agrees_with_classify_handling(october):
    """The class kept on every handled case is what workflows.sla_clock says of it."""
    cases = db.session.scalars(sa.select(Case).where(Case.state.in_(["resolved", "closed"]))).all()
    assert len(cases) >= 9
    seen = set()
    for case in cases:
        outcome = case.figure_class.partition(":")[0]
        expected = classify_handling(case.resolved_at, case.resolve_original_due_at,
                                     case.resolve_due_at)
        assert outcome == expected.value, case.id
        assert case.figure_class.partition(":")[2] == (case.latest_rating or "")
        seen.add(outcome)
    assert seen == {"on_time", "late_with_extension", "late"}


def test_working_minutes_are_fixed_when_a_case_is_resolved(october):
    """The column holds the office time from submission to the latest resolution."""
    history, _ = october
    case = db.session.get(Case, history.cases["c4"].id)
    assert case.resolve_working_minutes == working_minutes(app_calendar(), case.submitted_at,
                                                           case.resolved_at)
    assert case.resolve_working_minutes > 0


def test_cases_outside_the_window_are_not_counted(october):
    """Sept 30 23:00 and Nov 1 00:10 (province time) fall outside October."""
    history, _ = october
    both = Window(OCTOBER.start - timedelta(days=1), OCTOBER.end + timedelta(hours=1))
    assert compute_summary(db.session, both, AS_OF).figures.counts["received"] == 16


def test_an_empty_window_has_null_rates_and_says_nothing_was_received(app):
    """Zero denominators give null, never a division error or a made-up 0%."""
    summary = compute_summary(db.session, OCTOBER, AS_OF, breakdowns=BREAKDOWNS)
    assert set(summary.figures.counts.values()) == {0}
    assert set(summary.figures.rates.values()) == {None}
    assert summary.figures.median_hours_to_resolve is None
    assert summary.headline == {"vi": "Chưa nhận được phản ánh nào", "en": "No reports received"}
    assert summary.breakdowns == {"agency": [], "category": [], "area": []}


def _figures(**counts: int) -> Figures:
    base = dict.fromkeys(COUNT_NAMES, 0)
    base.update(counts)
    return Figures(base)


def test_headline_without_ratings_says_so():
    """Handled cases but nobody rated yet."""
    assert headline(_figures(received=5, handled=3)) == {
        "vi": "Đã xử lý 3/5 phản ánh, chưa có đánh giá", "en": "3 of 5 handled, no ratings yet"}


@pytest.mark.parametrize(("satisfied", "accepted", "rated", "percent"), [
    (95, 0, 100, 95), (94, 5, 100, 99), (949, 0, 1000, 94), (2, 0, 3, 66), (7, 0, 7, 100),
    (0, 0, 4, 0)])
def test_headline_percentage_is_rounded_down(satisfied, accepted, rated, percent):
    """A published share never overstates: 94.9% is 94%, 2/3 is 66%."""
    text = headline(_figures(received=rated, handled=rated, rated=rated, satisfied=satisfied,
                             accepted=accepted))
    assert text["en"].endswith(f", {percent}% satisfied")
    assert text["vi"].endswith(f", {percent}% hài lòng")


def test_headline_groups_thousands_the_vietnamese_and_the_english_way():
    """1.234.567 in Vietnamese, 1,234,567 in English."""
    text = headline(_figures(received=1_234_567, handled=398_000, rated=10, satisfied=10))
    assert text == {"vi": "Đã xử lý 398.000/1.234.567 phản ánh, 100% hài lòng",
                    "en": "398,000 of 1,234,567 handled, 100% satisfied"}


def test_percentile_of_a_histogram_interpolates_like_percentile_cont():
    """Same values as Python's statistics module (inclusive method) on random data."""
    rng = random.Random(5)
    for size in (1, 2, 3, 10, 101, 500):
        values = sorted(rng.randrange(0, 300) for _ in range(size))
        histogram = sorted((v, values.count(v)) for v in set(values))
        assert percentile(histogram, 0.5) == pytest.approx(statistics.median(values))
        if size > 1:
            p90 = statistics.quantiles(values, n=10, method="inclusive")[8]
            assert percentile(histogram, 0.9) == pytest.approx(p90)
    assert percentile([], 0.5) is None


@pytest.mark.postgres_only
def test_percentile_of_a_histogram_equals_postgresql_percentile_cont(app, is_postgres):
    """On PostgreSQL, the database's own percentile_cont gives the same numbers."""
    if not is_postgres:
        pytest.skip("needs PostgreSQL's percentile_cont")
    rng = random.Random(9)
    values = [rng.randrange(0, 5000) for _ in range(257)]
    histogram = sorted((v, values.count(v)) for v in set(values))
    for fraction in (0.5, 0.9):
        expected = db.session.scalar(sa.text(
            "SELECT percentile_cont(:f) WITHIN GROUP (ORDER BY v) FROM unnest(:vs) AS v"),
            {"f": fraction, "vs": values})
        assert percentile(histogram, fraction) == pytest.approx(expected)


def test_percentiles_ranked_by_the_database_equal_those_of_the_whole_histogram(app):
    """The database adds parts up (tally rows may be negative deltas) and returns only the
    buckets the ranks need; the result is the percentile of the whole histogram."""
    from workflows.stats import _percentiles

    rng = random.Random(11)
    for size in (1, 2, 3, 10, 60):
        values = [rng.randrange(0, 40) for _ in range(size)]
        counts = {v: values.count(v) for v in set(values)}
        rows = [(v, n) for v, n in counts.items()] + [(v, 2) for v in rng.sample(sorted(counts), 1)]
        rows += [(v, -2) for v, n in rows[-1:]] + [(999, 3), (999, -3)]
        parts = [sa.select(sa.literal(v).label("key"), sa.literal(n).label("n"))
                 for v, n in rows]
        half = len(parts) // 2
        if half > 1:  # like the tally rows: one part that is itself a union, read as a table
            table = sa.union_all(*parts[:half]).subquery()
            parts = [sa.select(table.c.key, table.c.n), *parts[half:]]
        got = _percentiles(db.session, parts, (0.5, 0.9))
        expected = [percentile(sorted(counts.items()), f) for f in (0.5, 0.9)]
        assert got == pytest.approx(expected)
    assert _percentiles(db.session, [sa.select(sa.literal(5).label("key"),
                                               sa.literal(0).label("n"))], (0.5,)) == [None]
