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
    jobs: list[Job] = []
    return jobs
