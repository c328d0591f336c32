"""Housekeeping jobs: rows that have served their purpose and only take space."""

from __future__ import annotations

import logging
from datetime import timedelta

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


def remove_orphan_photos(session: Session, ctx: JobContext) -> str:
    """Delete photo objects no case uses, untouched for MEDIA_ORPHAN_GRACE_MINUTES (a request
    killed between writing its files and committing leaves such objects)."""
    from media import storage_from_config
    from reports_app.reports.orphans import remove_orphan_photos as sweep

    grace = timedelta(minutes=int(ctx.config.get("MEDIA_ORPHAN_GRACE_MINUTES", 60)))
    return str(sweep(session, storage_from_config(ctx.config), now=ctx.now, grace=grace))
