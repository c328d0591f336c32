"""Scheduled jobs, declared as data with stable ids; the scheduler registers this list."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from workflows.calendar import WorkingCalendar


@dataclass(frozen=True)
class JobContext:
    """What a job run gets: the instant it runs for, the working calendar, the settings."""

    now: datetime
    calendar: WorkingCalendar
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    """One periodic job: `run(session, ctx)` flushes; the scheduler commits after it."""

    id: str
    run: Callable[[Session, JobContext], Any]
    trigger: str
    trigger_args: Mapping[str, Any]
    description: str


def declared_jobs() -> list[Job]:
    """Every periodic job of the system, in the order they are registered."""
    from workflows.sweeper import sweep_deadlines

    jobs: list[Job] = [
        Job("sweep_deadlines", sweep_deadlines, "interval", {"seconds": 60},
            "Record SLA warnings and breaches once each and escalate them through the outbox."),
    ]
    from workflows.dispatch import dispatch_outbox

    jobs.append(Job("dispatch_outbox", dispatch_outbox, "interval", {"seconds": 30},
                    "Deliver queued notifications through the configured channels, with retries."))
    from workflows.feedback import close_unrated
    from workflows.monthly import build_monthly_summary

    jobs.append(Job("close_unrated", close_unrated, "interval", {"minutes": 10},
                    "Close resolved cases whose feedback window passed without a rating."))
    jobs.append(Job("build_monthly_summary", build_monthly_summary, "cron",
                    {"day": 1, "hour": 0, "minute": 30},
                    "Keep the summary of the month that just ended (never overwritten)."))
    from workflows.tallies import compact_tallies

    jobs.append(Job("compact_tallies", compact_tallies, "interval", {"seconds": 60},
                    "Fold the figures' tally deltas into the tallies (summaries stay exact "
                    "either way; this keeps them fast)."))
    from workflows.housekeeping import purge_idempotency_keys, remove_orphan_photos

    jobs.append(Job("purge_idempotency_keys", purge_idempotency_keys, "interval", {"hours": 1},
                    "Delete submission retry keys past their expiry."))
    # Nightly: it lists the whole photo storage (one S3 LIST per 1,000 objects).
    jobs.append(Job("remove_orphan_photos", remove_orphan_photos, "cron", {"hour": 3, "minute": 15},
                    "Delete photo objects that no case uses (left by killed requests)."))
    return jobs
