"""Housekeeping jobs: rows that have served their purpose and only take space."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.models import IdempotencyKey
from workflows.jobs import JobContext

log = logging.getLogger(__name__)


def purge_idempotency_keys(session: Session, ctx: JobContext) -> int:
    """Delete retry keys past their expiry: they can no longer replay anything (indexed)."""
    result = session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.expires_at <= ctx.now))
    removed = result.rowcount or 0
    log.info("purged %s expired idempotency keys", removed)
    return removed
