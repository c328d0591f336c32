"""An address for a report sent without one: a geocoder plug-in that never blocks a submission.

`GEOCODER=offline` (the default) names the area the point lies in, from our own boundaries.
`GEOCODER=nominatim` asks the Nominatim server at NOMINATIM_URL through geopy, bounded by
GEOCODER_TIMEOUT in total (not per socket operation): the call runs on a small worker pool and
the request stops waiting when the time is up. Any failure or timeout falls back to the area's
name, and the geocoder is then skipped for a cool-down so that an outage does not add its timeout
to every submission.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from reports_app.common.app_cache import per_app
from reports_app.extensions import db
from reports_app.models import Area
from workflows.placing import place_point

log = logging.getLogger(__name__)

COOL_DOWN_SECONDS = 60.0
_POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="geocoder")


@runtime_checkable
class Geocoder(Protocol):
    """Turns a point into a human-readable place, or None when it has nothing to say."""

    def reverse(self, lat: float, lon: float) -> str | None:
        """The address or place name at (lat, lon)."""


def area_label(area: Area | None) -> str | None:
    """An area's Vietnamese name with its parent's, e.g. "Phường Tân Lập, Tỉnh Đắk Lắk"."""
    if area is None:
        return None
    names = [area.name_vi]
    if area.parent is not None:
        names.append(area.parent.name_vi)
    return ", ".join(names)


class AreaNameGeocoder:
    """Offline: the name of the most specific area containing the point."""

    def reverse(self, lat: float, lon: float) -> str | None:
        """The area's name, from the boundaries in our database."""
        return area_label(place_point(db.session, lat, lon))


class NominatimGeocoder:
    """OpenStreetMap's Nominatim (or a self-hosted one) through geopy, in Vietnamese."""

    def __init__(self, url: str, *, timeout: float, user_agent: str, language: str = "vi",
                 client: Any | None = None) -> None:
        """`url` is the server's base URL, e.g. https://nominatim.openstreetmap.org."""
        parts = urlsplit(url if "://" in url else f"https://{url}")
        self.language = language
        if client is None:
            from geopy.geocoders import Nominatim  # loaded only with GEOCODER=nominatim

            client = Nominatim(
                user_agent=user_agent, domain=(parts.netloc + parts.path).rstrip("/"),
                scheme=parts.scheme or "https", timeout=timeout)
        self.client = client

    def reverse(self, lat: float, lon: float) -> str | None:
        """The address of the nearest object Nominatim knows."""
        location = self.client.reverse((lat, lon), exactly_one=True, language=self.language,
                                       zoom=18)
        return location.address if location is not None else None


class BoundedGeocoder:
    """Wraps a network geocoder: a total time limit, errors swallowed, a cool-down after them."""

    def __init__(self, inner: Geocoder, timeout: float,
                 cool_down: float = COOL_DOWN_SECONDS) -> None:
        """Give up on `inner` after `timeout` seconds; skip it for `cool_down` after a failure."""
        self.inner = inner
        self.timeout = timeout
        self.cool_down = cool_down
        self._skip_until = 0.0
        self._lock = threading.Lock()

    def reverse(self, lat: float, lon: float) -> str | None:
        """The inner geocoder's answer if it comes in time, else None."""
        with self._lock:
            if time.monotonic() < self._skip_until:
                return None
        future = _POOL.submit(self.inner.reverse, lat, lon)
        try:
            return future.result(timeout=self.timeout)
        except FutureTimeout:
            log.warning("geocoder timed out after %.1f s; using the area name", self.timeout)
        except Exception as exc:
            log.warning("geocoder failed (%s); using the area name", type(exc).__name__)
        with self._lock:
            self._skip_until = time.monotonic() + self.cool_down
        return None


def geocoder_from_config(config: Mapping[str, Any]) -> Geocoder:
    """The geocoder named by GEOCODER: `offline` (default) or `nominatim`."""
    kind = str(config.get("GEOCODER") or "offline").strip().lower()
    if kind == "offline":
        return AreaNameGeocoder()
    if kind == "nominatim":
        timeout = float(config.get("GEOCODER_TIMEOUT") or 2)
        inner = NominatimGeocoder(str(config.get("NOMINATIM_URL")), timeout=timeout,
                                  user_agent=str(config.get("GEOCODER_USER_AGENT") or
                                                 "reports_app"))
        return BoundedGeocoder(inner, timeout)
    raise ValueError(f"GEOCODER must be 'offline' or 'nominatim', not {kind!r}")


def app_geocoder() -> Geocoder:
    """The app's geocoder, built once."""
    return per_app("geocoder", geocoder_from_config)


def describe_location(lat: float, lon: float, area: Area) -> str | None:
    """An address for the point: the geocoder's, or the area's name if it has none or fails."""
    geocoder = app_geocoder()
    if isinstance(geocoder, AreaNameGeocoder):
        return area_label(area)  # what it would answer, without placing the point again
    try:
        text = geocoder.reverse(lat, lon)
    except Exception as exc:
        # A plug-in without its own guard must not fail the submission either.
        log.warning("geocoder failed (%s); using the area name", type(exc).__name__)
        text = None
    text = (text or "").strip()[:500]
    return text or area_label(area)
