"""Locks per photo content: stored objects are named by content hash and shared between reports,
so an object may only be deleted while no request stands between "it is there, I will use it"
and its commit.

A request that stores photos holds a *shared* lock on each photo's hash from before it looks at
the storage until its transaction ends. A deletion (a failed request's cleanup, the orphan sweep)
takes the *exclusive* lock without waiting, reads case_photos again under it, and deletes only
then; a request that comes later waits for the deletion and then writes the files anew.

On PostgreSQL these are transaction-level advisory locks, held across every process of a
deployment and released by commit, rollback or a dropped connection (a killed worker). Elsewhere
(SQLite: one development process) a table of holders in this process does the same between
threads, released when the session's transaction ends.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

NAMESPACE = 0x7068
"""First key of our two-key advisory locks ('ph'), so other advisory locks never collide."""
_INFO_KEY = "photo_locks"


def lock_number(sha256: str) -> int:
    """The second advisory-lock key: the hash's first 32 bits as a signed integer."""
    value = int(sha256[:8], 16)
    return value - (1 << 32) if value >= 1 << 31 else value


def _is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def hold_shared(session: Session, sha256s: Iterable[str]) -> None:
    """Hold each content's shared lock until this session's transaction ends (may wait briefly
    for a deletion in progress)."""
    wanted = sorted(set(sha256s))
    if not wanted:
        return
    if _is_postgres(session):
        for sha in wanted:
            session.execute(sa.text("SELECT pg_advisory_xact_lock_shared("
                                    "CAST(:ns AS integer), CAST(:n AS integer))"),
                            {"ns": NAMESPACE, "n": lock_number(sha)})
        return
    session.connection()  # begin the transaction whose end releases the locks
    _LOCAL.hold_shared(wanted)
    session.info.setdefault(_INFO_KEY, []).extend(("shared", sha) for sha in wanted)


def try_exclusive(session: Session, sha256: str) -> bool:
    """Take the content's exclusive lock until this transaction ends, or False at once if any
    request holds it."""
    if _is_postgres(session):
        return bool(session.scalar(sa.text("SELECT pg_try_advisory_xact_lock("
                                           "CAST(:ns AS integer), CAST(:n AS integer))"),
                                   {"ns": NAMESPACE, "n": lock_number(sha256)}))
    session.connection()
    if not _LOCAL.try_exclusive(sha256):
        return False
    session.info.setdefault(_INFO_KEY, []).append(("exclusive", sha256))
    return True


class _ProcessLocks:
    """Shared/exclusive holders of this process, for databases without advisory locks."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._shared: Counter[str] = Counter()
        self._exclusive: set[str] = set()

    def hold_shared(self, sha256s: list[str]) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._exclusive.isdisjoint(sha256s))
            self._shared.update(sha256s)

    def try_exclusive(self, sha256: str) -> bool:
        with self._changed:
            if self._shared[sha256] or sha256 in self._exclusive:
                return False
            self._exclusive.add(sha256)
            return True

    def release(self, held: list[tuple[str, str]]) -> None:
        with self._changed:
            for kind, sha in held:
                if kind == "exclusive":
                    self._exclusive.discard(sha)
                else:
                    self._shared[sha] -= 1
                    if self._shared[sha] <= 0:
                        del self._shared[sha]
            self._changed.notify_all()


_LOCAL = _ProcessLocks()


@event.listens_for(Session, "after_transaction_end")
def _release_at_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    """Like PostgreSQL's transaction-level locks: the outermost transaction's end releases them."""
    if transaction.parent is None and session.info.get(_INFO_KEY):
        _LOCAL.release(session.info.pop(_INFO_KEY))
