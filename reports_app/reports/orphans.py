"""Photo objects that no case_photos row uses: deleted safely, after a failure or by the sweep.

Orphans come from requests that died between writing their files and committing (a killed
worker, a lost database connection). A failed request cleans up after itself at once
(`delete_if_unused`); what a killed one left is found by `remove_orphan_photos`, which the
`remove_orphan_photos` job runs nightly and `flask --app wsgi media cleanup` runs by hand.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from media import Storage, StoredObject, content_hash_of
from reports_app.models import CasePhoto
from reports_app.reports.photo_locks import try_exclusive

log = logging.getLogger(__name__)

CHUNK = 500
"""Objects per batch of the sweep, and hashes per `IN (…)` when asking which are in use."""


def used_hashes(session: Session, sha256s: Iterable[str]) -> set[str]:
    """The contents among these that some case photo refers to."""
    wanted = list(set(sha256s))
    used: set[str] = set()
    for start in range(0, len(wanted), CHUNK):
        used.update(session.scalars(sa.select(CasePhoto.sha256).distinct()
                                    .where(CasePhoto.sha256.in_(wanted[start:start + CHUNK]))))
    return used


def delete_if_unused(session: Session, storage: Storage, sha256: str, keys: Iterable[str]) -> bool:
    """Delete one content's objects if no committed row uses them and no request is about to.

    Runs in its own transaction (the caller's must be finished); True when deleted.
    """
    session.rollback()
    try:
        if not try_exclusive(session, sha256) or used_hashes(session, [sha256]):
            return False
        for key in keys:
            storage.delete(key)
        return True
    except Exception:
        log.exception("could not delete the unused objects of photo %s", sha256)
        return False
    finally:
        session.rollback()  # ends the transaction, and with it the lock


@dataclass(frozen=True)
class OrphanSweep:
    """What one sweep found and did."""

    objects: int
    """Photo objects looked at."""
    orphans: int
    """Objects older than the grace period whose photo no case uses."""
    removed: int
    """Orphaned objects deleted."""
    in_use: int
    """Orphans kept because a request was storing the same photo right then."""
    incomplete: int
    """Temporary files of writes that never finished, deleted."""

    def __str__(self) -> str:
        return (f"looked at {self.objects} photo objects: {self.orphans} orphaned, "
                f"{self.removed} removed, {self.in_use} in use right now; "
                f"{self.incomplete} unfinished writes removed")


def remove_orphan_photos(session: Session, storage: Storage, *, now: datetime,
                         grace: timedelta) -> OrphanSweep:
    """Delete every photo object that no case uses and nothing wrote within the grace period.

    Streams the storage listing in batches (memory stays flat however many objects there are);
    one short transaction per orphaned photo, so a request is never held up for long.
    """
    cutoff = now - grace
    objects = orphans = removed = in_use = 0
    for batch in _batches(storage.iter_objects(), CHUNK):
        candidates: dict[str, list[str]] = defaultdict(list)
        for item in batch:
            sha = content_hash_of(item.key)
            if sha is None:
                continue  # not one of ours
            objects += 1
            if item.modified_at < cutoff:
                candidates[sha].append(item.key)
        used = used_hashes(session, candidates)
        session.rollback()
        for sha, keys in candidates.items():
            if sha in used:
                continue
            orphans += len(keys)
            if delete_if_unused(session, storage, sha, keys):
                removed += len(keys)
                log.info("removed orphaned photo objects %s", ", ".join(keys))
            else:
                in_use += len(keys)
    incomplete = storage.remove_incomplete(cutoff)
    result = OrphanSweep(objects, orphans, removed, in_use, incomplete)
    log.info("orphan photo sweep: %s", result)
    return result


def _batches(items: Iterable[StoredObject], size: int) -> Iterator[list[StoredObject]]:
    batch: list[StoredObject] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
