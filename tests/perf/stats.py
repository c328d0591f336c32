"""Benchmark the figures (workflows/stats.py) over the national data set on PostgreSQL.

Run: .venv/bin/python tests/perf/stats.py [--cases 1000000] [--database perf_scale] [--reuse]
     [--runs 200] [--explain]   (or through tests/perf/run.py, which runs every benchmark)

The data set is the shared one (tests/perf/datagen.py: two years of a whole country's
reports, 34 provinces, ~3,300 wards); its tallies are built by the generator's
`case_tallies` step, exactly as `flask stats rebuild-tallies` builds them. Each figure is
the whole `compute_summary` call with all three breakdowns (every SQL statement, the Python
that adds up the groups, the names of the breakdown rows), at the data set's `as_of`:

- every case on record, in the province's time zone (whole months, whole days and the part
  day before `as_of`), which is the target: ≤ 300 ms;
- the last 12 whole local months, the year so far, the last 30 days up to now (ragged:
  partial days at both ends), one month;
- the last 12 months filtered by one agency, one category and one province: those count the
  matching cases on their own indexes (no tallies);
- side by side, the same unfiltered summaries counted from the cases (`use_tallies=False`,
  the way without tallies), and a check that both ways give the same figures and breakdowns
  (the run fails otherwise).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.perf import datagen  # noqa: E402, F401 - registers the case_tallies post-load step
from tests.perf.perfkit import (  # noqa: E402
    Figure,
    RunContext,
    Target,
    captured_statements,
    cpu_note,
    distribution,
    explain_captured,
    timed_ms,
)
from workflows.stats import BREAKDOWNS, Filters, Window, compute_summary  # noqa: E402

TZ = "Asia/Ho_Chi_Minh"
TARGET = Target("median", 300.0)


def _month_start(instant: datetime, back: int = 0) -> datetime:
    local = instant.astimezone(ZoneInfo(TZ))
    index = local.year * 12 + local.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=ZoneInfo(TZ))


def windows(as_of: datetime, first: datetime) -> dict[str, Window]:
    """The windows measured, relative to the data set's `as_of`."""
    this_month = _month_start(as_of)
    local = as_of.astimezone(ZoneInfo(TZ))
    return {
        "every case on record": Window(_month_start(first), as_of),
        "last 12 whole months": Window(_month_start(as_of, 12), this_month),
        "year so far": Window(datetime(local.year, 1, 1, tzinfo=ZoneInfo(TZ)), as_of),
        "last 30 days up to now (ragged)": Window(as_of - timedelta(days=30, hours=5), as_of),
        "last whole month": Window(_month_start(as_of, 1), this_month),
    }


def _summary(session: Any, window: Window, as_of: datetime, filters: Filters | None = None,
             *, use_tallies: bool = True) -> dict[str, Any]:
    session.rollback()
    return compute_summary(session, window, as_of, filters=filters, breakdowns=BREAKDOWNS,
                           tz=TZ, use_tallies=use_tallies).as_dict()


def _timed(ctx: RunContext, session: Any, name: str, window: Window, runs: int,
           filters: Filters | None = None, *, use_tallies: bool = True,
           target: Target | None = None) -> tuple[Figure, dict[str, Any]]:
    last: dict[str, Any] = {}

    def call(_: int) -> None:
        last.update(_summary(session, window, ctx.as_of, filters, use_tallies=use_tallies))

    cpu: list[float] = []
    samples = timed_ms(call, runs, warmup=2, cpu=cpu)
    counts = last["figures"]
    rows = sum(len(r) for r in last["breakdowns"].values())
    how = "compute_summary, tallies" if use_tallies and filters is None else \
        "compute_summary, counting the cases"
    note = (f"{counts['received'] + counts['excluded']:,} cases, {rows:,} breakdown rows; "
            f"{last['headline']['en']}; {cpu_note(cpu)}")
    return distribution(f"figures: {name}", samples, target=target, how=how, note=note,
                        source="stats"), last


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return (a["figures"], a["breakdowns"]) == (b["figures"], b["breakdowns"])


def measure(ctx: RunContext) -> list[Figure]:
    """The summary over the windows above, from the tallies and, side by side, the cases."""
    import sqlalchemy as sa

    from reports_app.extensions import db

    app = ctx.app()
    runs = max(5, min(ctx.runs, 30))
    slow_runs = max(3, runs // 5)
    figures: list[Figure] = []
    with app.app_context():
        session = db.session
        first = session.scalar(sa.text("SELECT min(submitted_at) FROM cases"))
        agency, category = session.execute(sa.text(
            "SELECT agency_id, category_id FROM cases WHERE agency_id IS NOT NULL "
            "GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1")).one()
        province = session.scalar(sa.text(
            "SELECT w.parent_id FROM cases c JOIN areas w ON w.id = c.area_id "
            "WHERE w.parent_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"))
        measured = windows(ctx.as_of, first)
        kept: dict[str, dict[str, Any]] = {}
        for name, window in measured.items():
            figure, kept[name] = _timed(ctx, session, name, window, runs,
                                        target=TARGET if name == "every case on record" else None)
            figures.append(figure)
        year = measured["last 12 whole months"]
        for label, filters in (("one agency", Filters(agency_id=agency)),
                               ("one category", Filters(category_id=category)),
                               ("one province", Filters(area_id=province))):
            figures.append(_timed(ctx, session, f"last 12 months, {label} (filtered)", year,
                                  runs, filters)[0])
        same = True
        for name in ("every case on record", "last 30 days up to now (ragged)"):
            figure, counted = _timed(ctx, session, f"{name}, counted from the cases",
                                     measured[name], slow_runs, use_tallies=False)
            tallied = next(f for f in figures if f.name == f"figures: {name}")
            figure.note = (f"{figure.median / tallied.median:.1f}x the tallies' time; "
                           + figure.note)
            figures.append(figure)
            same = same and _same(kept[name], counted)
        if ctx.explain:
            with captured_statements(db.engine, lambda s: "FROM case" in s) as seen:
                _summary(session, measured["last 30 days up to now (ragged)"], ctx.as_of)
            explain_captured(ctx, "figures, ragged 30 days (tallies, part days, overdue)",
                             db.engine, seen)
        session.rollback()
    if not same:
        raise AssertionError("the tallies and the cases give different figures")
    figures.append(Figure(name="figures: tallies and cases agree", unit="", value=1.0,
                          how="figures and breakdowns compared", source="stats",
                          note="every case on record and the ragged window"))
    return figures


def main() -> None:
    from tests.perf.run import standalone

    standalone(measure)


if __name__ == "__main__":
    main()
