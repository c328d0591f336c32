"""Working-time calendar: office hours, Vietnamese holidays, swaps, and exact arithmetic."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from workflows.calendar import (
    DEFAULT_PERIODS,
    VN_DECREED_SWAPS,
    WorkingCalendar,
    calendar_from_config,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
LONDON = ZoneInfo("Europe/London")
H = timedelta(hours=1)
MIN = timedelta(minutes=1)
US = timedelta(microseconds=1)
DAY = timedelta(hours=7, minutes=30)  # one working day under the default hours


def vn(*args: int) -> datetime:
    return datetime(*args, tzinfo=VN)


@pytest.fixture(scope="module")
def cal() -> WorkingCalendar:
    return WorkingCalendar()


# -- independent reference: walks day by day and period by period -------------------------


def periods_of(calendar: WorkingCalendar, day: date) -> list[tuple[datetime, datetime]]:
    if not calendar.is_working_day(day):
        return []
    return [
        (
            datetime.combine(day, start, tzinfo=calendar.zone),
            datetime.combine(day, end, tzinfo=calendar.zone),
        )
        for start, end in calendar.periods
    ]


def reference_between(calendar: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    if end < start:
        return -reference_between(calendar, end, start)
    total = timedelta(0)
    day = start.astimezone(calendar.zone).date()
    while day <= end.astimezone(calendar.zone).date():
        for opens, closes in periods_of(calendar, day):
            low, high = max(opens, start), min(closes, end)
            if low < high:
                total += high - low
        day += timedelta(days=1)
    return total


def reference_add(calendar: WorkingCalendar, start: datetime, duration: timedelta) -> datetime:
    left = duration
    day = start.astimezone(calendar.zone).date()
    while True:
        for opens, closes in periods_of(calendar, day):
            begin = max(opens, start)
            if begin >= closes:
                continue
            if left <= closes - begin:
                return begin + left
            left -= closes - begin
        day += timedelta(days=1)


# -- the acceptance criteria ------------------------------------------------------


def test_triage_clock_started_friday_afternoon_ends_monday_late_morning(cal):
    """Does a 4-working-hour clock from Friday 16:50 use 10 min Friday and 3 h 50 Monday?"""
    start = vn(2026, 11, 20, 16, 50)
    assert start.weekday() == 4
    assert cal.add(start, 4 * H) == vn(2026, 11, 23, 11, 20)


def test_lunch_break_is_skipped(cal):
    """Does an hour started at 11:00 end at 14:00, the lunch break not counting?"""
    assert cal.add(vn(2026, 11, 17, 11, 0), H) == vn(2026, 11, 17, 14, 0)
    assert cal.between(vn(2026, 11, 17, 11, 0), vn(2026, 11, 17, 14, 0)) == H


def test_tet_2026_week_is_skipped(cal):
    """Does time left on Friday 13 Feb 2026 carry over the Tết break to Monday 23 Feb?"""
    start = vn(2026, 2, 13, 16, 0)
    assert cal.add(start, 2 * H) == vn(2026, 2, 23, 8, 30)
    assert cal.between(start, vn(2026, 2, 23, 8, 30)) == 2 * H


def test_holidays_package_itself_covers_the_tet_breaks():
    """Does the holidays package (not our table) give every weekday of the 2025 and 2026 Tết breaks?

    Official breaks: 25 Jan-2 Feb 2025 and 14-22 Feb 2026; if a release drops a day,
    VN_DECREED_SWAPS must take it over.
    """
    national = holidays.country_holidays("VN", years=[2025, 2026])
    breaks = [(date(2025, 1, 25), date(2025, 2, 2)), (date(2026, 2, 14), date(2026, 2, 22))]
    for first, last in breaks:
        day = first
        while day <= last:
            assert day.weekday() >= 5 or day in national, day
            day += timedelta(days=1)


def test_configured_makeup_saturday_is_counted():
    """Is a configured make-up Saturday a normal working day with the normal hours?"""
    saturday = date(2026, 11, 28)
    plain = WorkingCalendar()
    swapped = WorkingCalendar(makeup_workdays=[saturday])
    start = vn(2026, 11, 27, 16, 0)
    assert plain.add(start, 2 * H) == vn(2026, 11, 30, 8, 30)
    assert swapped.add(start, 2 * H) == vn(2026, 11, 28, 8, 30)
    assert swapped.is_working_day(saturday)
    assert swapped.is_working_time(vn(2026, 11, 28, 14, 0))
    assert not swapped.is_working_time(vn(2026, 11, 28, 12, 0))
    assert swapped.between(vn(2026, 11, 27, 17, 0), vn(2026, 11, 30, 7, 30)) == DAY


def test_configured_extra_day_off_is_skipped():
    """Does a provincial day off on Monday push Friday's clock past the Tuesday holiday too?"""
    calendar = WorkingCalendar(extra_days_off=[date(2026, 11, 23)])
    # Monday 23 Nov is the extra day off; Tuesday 24 Nov is Vietnam Cultural Day.
    assert calendar.add(vn(2026, 11, 20, 16, 50), 4 * H) == vn(2026, 11, 25, 11, 20)


# -- which days are worked ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "worked", "why"),
    [
        (date(2025, 1, 24), True, "Friday before Tết 2025"),
        (date(2025, 1, 27), False, "Tết 2025"),
        (date(2025, 1, 31), False, "Tết 2025"),
        (date(2025, 2, 3), True, "first Monday after Tết 2025"),
        (date(2025, 4, 7), False, "Hùng Kings 2025"),
        (date(2025, 4, 26), True, "Saturday worked for Friday 2 May 2025 (package)"),
        (date(2025, 5, 2), False, "bridge day 2025 (package)"),
        (date(2025, 9, 1), False, "National Day extra day 2025"),
        (date(2025, 9, 2), False, "National Day 2025"),
        (date(2026, 1, 1), False, "New Year 2026"),
        (date(2026, 1, 2), False, "bridge day 2026 (VN_DECREED_SWAPS)"),
        (date(2026, 1, 10), True, "Saturday worked for 2 Jan 2026 (VN_DECREED_SWAPS)"),
        (date(2026, 2, 13), True, "Friday before Tết 2026"),
        (date(2026, 2, 16), False, "Tết 2026"),
        (date(2026, 2, 17), False, "Tết 2026, first day"),
        (date(2026, 2, 20), False, "Tết 2026"),
        (date(2026, 2, 23), True, "first Monday after Tết 2026"),
        (date(2026, 4, 27), False, "Hùng Kings 2026 observed (26 Apr is a Sunday)"),
        (date(2026, 4, 30), False, "Reunification Day"),
        (date(2026, 5, 1), False, "Labour Day"),
        (date(2026, 8, 22), True, "Saturday worked for Monday 31 Aug 2026 (package)"),
        (date(2026, 8, 31), False, "bridge day 2026 (package)"),
        (date(2026, 9, 2), False, "National Day 2026"),
        (date(2026, 11, 21), False, "Saturday"),
        (date(2026, 11, 22), False, "Sunday"),
        (date(2026, 11, 24), False, "Vietnam Cultural Day"),
        (date(2026, 11, 25), True, "plain Wednesday"),
    ],
)
def test_is_working_day(cal, day, worked, why):
    """Does the calendar know Vietnam's 2025-2026 days off and make-up days?"""
    assert cal.is_working_day(day) is worked, why


def test_decreed_swaps_are_days_off_and_workdays():
    """Is every VN_DECREED_SWAPS pair a weekday off and a weekend day worked?"""
    calendar = WorkingCalendar()
    for swaps in VN_DECREED_SWAPS.values():
        for off, worked in swaps:
            assert off.weekday() < 5
            assert worked.weekday() >= 5
            assert not calendar.is_working_day(off)
            assert calendar.is_working_day(worked)


def test_configured_days_beat_national_ones():
    """Do the deployment's own days override the national calendar both ways?"""
    calendar = WorkingCalendar(
        extra_days_off=[date(2026, 1, 10)], makeup_workdays=[date(2026, 9, 2)]
    )
    assert not calendar.is_working_day(date(2026, 1, 10))
    assert calendar.is_working_day(date(2026, 9, 2))


def test_no_country_means_weekdays_only():
    """Without a country, is New Year's Day an ordinary Thursday?"""
    assert WorkingCalendar(country=None).is_working_day(date(2026, 1, 1))


def test_is_working_day_refuses_datetimes(cal):
    """Is a datetime refused, since its date would depend on a zone nobody chose?"""
    with pytest.raises(TypeError):
        cal.is_working_day(vn(2026, 11, 17, 9, 0))


@pytest.mark.parametrize(
    ("at", "open_"),
    [
        (vn(2026, 11, 17, 7, 29, 59, 999999), False),
        (vn(2026, 11, 17, 7, 30), True),
        (vn(2026, 11, 17, 11, 29, 59, 999999), True),
        (vn(2026, 11, 17, 11, 30), False),
        (vn(2026, 11, 17, 13, 29, 59, 999999), False),
        (vn(2026, 11, 17, 13, 30), True),
        (vn(2026, 11, 17, 16, 59, 59, 999999), True),
        (vn(2026, 11, 17, 17, 0), False),
        (vn(2026, 11, 21, 10, 0), False),
        (vn(2026, 2, 18, 10, 0), False),
        (datetime(2026, 11, 17, 2, 0, tzinfo=UTC), True),
    ],
)
def test_is_working_time_uses_half_open_periods(cal, at, open_):
    """Is the office open from each period's start up to, not including, its end?"""
    assert cal.is_working_time(at) is open_


# -- add: boundaries, weekends, zero ------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        (vn(2026, 11, 17, 7, 30), H, vn(2026, 11, 17, 8, 30)),
        (vn(2026, 11, 17, 7, 30), 4 * H, vn(2026, 11, 17, 11, 30)),
        (vn(2026, 11, 17, 7, 30), DAY, vn(2026, 11, 17, 17, 0)),
        (vn(2026, 11, 17, 11, 0), 30 * MIN, vn(2026, 11, 17, 11, 30)),
        (vn(2026, 11, 17, 11, 30), H, vn(2026, 11, 17, 14, 30)),
        (vn(2026, 11, 17, 12, 0), H, vn(2026, 11, 17, 14, 30)),
        (vn(2026, 11, 17, 13, 30), H, vn(2026, 11, 17, 14, 30)),
        (vn(2026, 11, 17, 16, 0), H, vn(2026, 11, 17, 17, 0)),
        (vn(2026, 11, 17, 17, 0), H, vn(2026, 11, 18, 8, 30)),
        (vn(2026, 11, 17, 17, 0), DAY, vn(2026, 11, 18, 17, 0)),
        (vn(2026, 11, 17, 6, 0), H, vn(2026, 11, 17, 8, 30)),
        (vn(2026, 11, 17, 20, 0), H, vn(2026, 11, 18, 8, 30)),
        (vn(2026, 11, 21, 10, 0), H, vn(2026, 11, 23, 8, 30)),
        (vn(2026, 11, 22, 23, 59), US, vn(2026, 11, 23, 7, 30, 0, 1)),
        (vn(2026, 11, 23, 16, 0), 2 * H, vn(2026, 11, 25, 8, 30)),
        (vn(2026, 12, 31, 16, 0), 2 * H, vn(2027, 1, 4, 8, 30)),
    ],
)
def test_add_at_boundaries(cal, start, duration, expected):
    """Does add start at the next opening and stop at a period's end rather than the next one?"""
    assert cal.add(start, duration) == expected


@pytest.mark.parametrize(
    "start",
    [
        vn(2026, 11, 17, 9, 0),
        vn(2026, 11, 17, 12, 0),
        vn(2026, 11, 21, 10, 0),
        vn(2026, 2, 17, 9, 0),
    ],
)
def test_zero_duration_returns_start_unchanged(cal, start):
    """Is a zero duration the start itself, even outside office hours?"""
    assert cal.add(start, timedelta(0)) is start


def test_result_keeps_the_callers_time_zone(cal):
    """Does a start given in UTC come back in UTC, at the right instant?"""
    start = datetime(2026, 11, 20, 9, 50, tzinfo=UTC)  # 16:50 in Hà Nội
    result = cal.add(start, 4 * H)
    assert result == vn(2026, 11, 23, 11, 20)
    assert result.tzinfo is UTC
    assert result == datetime(2026, 11, 23, 4, 20, tzinfo=UTC)


def test_negative_duration_counts_backwards(cal):
    """Does add go back in working time, landing on the earliest matching instant?"""
    assert cal.add(vn(2026, 11, 23, 8, 30), -2 * H) == vn(2026, 11, 20, 16, 0)
    assert cal.add(vn(2026, 11, 23, 7, 30), -US) == vn(2026, 11, 20, 16, 59, 59, 999999)
    assert cal.add(vn(2026, 11, 17, 14, 0), -30 * MIN) == vn(2026, 11, 17, 11, 30)


# -- between ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (vn(2026, 11, 17, 9, 0), vn(2026, 11, 17, 9, 0), timedelta(0)),
        (vn(2026, 11, 17, 12, 0), vn(2026, 11, 17, 13, 0), timedelta(0)),
        (vn(2026, 11, 17, 7, 30), vn(2026, 11, 17, 17, 0), DAY),
        (vn(2026, 11, 17, 0, 0), vn(2026, 11, 18, 0, 0), DAY),
        (vn(2026, 11, 20, 17, 0), vn(2026, 11, 23, 7, 30), timedelta(0)),
        (vn(2026, 11, 23, 7, 30), vn(2026, 11, 30, 7, 30), 4 * DAY),  # Tue 24 is off
        (vn(2026, 11, 23, 8, 30), vn(2026, 11, 20, 16, 0), -2 * H),
        (vn(2026, 11, 23, 11, 20), vn(2026, 11, 20, 16, 50), -4 * H),
        (vn(2026, 2, 13, 7, 30), vn(2026, 2, 24, 7, 30), 2 * DAY),
    ],
)
def test_between(cal, start, end, expected):
    """Is working time in [start, end) counted exactly, and negative when end comes first?"""
    assert cal.between(start, end) == expected
    assert cal.between(end, start) == -expected
    assert cal.remaining(end, start) == expected


STARTS = [
    vn(2026, 11, 17, 9, 15, 27, 123456),  # inside the morning
    vn(2026, 11, 17, 7, 30),  # opening
    vn(2026, 11, 17, 11, 30),  # lunch starts
    vn(2026, 11, 17, 12, 10),  # lunch
    vn(2026, 11, 17, 13, 30),  # afternoon opens
    vn(2026, 11, 17, 17, 0),  # closing
    vn(2026, 11, 17, 6, 0),  # before opening
    vn(2026, 11, 17, 22, 45),  # evening
    vn(2026, 11, 21, 10, 0),  # Saturday
    vn(2026, 11, 23, 16, 59, 59, 999999),  # last instant before a holiday
    vn(2026, 2, 18, 9, 0),  # Tết
    vn(2026, 2, 13, 16, 0),  # just before Tết
    vn(2026, 12, 31, 15, 0),  # the year turns over a holiday
    datetime(2026, 11, 17, 3, 0, tzinfo=UTC),  # 10:00 local, given in UTC
]
DURATIONS = [
    US,
    10 * MIN,
    3 * H + 50 * MIN,
    4 * H,
    DAY,
    8 * H,
    3 * DAY,
    timedelta(hours=37, minutes=13, seconds=7, microseconds=1),
    130 * DAY,
]
ENDS = [
    vn(2026, 11, 23, 11, 20),
    vn(2026, 11, 17, 8, 0, 0, 1),
    vn(2026, 11, 17, 15, 45),
    vn(2026, 2, 12, 16, 59, 59),
    vn(2026, 2, 23, 7, 30, 0, 1),
    vn(2027, 1, 4, 10, 0),
    vn(2025, 12, 31, 14, 0),
]


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("duration", DURATIONS)
def test_between_inverts_add(cal, start, duration):
    """Is between(s, add(s, d)) exactly d, forwards and backwards, matching a slow walk?"""
    later = cal.add(start, duration)
    assert later == reference_add(cal, start, duration)
    assert cal.between(start, later) == duration
    assert cal.between(start, cal.add(start, -duration)) == -duration


@pytest.mark.parametrize("start", STARTS)
@pytest.mark.parametrize("end", ENDS)
def test_add_inverts_between(cal, start, end):
    """Is add(s, between(s, e)) exactly e when e is inside office hours, matching a slow walk?"""
    span = cal.between(start, end)
    assert span == reference_between(cal, start, end)
    assert cal.add(start, span) == end


def test_add_of_2000_working_days(cal):
    """Does the fast path land on the 2000th working day's closing, as a day-by-day walk does?"""
    start = vn(2026, 1, 5, 7, 30)
    day, counted = start.date(), 0
    while True:
        if cal.is_working_day(day):
            counted += 1
            if counted == 2000:
                break
        day += timedelta(days=1)
    result = cal.add(start, 2000 * DAY)
    assert result == vn(day.year, day.month, day.day, 17, 0)
    assert cal.between(start, result) == 2000 * DAY
    # Back again: the earliest instant with that much working time before it is the
    # closing of the last working day before the start (1-2 Jan 2026 are off).
    assert cal.add(result, -2000 * DAY) == vn(2025, 12, 31, 17, 0)


# -- time zones ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "expected", "offset"),
    [
        # Clocks go forward on Sunday 29 Mar 2026 and back on Sunday 25 Oct 2026.
        (
            datetime(2026, 3, 27, 16, 0, tzinfo=LONDON),
            datetime(2026, 3, 30, 10, 0, tzinfo=LONDON),
            H,
        ),
        (
            datetime(2026, 10, 23, 16, 0, tzinfo=LONDON),
            datetime(2026, 10, 26, 10, 0, tzinfo=LONDON),
            timedelta(0),
        ),
    ],
)
def test_daylight_saving_zone(start, expected, offset):
    """Across a DST weekend, do office hours stay on the wall clock, with the right offset?"""
    calendar = WorkingCalendar(tz="Europe/London", periods=[(time(9), time(17))], country="GB")
    result = calendar.add(start, 2 * H)
    assert result == expected
    assert result.utcoffset() == offset
    assert calendar.between(start, result) == 2 * H


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.add(datetime(2026, 11, 17, 9, 0), H),
        lambda c: c.between(datetime(2026, 11, 17, 9, 0), vn(2026, 11, 17, 10, 0)),
        lambda c: c.is_working_time(datetime(2026, 11, 17, 9, 0)),
    ],
)
def test_naive_datetimes_are_refused(cal, call):
    """Is a naive datetime refused rather than guessed at?"""
    with pytest.raises(ValueError, match="timezone-aware"):
        call(cal)


# -- construction and config --------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tz": "Mars/Olympus_Mons"}, "time zone"),
        ({"periods": []}, "at least one"),
        ({"periods": [(time(11), time(7))]}, "start before"),
        ({"periods": [(time(7), time(12)), (time(11), time(17))]}, "overlap"),
        ({"periods": [(time(13), time(17)), (time(7), time(11))]}, "in order"),
        ({"workdays": frozenset()}, "workdays"),
        ({"workdays": frozenset({7})}, "workdays"),
        ({"country": "XX"}, "no country"),
        ({"extra_days_off": [date(2026, 1, 5)], "makeup_workdays": [date(2026, 1, 5)]}, "both"),
        ({"extra_days_off": [datetime(2026, 1, 5, tzinfo=UTC)]}, "must be dates"),
    ],
)
def test_bad_calendar_settings_are_refused(kwargs, message):
    """Does a bad setting fail when the calendar is built, saying what is wrong?"""
    with pytest.raises(ValueError, match=message):
        WorkingCalendar(**kwargs)


def test_config_defaults_match_the_app_defaults():
    """Do the app's default settings (empty lists) give the default calendar?"""
    calendar = calendar_from_config(
        {
            "TIMEZONE": "Asia/Ho_Chi_Minh",
            "OFFICE_HOURS": "07:30-11:30,13:30-17:00",
            "EXTRA_DAYS_OFF": "",
            "MAKEUP_WORKDAYS": "",
        }
    )
    assert calendar.tz == "Asia/Ho_Chi_Minh"
    assert calendar.periods == DEFAULT_PERIODS
    assert calendar.working_day == DAY
    assert calendar.extra_days_off == frozenset()
    assert calendar_from_config({}).periods == DEFAULT_PERIODS


def test_config_reads_hours_and_dates():
    """Are office hours, days off and make-up days read from strings and lists alike?"""
    calendar = calendar_from_config(
        {
            "TIMEZONE": "Asia/Bangkok",
            "OFFICE_HOURS": " 8:00-12:00 , 13:00-17:30:00 ",
            "EXTRA_DAYS_OFF": "2026-11-23, 2026-11-27,",
            "MAKEUP_WORKDAYS": ["2026-11-28", date(2026, 12, 5)],
        }
    )
    assert calendar.tz == "Asia/Bangkok"
    assert calendar.periods == ((time(8), time(12)), (time(13), time(17, 30)))
    assert calendar.extra_days_off == {date(2026, 11, 23), date(2026, 11, 27)}
    assert calendar.makeup_workdays == {date(2026, 11, 28), date(2026, 12, 5)}
    assert calendar.working_day == timedelta(hours=8, minutes=30)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"TIMEZONE": "Nowhere/City"}, "TIMEZONE"),
        ({"TIMEZONE": 7}, "TIMEZONE"),
        ({"OFFICE_HOURS": "7h30-11h30"}, "OFFICE_HOURS"),
        ({"OFFICE_HOURS": "07:30-11:30-13:00"}, "OFFICE_HOURS"),
        ({"OFFICE_HOURS": "25:00-26:00"}, "OFFICE_HOURS"),
        ({"OFFICE_HOURS": "11:30-07:30"}, "start before"),
        ({"OFFICE_HOURS": "07:30-12:00,11:00-17:00"}, "overlap"),
        ({"OFFICE_HOURS": " , "}, "OFFICE_HOURS"),
        ({"OFFICE_HOURS": 730}, "OFFICE_HOURS"),
        ({"EXTRA_DAYS_OFF": "2026-13-01"}, "EXTRA_DAYS_OFF"),
        ({"EXTRA_DAYS_OFF": "30/04/2026"}, "EXTRA_DAYS_OFF"),
        ({"MAKEUP_WORKDAYS": 20260110}, "MAKEUP_WORKDAYS"),
        ({"MAKEUP_WORKDAYS": [datetime(2026, 1, 10, tzinfo=UTC)]}, "MAKEUP_WORKDAYS"),
        ({"EXTRA_DAYS_OFF": "2026-11-28", "MAKEUP_WORKDAYS": "2026-11-28"}, "both"),
    ],
)
def test_bad_config_is_a_clear_value_error(config, message):
    """Does a bad setting raise ValueError naming the setting or the problem?"""
    with pytest.raises(ValueError, match=message):
        calendar_from_config(config)
