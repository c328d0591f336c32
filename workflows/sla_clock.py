"""SLA clock maths: deadlines, warnings, pauses and outcomes, on working or clock time.

The deadline track counts working time on a ``WorkingCalendar``; the immediate track
(a fallen tree across a road) counts real elapsed hours, nights and weekends included.
Nothing here reads the clock or a database: callers pass ``now`` and store the results.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from workflows.calendar import WorkingCalendar
from workflows.states import Track

__all__ = [
    "HandlingOutcome",
    "Track",
    "classify_handling",
    "due_at",
    "elapsed",
    "remaining",
    "resume_deadline",
    "warn_at",
]


class HandlingOutcome(StrEnum):
    """How a handled case counts in the figures (DESIGN.md, The figures)."""

    ON_TIME = "on_time"
    LATE_WITH_EXTENSION = "late_with_extension"
    LATE = "late"


def _require_aware(*instants: datetime) -> None:
    for instant in instants:
        if instant.tzinfo is None or instant.utcoffset() is None:
            raise ValueError(f"a timezone-aware datetime is required, got {instant!r}")


def _advance(calendar: WorkingCalendar, track: Track, start: datetime, span: timedelta) -> datetime:
    """Move by working time, or by real elapsed time whatever the zone's DST does."""
    _require_aware(start)
    if Track(track) is Track.DEADLINE:
        return calendar.add(start, span)
    if not span:
        return start
    # Aware + timedelta is wall-clock arithmetic in Python; go through UTC for real time.
    return (start.astimezone(UTC) + span).astimezone(start.tzinfo)


def due_at(
    calendar: WorkingCalendar, track: Track, start: datetime, duration: timedelta
) -> datetime:
    """When a step started at ``start`` and allowed ``duration`` falls due."""
    if duration < timedelta(0):
        raise ValueError(f"the time allowed cannot be negative, got {duration}")
    return _advance(calendar, track, start, duration)


def warn_at(
    calendar: WorkingCalendar,
    track: Track,
    start: datetime,
    duration: timedelta,
    warn_ratio: float,
) -> datetime:
    """When ``warn_ratio`` of the time allowed is used up, so supervisors hear before a breach."""
    if isinstance(warn_ratio, bool) or not (
        isinstance(warn_ratio, int | float) and math.isfinite(warn_ratio) and 0 < warn_ratio <= 1
    ):
        raise ValueError(f"warn_ratio must be in (0, 1], got {warn_ratio!r}")
    # timedelta * float rounds to the nearest microsecond, so the share stays exact enough.
    return due_at(calendar, track, start, duration * warn_ratio)


def elapsed(calendar: WorkingCalendar, track: Track, start: datetime, end: datetime) -> timedelta:
    """Time the track counts between two instants; negative if ``end`` is before ``start``."""
    _require_aware(start, end)
    if Track(track) is Track.DEADLINE:
        return calendar.between(start, end)
    # Subtracting two datetimes sharing a ZoneInfo ignores DST; UTC does not.
    return end.astimezone(UTC) - start.astimezone(UTC)


def remaining(calendar: WorkingCalendar, track: Track, now: datetime, due: datetime) -> timedelta:
    """Time left before ``due``; negative once overdue, by how much."""
    return elapsed(calendar, track, now, due)


def resume_deadline(
    calendar: WorkingCalendar,
    track: Track,
    paused_at: datetime,
    resumed_at: datetime,
    due: datetime,
) -> datetime:
    """The new deadline after a pause (waiting on the citizen), keeping the time left at pause.

    The deadline moves by the working (or clock) time the pause used. A case already
    overdue when paused stays overdue by the same amount once resumed: the new deadline
    is that much working (or clock) time before ``resumed_at``.
    """
    _require_aware(paused_at, resumed_at, due)
    if resumed_at < paused_at:
        raise ValueError("a clock cannot resume before it was paused")
    left = remaining(calendar, track, paused_at, due)
    return _advance(calendar, track, resumed_at, left)


def classify_handling(
    handled_at: datetime, original_due: datetime, current_due: datetime
) -> HandlingOutcome:
    """Whether a handled case was on time, late but within a granted extension, or late."""
    if handled_at <= original_due:
        return HandlingOutcome.ON_TIME
    if current_due > original_due and handled_at <= current_due:
        return HandlingOutcome.LATE_WITH_EXTENSION
    return HandlingOutcome.LATE
