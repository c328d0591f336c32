"""Checks on a new report before it is filed: where it is, when the photo was taken, and the
answers to the category's own questions. No HTTP: the citizen API and Open311 share these rules.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from geographiclib.geodesic import Geodesic
from sqlalchemy.orm import Session

from reports_app.models import Area
from workflows.machine import WorkflowError
from workflows.placing import place_point
from workflows.text import disallowed_character

Point = tuple[float, float]
"""(latitude, longitude) in WGS84 degrees."""

LOCATION_FROM_APP = "app"
LOCATION_FROM_EXIF = "exif"
EXIF_CLOCK_SKEW = timedelta(days=1)
"""Camera clocks drift and time zones are guessed; a capture time further ahead is nonsense."""

STRING_MAX = 200
TEXT_MAX = 4000
LIST_MAX = 50


class OutsideServiceArea(WorkflowError):
    """The point lies in no active area: nobody here can handle it (API: 422)."""

    code = "outside_service_area"

    def __init__(self, lat: float, lon: float) -> None:
        self.lat = lat
        self.lon = lon
        self.errors = {"lat": ["The location is outside the service area."],
                       "lon": ["The location is outside the service area."]}
        super().__init__(f"({lat:.6f}, {lon:.6f}) is outside the service area")


class InvalidAttributes(WorkflowError):
    """Answers that do not fit the category's fields (API: 422, errors under `attributes`)."""

    code = "validation_error"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = {"attributes": errors}
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


@dataclass(frozen=True)
class Location:
    """Where a report is: the point, where it came from, and how far the photo's GPS disagrees."""

    lat: float
    lon: float
    source: str
    mismatch_m: float | None = None


def distance_m(a: Point, b: Point) -> float:
    """Geodesic distance in metres on the WGS84 ellipsoid (Karney's method, as geopy's)."""
    # geographiclib directly, asking for the distance alone: half the time of geopy's
    # `geodesic(a, b)`, which builds an ellipsoid and computes azimuths too (the nearby
    # search measures fifty of these per request).
    return float(Geodesic.WGS84.Inverse(a[0], a[1], b[0], b[1], Geodesic.DISTANCE)["s12"])


def choose_location(app_point: Point | None, photo_points: Sequence[Point | None],
                    mismatch_threshold_m: float) -> Location | None:
    """The app's position, else the first photo GPS fix; flag a disagreement over the threshold.

    The app's fix wins because it is taken when the report is sent; a photo may come from the
    gallery. A disagreement is kept (not refused) so that an operator can judge it.
    """
    photo = next((p for p in photo_points if p is not None), None)
    if app_point is None:
        if photo is None:
            return None
        return Location(photo[0], photo[1], LOCATION_FROM_EXIF)
    mismatch = None
    if photo is not None:
        gap = distance_m(app_point, photo)
        if gap > mismatch_threshold_m:
            mismatch = round(gap, 1)
    return Location(app_point[0], app_point[1], LOCATION_FROM_APP, mismatch)


def place_report(session: Session, lat: float, lon: float) -> Area:
    """The most specific active area containing the point, or OutsideServiceArea."""
    area = place_point(session, lat, lon)
    if area is None:
        raise OutsideServiceArea(lat, lon)
    return area


def exif_capture_time(value: datetime | None, tz: str, now: datetime) -> datetime | None:
    """A photo's EXIF capture time in UTC; a naive one is taken as local time in `tz`.

    A time in the future (beyond clock skew) is dropped: it says the camera clock is wrong.
    """
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    if value > now + EXIF_CLOCK_SKEW:
        return None
    return value.astimezone(UTC)


def clean_attributes(fields: Sequence[Mapping[str, Any]], values: Mapping[str, Any]
                     ) -> dict[str, Any]:
    """Answers checked against the category's field list (Open311 datatypes); all errors at once."""
    by_code = {f["code"]: f for f in fields if f.get("code")}
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    for code in values:
        if code not in by_code:
            errors[str(code)] = ["Unknown field for this category."]
    for code, spec in by_code.items():
        value = values.get(code)
        if _blank(value):
            if spec.get("required"):
                errors[code] = ["Missing data for required field."]
            continue
        try:
            clean[code] = _clean_value(spec, value)
        except ValueError as exc:
            errors[code] = [str(exc)]
    if errors:
        raise InvalidAttributes(errors)
    return clean


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _clean_value(spec: Mapping[str, Any], value: Any) -> Any:
    """One answer in its stored form, or ValueError with the message for the citizen."""
    datatype = spec.get("datatype", "string")
    keys = [v["key"] for v in spec.get("values") or []]
    if datatype in ("string", "text"):
        limit = STRING_MAX if datatype == "string" else TEXT_MAX
        return _text(value, limit, multiline=datatype == "text")
    if datatype == "number":
        return _number(value)
    if datatype == "datetime":
        return _datetime(value)
    if datatype == "singlevaluelist":
        if not isinstance(value, str) or value not in keys:
            raise ValueError(f"Must be one of: {', '.join(keys)}.")
        return value
    if datatype == "multivaluelist":
        if not isinstance(value, list) or len(value) > LIST_MAX or not all(
                isinstance(v, str) and v in keys for v in value):
            raise ValueError(f"Must be a list of: {', '.join(keys)}.")
        return list(dict.fromkeys(value))
    raise ValueError(f"Unsupported field type {datatype!r}.")


def _text(value: Any, limit: int, *, multiline: bool) -> str:
    if not isinstance(value, str):
        raise ValueError("Not a valid string.")
    value = unicodedata.normalize("NFC", value).strip()
    refusal = disallowed_character(value, multiline=multiline)
    if refusal:
        raise ValueError(refusal)
    if len(value) > limit:
        raise ValueError(f"Longer than maximum length {limit}.")
    return value


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise ValueError("Not a valid number.")
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError("Not a valid number.") from None
    if not math.isfinite(number):
        raise ValueError("Not a valid number.")
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _datetime(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("Not a valid datetime.")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError("Not a valid datetime.") from None
    if parsed.tzinfo is None:
        raise ValueError("A time zone offset is required.")
    return parsed.isoformat()
