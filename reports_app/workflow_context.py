"""The workflow's settings for this app: one working calendar per process, and the clock."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from reports_app.common.app_cache import per_app
from reports_app.db import utcnow
from workflows.calendar import WorkingCalendar, calendar_from_config
from workflows.operations import WorkflowContext


def app_calendar() -> WorkingCalendar:
    """The office calendar from the config, built once per app."""
    return per_app("working_calendar", calendar_from_config)


def workflow_context(now: datetime | None = None) -> WorkflowContext:
    """Context for one action or job run at `now` (default: the current instant)."""
    return WorkflowContext(
        calendar=app_calendar(), now=now or utcnow(),
        feedback_window=timedelta(days=current_app.config.get("FEEDBACK_WINDOW_DAYS", 7)),
        tz=current_app.config["TIMEZONE"])
