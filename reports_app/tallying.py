"""Keeping the figures' tallies in step with every flush of cases (workflows/tallies.py)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy.orm import Session

from workflows.calendar import DEFAULT_TZ
from workflows.tallies import classify_pending, record_changes


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def tally_zone() -> ZoneInfo:
    """The province's zone, whose days and months the tallies are kept by."""
    name = current_app.config.get("TIMEZONE") if has_app_context() else None
    return _zone(name or DEFAULT_TZ)


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    classify_pending(session)


def _after_flush(session: Session, flush_context: Any) -> None:
    record_changes(session, tally_zone())


def install_tally_hooks() -> None:
    """Once per process, for every session: the app's, the jobs', the scripts'."""
    if not sa.event.contains(Session, "before_flush", _before_flush):
        sa.event.listen(Session, "before_flush", _before_flush)
        sa.event.listen(Session, "after_flush", _after_flush)
