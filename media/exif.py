"""Read where, when and how a photo was taken from its EXIF, without ever raising.

Citizens' phones write every kind of EXIF, and some of it is broken. Each field is read on its own;
anything missing, of the wrong type, with a zero denominator or out of range becomes None (or 1
for the orientation), so a bad field never costs the others and never refuses the photo.

Decisions: a GPS fix needs both coordinates with their N/S and E/W references (no guessing the
hemisphere); exactly (0, 0) and a GPSStatus of "V" (void) mean no fix; altitude is kept between
-1000 m and 10000 m. The capture time is DateTimeOriginal, else DateTimeDigitized, else the
file's DateTime: some phones (the Nokia 8.3's HEIF) write only that one, and although editing
apps rewrite it, a probable time beats none. For HEIF, pillow-heif has already applied the
container's rotation and reset the EXIF orientation to 1, so `orientation` is always what is
still to be applied to the decoded pixels.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from numbers import Real
from typing import Any, TypeVar

from PIL import ExifTags, Image

from media.decode import quiet_decoder_warnings

_T = TypeVar("_T")

_ORIENTATION = 0x0112
_MAKE = 0x010F
_MODEL = 0x0110
_DATETIME = 0x0132
_DATETIME_ORIGINAL = 0x9003
_DATETIME_DIGITIZED = 0x9004
_OFFSET_TIME = 0x9010
_OFFSET_TIME_ORIGINAL = 0x9011
_OFFSET_TIME_DIGITIZED = 0x9012
_SUBSEC = 0x9290
_SUBSEC_ORIGINAL = 0x9291
_SUBSEC_DIGITIZED = 0x9292
_GPS_LATITUDE_REF = 1
_GPS_LATITUDE = 2
_GPS_LONGITUDE_REF = 3
_GPS_LONGITUDE = 4
_GPS_ALTITUDE_REF = 5
_GPS_ALTITUDE = 6
_GPS_STATUS = 9

_ALTITUDE_RANGE_M = (-1000.0, 10000.0)
_TEXT_MAX = 64
_DATETIME_TEXT = re.compile(r"(\d{4})[:/-](\d{2})[:/-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"([+-])(\d{2}):(\d{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class PhotoMetadata:
    """What the pipeline keeps from EXIF: location, capture time, orientation and camera."""

    latitude: float | None = None
    longitude: float | None = None
    altitude_m: float | None = None
    captured_at: datetime | None = None
    """Aware when OffsetTimeOriginal is present, else naive in the camera's local time."""
    orientation: int = 1
    camera_make: str | None = None
    camera_model: str | None = None


def read_metadata(image: Image.Image) -> PhotoMetadata:
    """Extract the fields a report needs, so a damaged EXIF block costs only the damaged fields."""
    with quiet_decoder_warnings():
        exif = _guard(image.getexif, None)
        if exif is None:
            return PhotoMetadata()
        gps = _guard(lambda: exif.get_ifd(ExifTags.IFD.GPSInfo), {})
        details = _guard(lambda: exif.get_ifd(ExifTags.IFD.Exif), {})
        position = _guard(lambda: _position(gps), None)
        return PhotoMetadata(
            latitude=position[0] if position else None,
            longitude=position[1] if position else None,
            altitude_m=_guard(lambda: _altitude(gps), None),
            captured_at=_guard(lambda: _captured_at(exif, details), None),
            orientation=_guard(lambda: _orientation(exif), 1),
            camera_make=_guard(lambda: _text(exif.get(_MAKE)), None),
            camera_model=_guard(lambda: _text(exif.get(_MODEL)), None),
        )


def _guard(read: Callable[[], _T], default: _T) -> _T:
    """Run one field reader; any exception from a malformed block means the field is absent."""
    try:
        return read()
    except Exception:
        return default


def _position(gps: Mapping[int, Any]) -> tuple[float, float] | None:
    """Signed decimal degrees, or None unless both axes and their references are valid."""
    if _text(gps.get(_GPS_STATUS)) == "V":
        return None
    latitude = _signed(gps.get(_GPS_LATITUDE), gps.get(_GPS_LATITUDE_REF), "N", "S")
    longitude = _signed(gps.get(_GPS_LONGITUDE), gps.get(_GPS_LONGITUDE_REF), "E", "W")
    if latitude is None or longitude is None:
        return None
    if not (-90.0 <= latitude <= 90.0 and -180.0 <= longitude <= 180.0):
        return None
    if latitude == 0.0 and longitude == 0.0:
        return None
    return latitude, longitude


def _signed(value: Any, ref: Any, positive: str, negative: str) -> float | None:
    """Degrees from a DMS value, negated for the S or W reference."""
    degrees = _dms(value)
    hemisphere = (_text(ref) or "").upper()
    if degrees is None or hemisphere not in (positive, negative):
        return None
    return -degrees if hemisphere == negative else degrees


def _dms(value: Any) -> float | None:
    """Decimal degrees from (degrees, minutes, seconds); minutes may carry the fraction."""
    parts = value if isinstance(value, tuple | list) else (value,)
    if not 1 <= len(parts) <= 3:
        return None
    numbers = [_number(part) for part in parts]
    if any(n is None or n < 0 for n in numbers):
        return None
    degrees, minutes, seconds = ([*numbers, 0.0, 0.0])[:3]
    if minutes >= 60 or seconds >= 60:
        return None
    return degrees + minutes / 60 + seconds / 3600


def _number(value: Any) -> float | None:
    """A finite float from an EXIF rational or integer; NaN (zero denominator) and text are None."""
    if isinstance(value, bool) or not isinstance(value, Real):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _altitude(gps: Mapping[int, Any]) -> float | None:
    """Metres above sea level (negative below), within a range a street photo can have."""
    altitude = _number(gps.get(_GPS_ALTITUDE))
    if altitude is None:
        return None
    ref = gps.get(_GPS_ALTITUDE_REF, 0)
    below = ref in (1, b"\x01") or (isinstance(ref, bytes) and ref[:1] == b"\x01")
    altitude = -altitude if below else altitude
    low, high = _ALTITUDE_RANGE_M
    return altitude if low <= altitude <= high else None


def _captured_at(primary: Mapping[int, Any], details: Mapping[int, Any]) -> datetime | None:
    """DateTimeOriginal with its sub-seconds and offset, else DateTimeDigitized, else DateTime."""
    for tags, stamp, subsec, offset in (
        (details, _DATETIME_ORIGINAL, _SUBSEC_ORIGINAL, _OFFSET_TIME_ORIGINAL),
        (details, _DATETIME_DIGITIZED, _SUBSEC_DIGITIZED, _OFFSET_TIME_DIGITIZED),
        (primary, _DATETIME, _SUBSEC, _OFFSET_TIME),
    ):
        moment = _guard(lambda t=tags, s=stamp: _datetime(t.get(s)), None)
        if moment is None:
            continue
        micro = _guard(lambda s=subsec: _microseconds(details.get(s)), 0)
        zone = _guard(lambda s=offset: _zone(details.get(s)), None)
        return moment.replace(microsecond=micro, tzinfo=zone)
    return None


def _datetime(value: Any) -> datetime | None:
    """Parse the EXIF 'YYYY:MM:DD HH:MM:SS' text; blanks and zeros are None."""
    match = _DATETIME_TEXT.match(_text(value) or "")
    if not match:
        return None
    return datetime(*(int(group) for group in match.groups()))


def _microseconds(value: Any) -> int:
    """SubSecTime digits as microseconds ('5' is half a second)."""
    digits = _text(value) or ""
    return int((digits + "000000")[:6]) if digits.isdigit() else 0


def _zone(value: Any) -> timezone | None:
    """A fixed offset from '+07:00', or None when absent or malformed."""
    match = _OFFSET.fullmatch(_text(value) or "")
    if not match:
        return None
    sign = -1 if match.group(1) == "-" else 1
    hours, minutes = int(match.group(2)), int(match.group(3))
    if hours > 14 or minutes >= 60:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _orientation(exif: Mapping[int, Any]) -> int:
    """The EXIF orientation 1..8; anything else means upright."""
    value = exif.get(_ORIENTATION, 1)
    if isinstance(value, bool) or not isinstance(value, int):
        return 1
    return value if 1 <= value <= 8 else 1


def _text(value: Any) -> str | None:
    """Printable text from an EXIF ASCII value, without NULs or padding; empty is None."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    cleaned = _CONTROL.sub(" ", value).strip()
    return cleaned[:_TEXT_MAX] or None
