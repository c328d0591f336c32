"""Kept records: published monthly summaries, Open311 client keys, and the admin audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reports_app.db import Base, JSONType, utcnow
from reports_app.models.accounts import User


class MonthlySummary(Base):
    """A month's figures as published: built once after the month ends and then kept."""

    __tablename__ = "monthly_summaries"
    __table_args__ = (sa.UniqueConstraint("month", "scope"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7))
    # "province" for the whole deployment, or e.g. "area:66" when one holds several provinces.
    scope: Mapped[str] = mapped_column(sa.String(40), default="province")
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    cutoff_at: Mapped[datetime]
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """An Open311 client application's key; only its hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(sa.String(12))
    contact_email: Mapped[str | None] = mapped_column(sa.String(254))
    rate_limit_per_minute: Mapped[int] = mapped_column(default=30)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()


class AuditEntry(Base):
    """Who changed which reference row when, and how; append-only."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(sa.BigInteger().with_variant(sa.Integer, "sqlite"),
                                    primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(sa.String(20))
    entity: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[int | None] = mapped_column()
    changes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    actor: Mapped[User | None] = relationship(viewonly=True)
