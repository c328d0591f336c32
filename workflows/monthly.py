"""Monthly summaries: built once after each month ends, then kept as published.

The job `build_monthly_summary` runs on the 1st at 00:30 in the province's time zone and
stores the previous month's figures (workflows/stats.py: every figure, the breakdowns by
agency, category and area) in `monthly_summaries`, one row per month and scope. It never
overwrites a stored month, so a published summary does not change when old cases change
later; `flask --app wsgi stats rebuild-month YYYY-MM` recomputes one on purpose (and logs
it). A month is the calendar month in the province's time zone (TIMEZONE); its figures are
those of the cases submitted in it, as they stand when the summary is built (`cutoff_at`).
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from reports_app.models import MonthlySummary
from workflows.jobs import JobContext
from workflows.stats import BREAKDOWNS, Window, compute_summary

log = logging.getLogger(__name__)

SCOPE = "province"
"""The whole deployment; per-province scopes ("area:66") would sit beside it."""

TREND_MONTHS = 6
"""How many stored months (the month itself included) the trend shows."""

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class MonthError(ValueError):
    """A month that is malformed, or that cannot be summarised yet."""


def parse_month(text: str) -> tuple[int, int]:
    """`2026-10` as (2026, 10); MonthError for anything else."""
    match = _MONTH.match(text or "")
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 1970:
        raise MonthError(f"not a month like 2026-10: {text!r}")
    return int(match[1]), int(match[2])


def _shift(year: int, month: int, by: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + by
    return index // 12, index % 12 + 1


def month_window(month: str, tz: str) -> Window:
    """The month's instants: from its first midnight to the next month's, in the zone `tz`."""
    year, number = parse_month(month)
    zone = ZoneInfo(tz)
    next_year, next_number = _shift(year, number, 1)
    return Window(datetime(year, number, 1, tzinfo=zone),
                  datetime(next_year, next_number, 1, tzinfo=zone))


def month_of(instant: datetime, tz: str) -> str:
    """The month (in the zone `tz`) an instant falls in."""
    local = instant.astimezone(ZoneInfo(tz))
    return f"{local.year:04d}-{local.month:02d}"


def previous_month(now: datetime, tz: str) -> str:
    """The month before the one `now` falls in, in the zone `tz`."""
    year, number = _shift(*parse_month(month_of(now, tz)), -1)
    return f"{year:04d}-{number:02d}"


def months_before(month: str, count: int) -> list[str]:
    """`count` months ending with `month`, oldest first."""
    year, number = parse_month(month)
    shifted = [_shift(year, number, -back) for back in range(count - 1, -1, -1)]
    return [f"{y:04d}-{m:02d}" for y, m in shifted]


def summary_data(session: Session, month: str, now: datetime, tz: str) -> dict[str, Any]:
    """The month's figures and breakdowns as stored (JSON-ready)."""
    window = month_window(month, tz)
    if now < window.end:
        raise MonthError(f"{month} has not ended yet; it can be summarised from "
                         f"{window.end.isoformat()}")
    summary = compute_summary(session, window, now, breakdowns=BREAKDOWNS, tz=tz)
    return {"month": month, "scope": SCOPE, "timezone": tz, **summary.as_dict()}


def stored_summary(session: Session, month: str, scope: str = SCOPE) -> MonthlySummary | None:
    """The kept summary of a month, if built."""
    return session.scalar(sa.select(MonthlySummary).where(
        MonthlySummary.month == month, MonthlySummary.scope == scope))


def store_month(session: Session, month: str, now: datetime, tz: str) -> MonthlySummary | None:
    """Compute and keep a month's summary unless one is kept already (None then); flushes."""
    if stored_summary(session, month) is not None:
        log.info("monthly summary %s already kept; not rebuilt", month)
        return None
    row = MonthlySummary(month=month, scope=SCOPE, data=summary_data(session, month, now, tz),
                         cutoff_at=now, computed_at=now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # Another scheduler process kept it a moment ago: theirs stands.
        log.info("monthly summary %s was kept by another run meanwhile", month)
        return None
    log.info("monthly summary %s kept (cut-off %s): %s", month, now.isoformat(),
             row.data["headline"]["en"])
    return row


def rebuild_month(session: Session, month: str, now: datetime, tz: str) -> MonthlySummary:
    """Recompute a month's summary and replace the kept one (on purpose only); flushes."""
    data = summary_data(session, month, now, tz)
    row = stored_summary(session, month)
    if row is None:
        row = MonthlySummary(month=month, scope=SCOPE, data=data, cutoff_at=now,
                             computed_at=now)
        session.add(row)
        log.warning("monthly summary %s built on demand (cut-off %s)", month, now.isoformat())
    else:
        log.warning("monthly summary %s REBUILT: cut-off %s -> %s; headline %r -> %r", month,
                    row.cutoff_at.isoformat(), now.isoformat(), row.data.get("headline", {})
                    .get("en"), data["headline"]["en"])
        row.data, row.cutoff_at, row.computed_at = data, now, now
    session.flush()
    return row


def build_monthly_summary(session: Session, ctx: JobContext) -> str | None:
    """The job: keep the summary of the month that just ended (never overwrites)."""
    tz = str(ctx.config.get("TIMEZONE") or ctx.calendar.tz)
    month = previous_month(ctx.now, tz)
    row = store_month(session, month, ctx.now, tz)
    return month if row is not None else None


def trend(session: Session, month: str, months: int = TREND_MONTHS) -> list[dict[str, Any]]:
    """The kept summaries of up to `months` months ending with `month`, oldest first."""
    wanted = months_before(month, months)
    rows = session.scalars(sa.select(MonthlySummary).where(
        MonthlySummary.scope == SCOPE, MonthlySummary.month.in_(wanted))
        .order_by(MonthlySummary.month)).all()
    return [{"month": row.month, **{k: row.data["figures"].get(k) for k in (
        "received", "handled", "handled_on_time", "handled_rate", "on_time_rate",
        "satisfaction_rate", "median_hours_to_resolve")}} for row in rows]
