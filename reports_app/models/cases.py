"""Cases (one row per report), their timeline, photos, followers and SLA clocks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reports_app.db import Base, JSONType, enum_column, utcnow
from reports_app.models.accounts import User
from reports_app.models.reference import Agency, Area, Category
from workflows.states import CaseState, Priority, Track

FIGURE_COLUMNS = ["figure_class", "agency_id", "category_id", "area_id", "due_at",
                  "resolve_working_minutes"]
"""What the figures read of a case (workflows/stats.py), carried by their indexes."""

POSTGRESQL_ONLY = {"only_on": "postgresql"}
"""Index info: created by the migrations on PostgreSQL only, and compared there only."""


class Case(Base):
    """A citizen's report; called a case once staff work on it. `version` guards concurrent edits."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.Index("ix_cases_agency_state_due", "agency_id", "state", "due_at"),
        sa.Index("ix_cases_state_due", "state", "due_at"),
        # The public map counts and pages a viewport from this index alone (PostgreSQL).
        sa.Index("ix_cases_lat_lon", "lat", "lon", postgresql_include=[
            "is_public", "state", "reject_reason", "updated_at", "id"]),
        # The figures (workflows/stats.py) read the cases they need from these indexes alone
        # on PostgreSQL (index-only scans), never the wide rows: a window's cases, one
        # agency's, category's or area's (these also serve the foreign keys), and the open
        # ones past a deadline.
        sa.Index("ix_cases_submitted_at", "submitted_at", postgresql_include=FIGURE_COLUMNS),
        sa.Index("ix_cases_agency_submitted", "agency_id", "submitted_at",
                 postgresql_include=FIGURE_COLUMNS),
        sa.Index("ix_cases_category_submitted", "category_id", "submitted_at",
                 postgresql_include=FIGURE_COLUMNS),
        sa.Index("ix_cases_area_submitted", "area_id", "submitted_at",
                 postgresql_include=FIGURE_COLUMNS),
        sa.Index("ix_cases_open_due", "due_at",
                 postgresql_include=["submitted_at", "agency_id", "category_id", "area_id"],
                 postgresql_where=sa.text("figure_class = 'open'"),
                 sqlite_where=sa.text("figure_class = 'open'")),
        # Resolved cases whose feedback window has passed (the close_unrated job).
        sa.Index("ix_cases_state_resolved", "state", "resolved_at"),
        sa.Index("ix_cases_reporter", "reporter_id", "submitted_at"),
        sa.Index("ix_cases_public_state", "is_public", "state", "updated_at"),
        # PostgreSQL only (migration 0006): what the hot paths need at national scale.
        sa.Index("ix_cases_search_trgm", "search_text", postgresql_using="gin",
                 postgresql_ops={"search_text": "gin_trgm_ops"}, info=POSTGRESQL_ONLY),
        sa.Index("ix_cases_open_point", "lat", "lon", postgresql_include=["id", "category_id"],
                 postgresql_where=sa.text(
                     "is_public IS true AND state IN "
                     "('submitted', 'assigned', 'in_progress', 'need_info')"),
                 info=POSTGRESQL_ONLY),
        sa.Index("ix_cases_public_feed", "updated_at", "id",
                 postgresql_include=["lat", "lon", "state", "reject_reason", "category_id"],
                 postgresql_where=sa.text("is_public IS true"), info=POSTGRESQL_ONLY),
        sa.Index("ix_cases_agency_queue", "agency_id", "due_at", "submitted_at", "id",
                 postgresql_include=["state"], info=POSTGRESQL_ONLY),
        sa.Index("ix_cases_due_queue", "due_at", "submitted_at", "id",
                 postgresql_include=["state", "agency_id"],
                 postgresql_where=sa.text("due_at IS NOT NULL"), info=POSTGRESQL_ONLY),
        sa.CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name="lat_range"),
        sa.CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name="lon_range"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    tracking_code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    source: Mapped[str] = mapped_column(sa.String(20), default="app")
    state: Mapped[CaseState] = mapped_column(enum_column(CaseState, "state"))
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, "priority"))
    track: Mapped[Track] = mapped_column(enum_column(Track, "track"))
    version: Mapped[int] = mapped_column(default=1)

    reporter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Contact given without an account (Open311 clients, hotline calls entered by operators).
    reporter_name: Mapped[str | None] = mapped_column(sa.String(200))
    reporter_phone: Mapped[str | None] = mapped_column(sa.String(30))
    reporter_email: Mapped[str | None] = mapped_column(sa.String(254))
    is_anonymous: Mapped[bool] = mapped_column(default=False)
    is_public: Mapped[bool] = mapped_column(default=True)

    # active_history: the tallies (workflows/tallies.py) need the previous value of every
    # column a case's contribution to the figures is made of.
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id"),
                                             active_history=True)
    area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), active_history=True)
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"),
                                                  active_history=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    reject_reason: Mapped[str | None] = mapped_column(sa.String(40))

    description: Mapped[str] = mapped_column(sa.Text)
    # Lower-case text without diacritics ("đường" → "duong") so search matches either way.
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    accuracy_m: Mapped[float | None] = mapped_column(sa.Float)
    location_source: Mapped[str | None] = mapped_column(sa.String(20))
    # Distance between the app's position and the photo's GPS when they disagree (for operators).
    location_mismatch_m: Mapped[float | None] = mapped_column(sa.Float)
    address: Mapped[str | None] = mapped_column(sa.String(500))
    captured_at: Mapped[datetime | None] = mapped_column()

    submitted_at: Mapped[datetime] = mapped_column(default=utcnow, active_history=True)
    assigned_at: Mapped[datetime | None] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    rejected_at: Mapped[datetime | None] = mapped_column()

    # The running step's deadline, for queues sorted by due time and the overdue filter.
    due_at: Mapped[datetime | None] = mapped_column()
    due_step: Mapped[str | None] = mapped_column(sa.String(10))
    # The latest resolve round's deadlines: the original one decides "on time" in the figures.
    resolve_due_at: Mapped[datetime | None] = mapped_column()
    resolve_original_due_at: Mapped[datetime | None] = mapped_column()
    pending_extension_due_at: Mapped[datetime | None] = mapped_column()
    extension_granted: Mapped[bool] = mapped_column(default=False)
    resolution_round: Mapped[int] = mapped_column(default=0)
    public_reply: Mapped[str | None] = mapped_column(sa.Text)
    latest_rating: Mapped[str | None] = mapped_column(sa.String(20))
    # Working time from submission to the latest resolution, fixed when the case is resolved,
    # so the median and 90th percentile are plain SQL over a column (workflows/stats.py).
    resolve_working_minutes: Mapped[int | None] = mapped_column(active_history=True)
    # How the case counts in the figures (workflows/counting.py), set at every flush.
    figure_class: Mapped[str] = mapped_column(sa.String(30), active_history=True)

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    category: Mapped[Category] = relationship()
    area: Mapped[Area | None] = relationship()
    agency: Mapped[Agency | None] = relationship()
    duplicate_of: Mapped[Case | None] = relationship(remote_side=[id])
    photos: Mapped[list[CasePhoto]] = relationship(back_populates="case",
                                                   order_by="CasePhoto.id")
    events: Mapped[list[CaseEvent]] = relationship(back_populates="case",
                                                   order_by="CaseEvent.id")

    __mapper_args__ = {"version_id_col": version}


class CaseEvent(Base):
    """One line of a case's timeline; append-only."""

    __tablename__ = "case_events"
    __table_args__ = (sa.Index("ix_case_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(sa.String(30))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    party: Mapped[str] = mapped_column(sa.String(20))
    from_state: Mapped[str | None] = mapped_column(sa.String(20))
    to_state: Mapped[str] = mapped_column(sa.String(20))
    note: Mapped[str | None] = mapped_column(sa.Text)
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    is_public: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    photos: Mapped[list[CasePhoto]] = relationship(back_populates="event")


class CasePhoto(Base):
    """A photo of a case: the citizen's evidence, an answer to a question, or the 'after' proof."""

    __tablename__ = "case_photos"

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_events.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10), default="report")
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    content_type: Mapped[str] = mapped_column(sa.String(40))
    width: Mapped[int]
    height: Mapped[int]
    original_key: Mapped[str] = mapped_column(sa.String(200))
    display_key: Mapped[str] = mapped_column(sa.String(200))
    thumb_key: Mapped[str] = mapped_column(sa.String(200))
    # Kept privately as evidence; never in public output.
    exif_lat: Mapped[float | None] = mapped_column(sa.Float)
    exif_lon: Mapped[float | None] = mapped_column(sa.Float)
    exif_captured_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped[Case] = relationship(back_populates="photos")
    event: Mapped[CaseEvent | None] = relationship(back_populates="photos")


class CaseFollower(Base):
    """A citizen who follows a case: the reporter of a duplicate merged into it."""

    __tablename__ = "case_followers"
    __table_args__ = (sa.UniqueConstraint("case_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseClock(Base):
    """One SLA clock of a case: a step (triage, accept, resolve) in one round."""

    __tablename__ = "case_clocks"
    __table_args__ = (
        # The sweeper reads only running clocks whose next check is due.
        sa.Index("ix_case_clocks_next_check", "next_check_at",
                 postgresql_where=sa.text("stopped_at IS NULL AND paused_at IS NULL"),
                 sqlite_where=sa.text("stopped_at IS NULL AND paused_at IS NULL")),
        sa.Index("ix_case_clocks_case", "case_id", "step"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(sa.String(10))
    round: Mapped[int] = mapped_column(default=1)
    track: Mapped[Track] = mapped_column(enum_column(Track, "track"))
    allowed_minutes: Mapped[int]
    warn_ratio: Mapped[float] = mapped_column(sa.Float, default=0.75)
    started_at: Mapped[datetime]
    warn_at: Mapped[datetime]
    due_at: Mapped[datetime]
    original_due_at: Mapped[datetime]
    paused_at: Mapped[datetime | None] = mapped_column()
    stopped_at: Mapped[datetime | None] = mapped_column()
    # min(warn_at, due_at) not yet recorded; NULL once both are recorded.
    next_check_at: Mapped[datetime | None] = mapped_column()

    case: Mapped[Case] = relationship()


class SlaEvent(Base):
    """A warning or breach, recorded once per case, step and deadline."""

    __tablename__ = "sla_events"
    __table_args__ = (
        sa.UniqueConstraint("case_id", "step", "kind", "due_at"),
        sa.Index("ix_sla_events_recorded", "kind", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    # Looked up by case through the unique key, which starts with it (no index of its own).
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"))
    clock_id: Mapped[int] = mapped_column(sa.ForeignKey("case_clocks.id", ondelete="CASCADE"))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    step: Mapped[str] = mapped_column(sa.String(10))
    kind: Mapped[str] = mapped_column(sa.String(10))
    due_at: Mapped[datetime]
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    acknowledgement_note: Mapped[str | None] = mapped_column(sa.Text)

    case: Mapped[Case] = relationship()
    clock: Mapped[CaseClock] = relationship()


class Feedback(Base):
    """The citizen's rating of one resolution round; the latest counts in the figures."""

    __tablename__ = "feedback"
    __table_args__ = (sa.UniqueConstraint("case_id", "resolution_round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    resolution_round: Mapped[int]
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    rating: Mapped[str] = mapped_column(sa.String(20))
    comment: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
