"""Reference data an admin maintains: agencies, areas, categories, routing rules, SLA policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reports_app.db import Base, JSONType, enum_column, utcnow
from workflows.states import Priority, Track


class Timestamped:
    """Creation and last-change times, and soft deactivation (reference rows are never deleted)."""

    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Area(Timestamped, Base):
    """An administrative unit (province, ward, commune) with its boundary as GeoJSON."""

    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(20), unique=True)
    name_vi: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    level: Mapped[str] = mapped_column(sa.String(20))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    boundary: Mapped[dict[str, Any]] = mapped_column(JSONType)
    # The bounding box lets point placement skip areas with one indexed comparison.
    min_lon: Mapped[float] = mapped_column(sa.Float)
    min_lat: Mapped[float] = mapped_column(sa.Float)
    max_lon: Mapped[float] = mapped_column(sa.Float)
    max_lat: Mapped[float] = mapped_column(sa.Float)

    parent: Mapped[Area | None] = relationship(remote_side=[id])


class Agency(Timestamped, Base):
    """A body that fixes things: a department, a ward or commune committee, a utility."""

    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(30), default="department")
    area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    phone: Mapped[str | None] = mapped_column(sa.String(30))

    area: Mapped[Area | None] = relationship()


class Category(Timestamped, Base):
    """What kind of problem: drives routing, SLA and the Open311 service."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    service_code: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200))
    description_vi: Mapped[str] = mapped_column(sa.Text, default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    group_vi: Mapped[str] = mapped_column(sa.String(200), default="")
    group_en: Mapped[str] = mapped_column(sa.String(200), default="")
    keywords: Mapped[list[str]] = mapped_column(JSONType, default=list)
    default_priority: Mapped[Priority] = mapped_column(
        enum_column(Priority, "default_priority"), default=Priority.NORMAL
    )
    track: Mapped[Track] = mapped_column(enum_column(Track, "track"), default=Track.DEADLINE)
    requires_after_photo: Mapped[bool] = mapped_column(default=True)
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    sort_order: Mapped[int] = mapped_column(default=0)


class RoutingRule(Timestamped, Base):
    """(category, area) → agency; a null side matches anything, the most specific rule wins."""

    __tablename__ = "routing_rules"
    __table_args__ = (
        sa.Index("ix_routing_rules_lookup", "category_id", "area_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"))
    area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"))
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    note: Mapped[str] = mapped_column(sa.String(500), default="")

    category: Mapped[Category | None] = relationship()
    area: Mapped[Area | None] = relationship()
    agency: Mapped[Agency] = relationship()


class SlaPolicy(Timestamped, Base):
    """Time allowed per step for a category (null: the default) and priority."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        sa.CheckConstraint("warn_ratio > 0 AND warn_ratio <= 1", name="warn_ratio_range"),
        sa.CheckConstraint(
            "triage_minutes > 0 AND accept_minutes > 0 AND resolve_minutes > 0",
            name="positive_durations",
        ),
        sa.Index("ix_sla_policies_lookup", "category_id", "priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"))
    priority: Mapped[Priority] = mapped_column(enum_column(Priority, "priority"))
    track: Mapped[Track] = mapped_column(enum_column(Track, "track"), default=Track.DEADLINE)
    # Minutes of working time on the deadline track, clock minutes on the immediate track.
    triage_minutes: Mapped[int]
    accept_minutes: Mapped[int]
    resolve_minutes: Mapped[int]
    warn_ratio: Mapped[float] = mapped_column(sa.Float, default=0.75)

    category: Mapped[Category | None] = relationship()
