"""Turning query arguments into a window and filters, and the public summary's short cache."""

from __future__ import annotations

import threading
import time
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app

from reports_app.errors import abort
from reports_app.extensions import db
from reports_app.models import Agency, Area, Category
from workflows.stats import Filters, Window, compute_summary

PUBLIC_CACHE_SECONDS = 300
"""How long one process reuses a public summary (STATS_PUBLIC_CACHE_SECONDS overrides)."""


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=zone)


def window_from(args: dict[str, Any], now: datetime) -> Window:
    """[from, to): dates are midnights in the province's zone; default: to = now, from = the
    1 January before `to` (the year so far)."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    start = args.get("from_")
    end = args.get("to")
    end_at = _instant(end, zone) if end is not None else now
    year = (end_at - timedelta(microseconds=1)).astimezone(zone).year
    start_at = _instant(start, zone) if start is not None else datetime(year, 1, 1, tzinfo=zone)
    if start_at >= end_at:
        abort(422, "validation_error", errors={"from": ["Must be before `to` (default: now)."]})
    return Window(start_at, end_at)


def filters_from(args: dict[str, Any]) -> Filters:
    """The filters, each naming a row that exists (422 otherwise)."""
    errors = {}
    for name, model in (("agency", Agency), ("category", Category), ("area", Area)):
        key = args.get(name)
        if key is not None and db.session.get(model, key) is None:
            errors[name] = [f"No {name} with id {key}."]
    if errors:
        abort(422, "validation_error", errors=errors)
    return Filters(agency_id=args.get("agency"), category_id=args.get("category"),
                   area_id=args.get("area"))


_lock = threading.Lock()


def public_summary(args: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Province totals and headline; the same window is computed once per few minutes."""
    ttl = float(current_app.config.get("STATS_PUBLIC_CACHE_SECONDS", PUBLIC_CACHE_SECONDS))
    key = (args.get("from_"), args.get("to"))
    cache: dict[Any, tuple[float, dict[str, Any]]] = current_app.extensions.setdefault(
        "stats_public_cache", {})
    with _lock:
        hit = cache.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
    summary = compute_summary(db.session, window_from(args, now), now,
                              tz=current_app.config["TIMEZONE"]).as_dict()
    data = {k: summary[k] for k in ("window", "as_of", "figures", "headline")}
    if ttl > 0:
        with _lock:
            if len(cache) > 256:  # a bound, not an LRU: odd windows do not pile up
                cache.clear()
            cache[key] = (time.monotonic() + ttl, data)
    return data
