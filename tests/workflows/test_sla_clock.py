"""SLA clock maths: due and warning times, pauses, and how a handled case is counted."""

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine

from workflows.calendar import WorkingCalendar
from workflows.sla_clock import (
    HandlingOutcome,
    Track,
    classify_handling,
    due_at,
    elapsed,
    remaining,
    resume_deadline,
    warn_at,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
DAY = timedelta(hours=7, minutes=30)


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


FRIDAY_TRIAGE = vn(2026, 11, 20, 16, 50)  # a 4-working-hour triage clock: due Mon 11:20
SATURDAY_NIGHT = vn(2026, 11, 21, 22, 0)  # a fallen tree: 4 clock hours, due Sun 02:00


@pytest.mark.parametrize(
    ("track", "start", "duration", "expected"),
    [
        (Track.DEADLINE, FRIDAY_TRIAGE, 4 * H, vn(2026, 11, 23, 11, 20)),
        (Track.DEADLINE, vn(2026, 11, 17, 9, 0), 3 * DAY, vn(2026, 11, 20, 9, 0)),
        (Track.IMMEDIATE, SATURDAY_NIGHT, 4 * H, vn(2026, 11, 22, 2, 0)),
        (Track.IMMEDIATE, FRIDAY_TRIAGE, 4 * H, vn(2026, 11, 20, 20, 50)),
        ("deadline", FRIDAY_TRIAGE, 4 * H, vn(2026, 11, 23, 11, 20)),
        (Track.DEADLINE, SATURDAY_NIGHT, timedelta(0), SATURDAY_NIGHT),
    ],
)
def test_due_at(cal, track, start, duration, expected):
    """Does the deadline track count working time and the immediate track clock time?"""
    assert due_at(cal, track, start, duration) == expected


def test_immediate_track_counts_real_hours_across_dst(cal):
    """Is an hour on the immediate track a real hour even when the clocks go forward?"""
    london = ZoneInfo("Europe/London")
    start = datetime(2026, 3, 29, 0, 30, tzinfo=london)
    due = due_at(cal, Track.IMMEDIATE, start, H)
    assert due == datetime(2026, 3, 29, 2, 30, tzinfo=london)
    assert due.tzinfo is london
    assert elapsed(cal, Track.IMMEDIATE, start, due) == H


def test_negative_allowance_is_refused(cal):
    """Is a negative time allowed refused?"""
    with pytest.raises(ValueError, match="negative"):
        due_at(cal, Track.DEADLINE, FRIDAY_TRIAGE, -H)


def test_unknown_track_is_refused(cal):
    """Is a track that does not exist refused rather than treated as clock time?"""
    with pytest.raises(ValueError, match="Track"):
        due_at(cal, "overnight", FRIDAY_TRIAGE, H)


@pytest.mark.parametrize(
    ("track", "start", "duration", "ratio", "expected"),
    [
        (Track.DEADLINE, FRIDAY_TRIAGE, 4 * H, 0.75, vn(2026, 11, 23, 10, 20)),
        (Track.DEADLINE, FRIDAY_TRIAGE, 4 * H, 0.5, vn(2026, 11, 23, 9, 20)),
        (Track.DEADLINE, FRIDAY_TRIAGE, 4 * H, 1, vn(2026, 11, 23, 11, 20)),
        (Track.DEADLINE, vn(2026, 11, 17, 9, 0), 3 * DAY, 0.75, vn(2026, 11, 19, 10, 52, 30)),
        (Track.IMMEDIATE, SATURDAY_NIGHT, 4 * H, 0.75, vn(2026, 11, 22, 1, 0)),
    ],
)
def test_warn_at(cal, track, start, duration, ratio, expected):
    """Does the warning fire when that share of the allowed time is used up?"""
    assert warn_at(cal, track, start, duration, ratio) == expected


@pytest.mark.parametrize("ratio", [0, 0.0, -0.25, 1.01, math.nan, math.inf, True, "0.75"])
def test_warn_ratio_outside_zero_to_one_is_refused(cal, ratio):
    """Is a warning share outside (0, 1] refused?"""
    with pytest.raises(ValueError, match="warn_ratio"):
        warn_at(cal, Track.DEADLINE, FRIDAY_TRIAGE, 4 * H, ratio)


@pytest.mark.parametrize(
    ("track", "start", "end", "expected"),
    [
        (Track.DEADLINE, FRIDAY_TRIAGE, vn(2026, 11, 23, 11, 20), 4 * H),
        (Track.IMMEDIATE, FRIDAY_TRIAGE, vn(2026, 11, 23, 11, 20), timedelta(hours=66, minutes=30)),
        (Track.DEADLINE, vn(2026, 11, 23, 14, 0), vn(2026, 11, 23, 11, 20), -40 * MIN),
        (Track.IMMEDIATE, vn(2026, 11, 22, 3, 0), vn(2026, 11, 22, 2, 0), -H),
        (Track.IMMEDIATE, datetime(2026, 11, 21, 15, 0, tzinfo=UTC), vn(2026, 11, 22, 2, 0), 4 * H),
    ],
)
def test_elapsed_and_remaining(cal, track, start, end, expected):
    """Is time counted on the track's own clock, negative once a deadline has passed?"""
    assert elapsed(cal, track, start, end) == expected
    assert remaining(cal, track, start, end) == expected


def test_remaining_against_the_wall_clock(cal):
    """With now read from a frozen clock, is the time left right before and after the due time?"""
    due = due_at(cal, Track.DEADLINE, FRIDAY_TRIAGE, 4 * H)
    with time_machine.travel(vn(2026, 11, 23, 10, 0), tick=False):
        assert remaining(cal, Track.DEADLINE, datetime.now(UTC), due) == 80 * MIN
    with time_machine.travel(vn(2026, 11, 23, 14, 0), tick=False):
        assert remaining(cal, Track.DEADLINE, datetime.now(UTC), due) == -40 * MIN
        assert remaining(cal, Track.IMMEDIATE, datetime.now(UTC), due) == -160 * MIN


# -- pauses -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("track", "paused_at", "resumed_at", "due", "expected"),
    [
        # 3 h 55 left at pause; Tue 24 Nov is a holiday, so Wed 09:00 + 3 h 55 = 14:55.
        (
            Track.DEADLINE,
            vn(2026, 11, 20, 16, 55),
            vn(2026, 11, 25, 9, 0),
            vn(2026, 11, 23, 11, 20),
            vn(2026, 11, 25, 14, 55),
        ),
        # A pause over a weekend uses no working time: the deadline stays put.
        (
            Track.DEADLINE,
            vn(2026, 11, 21, 10, 0),
            vn(2026, 11, 22, 15, 0),
            vn(2026, 11, 23, 11, 20),
            vn(2026, 11, 23, 11, 20),
        ),
        # 40 min overdue at pause stays 40 min overdue at resume.
        (
            Track.DEADLINE,
            vn(2026, 11, 23, 14, 0),
            vn(2026, 11, 25, 9, 0),
            vn(2026, 11, 23, 11, 20),
            vn(2026, 11, 25, 8, 20),
        ),
        # Immediate track: 3 clock hours left at pause, night and all.
        (
            Track.IMMEDIATE,
            vn(2026, 11, 21, 23, 0),
            vn(2026, 11, 22, 8, 0),
            vn(2026, 11, 22, 2, 0),
            vn(2026, 11, 22, 11, 0),
        ),
        # Immediate track, 1 h overdue at pause.
        (
            Track.IMMEDIATE,
            vn(2026, 11, 22, 3, 0),
            vn(2026, 11, 22, 8, 0),
            vn(2026, 11, 22, 2, 0),
            vn(2026, 11, 22, 7, 0),
        ),
    ],
)
def test_resume_deadline_keeps_the_time_left_at_pause(
    cal, track, paused_at, resumed_at, due, expected
):
    """Does the deadline move by exactly the time the pause used, overdue cases included?"""
    new_due = resume_deadline(cal, track, paused_at, resumed_at, due)
    assert new_due == expected
    assert remaining(cal, track, resumed_at, new_due) == remaining(cal, track, paused_at, due)
    assert elapsed(cal, track, due, new_due) == elapsed(cal, track, paused_at, resumed_at)


def test_resume_at_the_pause_instant_changes_nothing(cal):
    """Is a pause that lasts no time a no-op on the deadline?"""
    due = vn(2026, 11, 23, 11, 20)
    at = vn(2026, 11, 23, 9, 0)
    assert resume_deadline(cal, Track.DEADLINE, at, at, due) == due


def test_resume_before_pause_is_refused(cal):
    """Is a resume earlier than its pause refused?"""
    with pytest.raises(ValueError, match="resume"):
        resume_deadline(
            cal,
            Track.DEADLINE,
            vn(2026, 11, 23, 9, 0),
            vn(2026, 11, 23, 8, 0),
            vn(2026, 11, 23, 11, 20),
        )


def test_naive_instants_are_refused(cal):
    """Is a naive datetime refused on both tracks?"""
    with pytest.raises(ValueError, match="timezone-aware"):
        due_at(cal, Track.IMMEDIATE, datetime(2026, 11, 21, 22, 0), H)
    with pytest.raises(ValueError, match="timezone-aware"):
        elapsed(cal, Track.IMMEDIATE, datetime(2026, 11, 21, 22, 0), SATURDAY_NIGHT)


# -- outcomes -----------------------------------------------------------------------------

ORIGINAL = vn(2026, 11, 23, 11, 20)
EXTENDED = vn(2026, 11, 26, 11, 20)


@pytest.mark.parametrize(
    ("handled_at", "original_due", "current_due", "outcome"),
    [
        (vn(2026, 11, 23, 9, 0), ORIGINAL, ORIGINAL, HandlingOutcome.ON_TIME),
        (ORIGINAL, ORIGINAL, ORIGINAL, HandlingOutcome.ON_TIME),
        (vn(2026, 11, 23, 9, 0), ORIGINAL, EXTENDED, HandlingOutcome.ON_TIME),
        (vn(2026, 11, 25, 9, 0), ORIGINAL, EXTENDED, HandlingOutcome.LATE_WITH_EXTENSION),
        (EXTENDED, ORIGINAL, EXTENDED, HandlingOutcome.LATE_WITH_EXTENSION),
        (vn(2026, 11, 26, 11, 21), ORIGINAL, EXTENDED, HandlingOutcome.LATE),
        (vn(2026, 11, 23, 11, 21), ORIGINAL, ORIGINAL, HandlingOutcome.LATE),
        (vn(2026, 11, 23, 11, 21), ORIGINAL, vn(2026, 11, 23, 10, 0), HandlingOutcome.LATE),
    ],
)
def test_classify_handling(handled_at, original_due, current_due, outcome):
    """Is a case on time, late within a granted extension, or late?"""
    result = classify_handling(handled_at, original_due, current_due)
    assert result is outcome
    assert result == outcome.value
