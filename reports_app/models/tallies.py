"""Running tallies of the figures per day and month, so a summary never reads every case.

`case_tally_deltas` is append-only: every flush that changes how a case counts inserts the
difference (old counters out, new ones in), so busy sessions never wait on each other's row
locks. A job folds the deltas into `case_tallies`, one row per (grain, period, dimension,
key). The figures are the sum of both tables (workflows/tallies.py).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from reports_app.db import Base
from workflows.counting import TALLIED


class TallyColumns:
    """What both tables hold: where a row counts, and the counters (workflows.counting.TALLIED)."""

    # "day" (period = the local date) or "month" (period = the 1st of the local month).
    grain: Mapped[str] = mapped_column(sa.String(5))
    period: Mapped[date] = mapped_column(sa.Date)
    # "agency", "category", "area" (key = its id, 0 for none), or "minutes" (key = working
    # minutes to resolve; only `handled` is used: the histogram behind the percentiles).
    dimension: Mapped[str] = mapped_column(sa.String(10))
    key_id: Mapped[int]
    handled: Mapped[int] = mapped_column(default=0)
    handled_on_time: Mapped[int] = mapped_column(default=0)
    handled_late_with_extension: Mapped[int] = mapped_column(default=0)
    in_progress: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    excluded: Mapped[int] = mapped_column(default=0)
    satisfied: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    dissatisfied: Mapped[int] = mapped_column(default=0)


ALL_ZERO = " AND ".join(f"{name} = 0" for name in TALLIED)
"""A folded row whose cases have all moved elsewhere."""


class CaseTally(TallyColumns, Base):
    """The folded counts of one (grain, period, dimension, key)."""

    __tablename__ = "case_tallies"
    __table_args__ = (
        # Summaries read a range of (grain, period) from this index alone on PostgreSQL.
        sa.PrimaryKeyConstraint("grain", "period", "dimension", "key_id",
                                postgresql_include=list(TALLIED)),
        # The few rows that came to nothing, so the compaction job drops them without a scan.
        sa.Index("ix_case_tallies_empty", "grain", postgresql_where=sa.text(ALL_ZERO),
                 sqlite_where=sa.text(ALL_ZERO)),
    )


class CaseTallyDelta(TallyColumns, Base):
    """A change to the counts, not yet folded into `case_tallies`."""

    __tablename__ = "case_tally_deltas"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
