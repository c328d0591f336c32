"""Working time: office hours minus weekends and public holidays, counted exactly and fast.

Working time is measured on the office's wall clock in the calendar's time zone: an
instant is turned into a local (date, time of day), the arithmetic runs on whole days
and on microseconds within a day, and the answer is turned back into an aware datetime.
A day is either a working day, with every office period of the calendar, or not.
Whole days are never walked one by one: each year's working days are kept once as a
sorted list of ordinals, so counting and skipping days is a bisect plus a few year hops.

Which days are off, strongest rule first:

1. the deployment's ``extra_days_off`` (a provincial day off);
2. the deployment's ``makeup_workdays`` (a Saturday worked to pay for a bridge day);
3. the country's make-up days: those the ``holidays`` package records for its
   substituted days off, plus ``VN_DECREED_SWAPS`` below for Vietnam;
4. the country's public holidays (the ``holidays`` package, plus the same table);
5. the weekly pattern (``workdays``, Monday = 0).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

DEFAULT_TZ = "Asia/Ho_Chi_Minh"
DEFAULT_PERIODS: tuple[tuple[time, time], ...] = (
    (time(7, 30), time(11, 30)),
    (time(13, 30), time(17, 0)),
)
DEFAULT_WORKDAYS = frozenset({0, 1, 2, 3, 4})
DEFAULT_COUNTRY = "VN"

# Government-decreed swaps for civil servants that holidays 0.109 does not carry:
# year -> ((day off, make-up working day), ...). Checked against that package for
# 2025 and 2026: its VN calendar already has every weekday of the 2025 Tết break
# (25 Jan-2 Feb, Announcement 6150/TB-BLĐTBXH), of the 2026 Tết break (14-22 Feb,
# the 9-day plan the Prime Minister approved), the 2025 swap of Fri 2 May for Sat
# 26 Apr and the 2026 swap of Mon 31 Aug for Sat 22 Aug. It lacks only this one:
VN_DECREED_SWAPS: dict[int, tuple[tuple[date, date], ...]] = {
    # New Year 2026 off Thu 1-Sun 4 Jan: Fri 2 Jan is worked on Sat 10 Jan instead
    # (Government Office letter 12729/VPCP-KGVX of 25 Dec 2025).
    2026: ((date(2026, 1, 2), date(2026, 1, 10)),),
}

_US = timedelta(microseconds=1)
_TIME_RE = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")


def _to_us(value: timedelta) -> int:
    """Whole microseconds, so sums never drift the way float seconds would."""
    return value // _US


def _time_us(value: time) -> int:
    """Microseconds since local midnight."""
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


@lru_cache(maxsize=256)
def _national_days(country: str, year: int) -> tuple[frozenset[int], frozenset[int]]:
    """Public holidays and make-up days of one year, as ordinals; cached for the process."""
    # Neighbouring years too: a swap can cross New Year (Mon 31 Dec 2018 was paid
    # for by Sat 5 Jan 2019), and the package files it under the holiday's year.
    years = [y for y in (year - 1, year, year + 1) if 1 <= y <= 9999]
    national = holidays.country_holidays(country, years=years)
    days_off = {d for d in national if d.year == year}
    makeup = {d for d in national.weekend_workdays if d.year == year}
    if country == "VN":
        for swap_year in (year - 1, year, year + 1):
            for off, worked in VN_DECREED_SWAPS.get(swap_year, ()):
                if off.year == year:
                    days_off.add(off)
                if worked.year == year:
                    makeup.add(worked)
    return (
        frozenset(d.toordinal() for d in days_off),
        frozenset(d.toordinal() for d in makeup),
    )


def _as_dates(values: Iterable[date], what: str) -> frozenset[date]:
    """Reject datetimes, whose date part would depend on a time zone nobody chose."""
    result = set()
    for value in values:
        if isinstance(value, datetime) or not isinstance(value, date):
            raise ValueError(f"{what} must be dates, got {value!r}")
        result.add(value)
    return frozenset(result)


class WorkingCalendar:
    """Office hours in one time zone, with the days off they exclude; build once, share."""

    __slots__ = (
        "_country",
        "_day_us",
        "_extra_off",
        "_extra_off_ords",
        "_makeup",
        "_makeup_ords",
        "_period_us",
        "_periods",
        "_tz",
        "_workdays",
        "_years",
        "_zone",
    )

    def __init__(
        self,
        tz: str = DEFAULT_TZ,
        periods: Sequence[tuple[time, time]] = DEFAULT_PERIODS,
        workdays: frozenset[int] = DEFAULT_WORKDAYS,
        country: str | None = DEFAULT_COUNTRY,
        extra_days_off: Iterable[date] = (),
        makeup_workdays: Iterable[date] = (),
    ) -> None:
        """Validate everything up front so a bad setting fails at start-up, not on a case."""
        try:
            self._zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise ValueError(f"unknown time zone {tz!r}") from exc
        self._tz = tz

        periods = tuple((start, end) for start, end in periods)
        if not periods:
            raise ValueError("at least one office period is needed")
        for start, end in periods:
            if not isinstance(start, time) or not isinstance(end, time):
                raise ValueError(f"office periods are pairs of times, got {(start, end)!r}")
            if start.tzinfo is not None or end.tzinfo is not None:
                raise ValueError("office periods are wall-clock times without a time zone")
            if start >= end:
                raise ValueError(f"office period {start}-{end} must start before it ends")
        for (_, end), (start, _) in zip(periods, periods[1:], strict=False):
            if start < end:
                raise ValueError("office periods must be in order and must not overlap")
        self._periods = periods
        self._period_us = tuple((_time_us(s), _time_us(e)) for s, e in periods)
        self._day_us = sum(e - s for s, e in self._period_us)

        workdays = frozenset(workdays)
        if not workdays or not workdays <= frozenset(range(7)):
            raise ValueError("workdays must be a non-empty set of weekday numbers 0-6")
        self._workdays = workdays

        if country is not None:
            try:
                holidays.country_holidays(country, years=())
            except NotImplementedError as exc:
                raise ValueError(f"the holidays package has no country {country!r}") from exc
        self._country = country

        self._extra_off = _as_dates(extra_days_off, "extra days off")
        self._makeup = _as_dates(makeup_workdays, "make-up workdays")
        clash = self._extra_off & self._makeup
        if clash:
            listed = ", ".join(sorted(d.isoformat() for d in clash))
            raise ValueError(f"dates both off and make-up workdays: {listed}")
        self._extra_off_ords = frozenset(d.toordinal() for d in self._extra_off)
        self._makeup_ords = frozenset(d.toordinal() for d in self._makeup)
        # year -> (sorted ordinals of its working days, the same as a set)
        self._years: dict[int, tuple[list[int], frozenset[int]]] = {}

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(tz={self._tz!r}, periods={self._periods!r}, "
            f"workdays={sorted(self._workdays)!r}, country={self._country!r}, "
            f"extra_days_off={len(self._extra_off)}, makeup_workdays={len(self._makeup)})"
        )

    @property
    def tz(self) -> str:
        """The IANA name the office clock runs on."""
        return self._tz

    @property
    def zone(self) -> ZoneInfo:
        """The zone object, for callers that build local datetimes."""
        return self._zone

    @property
    def periods(self) -> tuple[tuple[time, time], ...]:
        """Office periods of every working day, in order."""
        return self._periods

    @property
    def workdays(self) -> frozenset[int]:
        """Weekday numbers (Monday = 0) worked unless a holiday says otherwise."""
        return self._workdays

    @property
    def country(self) -> str | None:
        """Whose public holidays apply; None for none."""
        return self._country

    @property
    def extra_days_off(self) -> frozenset[date]:
        """Days off the deployment added on top of the national ones."""
        return self._extra_off

    @property
    def makeup_workdays(self) -> frozenset[date]:
        """Days the deployment declared worked on top of the national ones."""
        return self._makeup

    @property
    def working_day(self) -> timedelta:
        """Working time in one full working day (7 h 30 by default)."""
        return timedelta(microseconds=self._day_us)

    # -- days ---------------------------------------------------------------------------

    def _year(self, year: int) -> tuple[list[int], frozenset[int]]:
        """The working days of one year, computed once per calendar."""
        cached = self._years.get(year)
        if cached is not None:
            return cached
        if self._country is None:
            national_off: frozenset[int] = frozenset()
            national_makeup: frozenset[int] = frozenset()
        else:
            national_off, national_makeup = _national_days(self._country, year)
        off = national_off | self._extra_off_ords
        on = (national_makeup - self._extra_off_ords) | self._makeup_ords
        workdays = self._workdays
        first = date(year, 1, 1).toordinal()
        last = date(year, 12, 31).toordinal()
        # date.fromordinal(1) is a Monday, so (ordinal - 1) % 7 is the weekday number.
        days = [
            o
            for o in range(first, last + 1)
            if o in on or ((o - 1) % 7 in workdays and o not in off)
        ]
        cached = (days, frozenset(days))
        self._years[year] = cached
        return cached

    def _is_working_ordinal(self, ordinal: int) -> bool:
        return ordinal in self._year(date.fromordinal(ordinal).year)[1]

    def _count(self, first: int, stop: int) -> int:
        """Working days with ordinals in [first, stop), first <= stop."""
        year, stop_year = date.fromordinal(first).year, date.fromordinal(stop).year
        days = self._year(year)[0]
        if year == stop_year:
            return bisect_left(days, stop) - bisect_left(days, first)
        count = len(days) - bisect_left(days, first)
        for middle in range(year + 1, stop_year):
            count += len(self._year(middle)[0])
        return count + bisect_left(self._year(stop_year)[0], stop)

    def _nth(self, ordinal: int, index: int) -> int:
        """The working day ``index`` places from the first one on or after ``ordinal``."""
        year = date.fromordinal(ordinal).year
        days = self._year(year)[0]
        position = bisect_left(days, ordinal) + index
        while position >= len(days):
            position -= len(days)
            year += 1
            days = self._year(year)[0]
        while position < 0:
            year -= 1
            days = self._year(year)[0]
            position += len(days)
        return days[position]

    # -- instants -----------------------------------------------------------------------

    def _wall(self, at: datetime) -> tuple[int, int]:
        """Local (day ordinal, microseconds since midnight) of an aware instant."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"a timezone-aware datetime is required, got {at!r}")
        local = at.astimezone(self._zone)
        micros = (
            (local.hour * 60 + local.minute) * 60 + local.second
        ) * 1_000_000 + local.microsecond
        return local.toordinal(), micros

    def _within(self, ordinal: int, micros: int) -> int:
        """Working microseconds elapsed on that day before that time of day."""
        if not self._is_working_ordinal(ordinal):
            return 0
        total = 0
        for start, end in self._period_us:
            if micros <= start:
                break
            total += min(micros, end) - start
        return total

    def is_working_day(self, d: date) -> bool:
        """Whether the office opens that day at all (holidays, weekends and swaps applied)."""
        if isinstance(d, datetime):
            raise TypeError("pass a date; for an instant use is_working_time")
        return self._is_working_ordinal(d.toordinal())

    def is_working_time(self, at: datetime) -> bool:
        """Whether the office is open at that instant; periods are [start, end)."""
        ordinal, micros = self._wall(at)
        if not self._is_working_ordinal(ordinal):
            return False
        return any(start <= micros < end for start, end in self._period_us)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant ``duration`` of working time after ``start``, in ``start``'s zone.

        Counting begins at the next office opening when ``start`` is outside office hours.
        The earliest such instant is returned, so time used up exactly at a period's end
        gives that end (17:00), not the next opening. A zero duration returns ``start``
        unchanged; a negative one counts backwards, so ``between(start, result)`` is
        always ``duration``.
        """
        if not duration:
            return start
        ordinal, micros = self._wall(start)
        target = self._within(ordinal, micros) + _to_us(duration)
        # Working time up to the start of the k-th working day (0 = the first one on or
        # after start's day) is k * day; find the day where the target falls, then the
        # time of day, taking rest in (0, day] so an exact fit lands on a period's end.
        index, rest = divmod(target - 1, self._day_us)
        rest += 1
        day = self._nth(ordinal, index)
        for period_start, period_end in self._period_us:
            length = period_end - period_start
            if rest <= length:
                local = datetime.fromordinal(day) + timedelta(microseconds=period_start + rest)
                return local.replace(tzinfo=self._zone).astimezone(start.tzinfo)
            rest -= length
        raise AssertionError("unreachable: rest never exceeds one working day")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end); negative when end is before start, to measure lateness."""
        start_day, start_us = self._wall(start)
        end_day, end_us = self._wall(end)
        days = self._count(start_day, end_day) if start_day <= end_day else -self._count(end_day, start_day)
        micros = days * self._day_us + self._within(end_day, end_us)
        return timedelta(microseconds=micros - self._within(start_day, start_us))

    def remaining(self, deadline: datetime, now: datetime) -> timedelta:
        """Working time left until the deadline; negative once it has passed."""
        return self.between(now, deadline)


def _parse_time(text: str, key: str) -> time:
    match = _TIME_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{key}: {text.strip()!r} is not a time like 07:30")
    hour, minute, second = (int(part) for part in match.groups(default="0"))
    try:
        return time(hour, minute, second)
    except ValueError as exc:
        raise ValueError(f"{key}: {text.strip()!r} is not a valid time of day") from exc


def _parse_periods(value: Any, key: str) -> tuple[tuple[time, time], ...]:
    if isinstance(value, str):
        items: list[Any] = [part for part in value.split(",") if part.strip()]
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise ValueError(f"{key} must be a string like '07:30-11:30,13:30-17:00'")
    periods = []
    for item in items:
        if isinstance(item, str):
            bounds = item.split("-")
            if len(bounds) != 2:
                raise ValueError(f"{key}: {item.strip()!r} is not a period like 07:30-11:30")
        elif isinstance(item, Sequence) and len(item) == 2:
            bounds = list(item)
        else:
            raise ValueError(f"{key}: {item!r} is not a (start, end) pair")
        start, end = (
            bound if isinstance(bound, time) else _parse_time(str(bound), key) for bound in bounds
        )
        periods.append((start, end))
    if not periods:
        raise ValueError(f"{key} must list at least one office period")
    return tuple(periods)


def _parse_dates(value: Any, key: str) -> list[date]:
    if value is None:
        return []
    if isinstance(value, str):
        items: list[Any] = [part.strip() for part in value.split(",") if part.strip()]
    elif isinstance(value, Iterable):
        items = list(value)
    else:
        raise ValueError(f"{key} must be comma-separated ISO dates or a list of dates")
    dates = []
    for item in items:
        if isinstance(item, datetime):
            raise ValueError(f"{key}: {item!r} is a datetime, not a date")
        if isinstance(item, date):
            dates.append(item)
            continue
        try:
            dates.append(date.fromisoformat(str(item).strip()))
        except ValueError as exc:
            raise ValueError(f"{key}: {item!r} is not an ISO date like 2026-01-10") from exc
    return dates


def calendar_from_config(config: Mapping[str, Any]) -> WorkingCalendar:
    """Build the calendar from the app config so every process counts time the same way."""
    tz = config.get("TIMEZONE") or DEFAULT_TZ
    if not isinstance(tz, str):
        raise ValueError(f"TIMEZONE must be an IANA name like {DEFAULT_TZ!r}, got {tz!r}")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"TIMEZONE: unknown time zone {tz!r}") from exc
    periods = _parse_periods(config.get("OFFICE_HOURS") or DEFAULT_PERIODS, "OFFICE_HOURS")
    extra = _parse_dates(config.get("EXTRA_DAYS_OFF"), "EXTRA_DAYS_OFF")
    makeup = _parse_dates(config.get("MAKEUP_WORKDAYS"), "MAKEUP_WORKDAYS")
    try:
        return WorkingCalendar(tz=tz, periods=periods, extra_days_off=extra, makeup_workdays=makeup)
    except ValueError as exc:
        raise ValueError(f"working calendar config: {exc}") from exc
