"""ISO 8601 durations for SLA policies: a 'day' on the deadline track is one working day."""

from __future__ import annotations

import re

from workflows.states import Track

WORKING_DAY_MINUTES = 450
"""07:30–11:30 and 13:30–17:00: seven and a half working hours."""

_PATTERN = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+(?:\.\d+)?)H)?(?:(?P<minutes>\d+)M)?)?$"
)


def parse_duration(text: str, track: Track) -> int:
    """Minutes in an ISO 8601 duration (`PT4H`, `P3D`); days are working days on the deadline track."""
    match = _PATTERN.match(text.strip().upper())
    if not match or text.strip().upper() in ("P", "PT"):
        raise ValueError(f"not an ISO 8601 duration: {text!r}")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    day = WORKING_DAY_MINUTES if track == Track.DEADLINE else 24 * 60
    week = 5 * day if track == Track.DEADLINE else 7 * day
    minutes = parts["weeks"] * week + parts["days"] * day + parts["hours"] * 60 + parts["minutes"]
    if minutes <= 0:
        raise ValueError("a duration must be positive")
    return round(minutes)


def format_duration(minutes: int, track: Track) -> str:
    """The shortest ISO 8601 text for a number of minutes, in the track's day length."""
    day = WORKING_DAY_MINUTES if track == Track.DEADLINE else 24 * 60
    days, rest = divmod(minutes, day)
    hours, mins = divmod(rest, 60)
    text = "P" + (f"{days}D" if days else "")
    if hours or mins:
        text += "T" + (f"{hours}H" if hours else "") + (f"{mins}M" if mins else "")
    return text if text != "P" else "PT0M"
