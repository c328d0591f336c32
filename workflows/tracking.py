"""Tracking codes a citizen can read over the phone: PA-YYMM-XXXX without look-alike letters."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

# No 0/O, 1/I/L or U/V pairs: every character is unambiguous when read aloud or handwritten.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
_TYPED = re.compile(r"^PA-?(\d{4})-?([0-9A-Z]{4,8})$")


def tracking_code(now: datetime, tz: str = "Asia/Ho_Chi_Minh", length: int = 4) -> str:
    """A new random code for a report submitted at `now`, e.g. PA-2611-7KQ3."""
    local = now.astimezone(ZoneInfo(tz))
    suffix = "".join(secrets.choice(ALPHABET) for _ in range(length))
    return f"PA-{local:%y%m}-{suffix}"


def normalise_code(text: str) -> str | None:
    """The canonical code for what a person typed ('pa 2611 7kq3'), or None if it is not one."""
    match = _TYPED.match("".join(text.split()).upper())
    return f"PA-{match[1]}-{match[2]}" if match else None
