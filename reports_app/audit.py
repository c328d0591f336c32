"""Records nobody rewrites, and the one place admin changes are written down.

- Append-only: the case timeline (`CaseEvent`) and the audit trail (`AuditEntry`) are never
  updated or deleted through the ORM, and a case (whose deletion would take its timeline with
  it) is never deleted. Any attempt raises `AppendOnlyViolation` before SQL is sent.
- Audit: while a request is audited (admin endpoints, see `require_roles(audited=True)`) or a
  session is (`audited_session`, for CLI commands), every flush that creates or changes
  reference data (agencies, areas, categories, routing rules, SLA policies, users, Open311
  keys) also inserts one `audit_log` row per row changed: who, when, the action and each
  changed field as old → new, in the same transaction as the change. Secrets (password and
  key hashes) are named as changed, never shown; area boundaries are fingerprinted.
"""

from __future__ import annotations

import enum
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Session, UOWTransaction

from reports_app.db import utcnow
from reports_app.models import (
    Agency,
    ApiKey,
    Area,
    AuditEntry,
    Case,
    CaseEvent,
    Category,
    RoutingRule,
    SlaPolicy,
    User,
)

log = logging.getLogger(__name__)

APPEND_ONLY: tuple[type, ...] = (CaseEvent, AuditEntry)
"""Rows written once and never changed or removed."""
NEVER_DELETED: tuple[type, ...] = (*APPEND_ONLY, Case)
"""Rows never removed (a case's timeline goes with it)."""
_PROTECTED_TABLES = {CaseEvent.__tablename__: "update", AuditEntry.__tablename__: "update"}

AUDITED: dict[type, str] = {
    Agency: "agency", Area: "area", Category: "category", RoutingRule: "routing_rule",
    SlaPolicy: "sla_policy", User: "user", ApiKey: "api_key",
}
"""Reference data whose every change is recorded, by the `entity` name used in the log."""
SECRETS = {"password_hash": "password", "key_hash": "key"}
"""Columns recorded only as changed, under the name an admin knows them by."""
UNRECORDED = {"id", "created_at", "updated_at", "last_used_at"}
"""Bookkeeping columns: they change with every write and say nothing about it."""
FINGERPRINTED = {"boundary"}
"""Large values recorded by their SHA-256 (the area's bounding box columns show the change)."""

ENVIRON_KEY = "reports_app.audit.actor_id"
SESSION_KEY = "reports_app.audit.actor_id"


class AppendOnlyViolation(RuntimeError):
    """An attempt to rewrite history: update or delete a timeline event or an audit entry."""


# --------------------------------------------------------------------------- who is acting


def audit_request_as(user_id: int | None) -> None:
    """Record this request's changes to reference data as made by `user_id`."""
    request.environ[ENVIRON_KEY] = user_id


@contextmanager
def audited_session(session: Session, actor_id: int | None = None) -> Iterator[None]:
    """Record the changes flushed inside the block (outside a request: a CLI command)."""
    session.info[SESSION_KEY] = actor_id
    try:
        yield
    finally:
        session.info.pop(SESSION_KEY, None)


_NOT_AUDITED = object()


def _actor(session: Session) -> Any:
    """The acting account's id (None: the system), or _NOT_AUDITED."""
    if has_request_context() and ENVIRON_KEY in request.environ:
        return request.environ[ENVIRON_KEY]
    return session.info.get(SESSION_KEY, _NOT_AUDITED)


# --------------------------------------------------------------------------- append-only


@event.listens_for(Session, "before_flush")
def _refuse_rewrites(session: Session, _context: UOWTransaction, _instances: Any) -> None:
    """Stop a flush that would change or remove history."""
    for obj in session.deleted:
        if isinstance(obj, NEVER_DELETED):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are never deleted")
    for obj in session.dirty:
        if isinstance(obj, APPEND_ONLY) and session.is_modified(obj, include_collections=False):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are never changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_rewrites(state: Any) -> None:
    """Stop UPDATE and DELETE statements on history run through a session."""
    if not (state.is_update or state.is_delete):
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    if name in _PROTECTED_TABLES or (state.is_delete and name == Case.__tablename__):
        raise AppendOnlyViolation(f"{'UPDATE' if state.is_update else 'DELETE'} on {name} "
                                  "is refused: history is append-only")


# --------------------------------------------------------------------------- audit trail


def _plain(value: Any) -> Any:
    """A JSON-able form of a column value."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _fingerprint(value: Any) -> str | None:
    if value is None:
        return None
    encoded = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(encoded.encode()).hexdigest()


def _field(key: str, old: Any, new: Any) -> tuple[str, dict[str, Any]]:
    if key in SECRETS:
        return SECRETS[key], {"changed": True}
    if key in FINGERPRINTED:
        return key, {"old": _fingerprint(old), "new": _fingerprint(new)}
    return key, {"old": _plain(old), "new": _plain(new)}


def _changes(obj: Any, *, created: bool) -> dict[str, dict[str, Any]]:
    """Each changed column as old → new (for a new row: every column it was given)."""
    state = sa.inspect(obj)
    changes: dict[str, dict[str, Any]] = {}
    for attr in state.mapper.column_attrs:
        key = attr.key
        if key in UNRECORDED:
            continue
        history = state.attrs[key].history
        if created:
            value = getattr(obj, key)
            if value is not None:
                name, change = _field(key, None, value)
                changes[name] = change
        elif history.has_changes():
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if _plain(old) != _plain(new):
                name, change = _field(key, old, new)
                changes[name] = change
    return changes


def _action(changes: dict[str, dict[str, Any]]) -> str:
    active = changes.get("is_active")
    if active is not None and active.get("old") is True and active.get("new") is False:
        return "deactivate"
    if active is not None and active.get("old") is False and active.get("new") is True:
        return "activate"
    return "update"


@event.listens_for(Session, "after_flush")
def _record_changes(session: Session, _context: UOWTransaction) -> None:
    """Write one audit entry per reference row this flush created or changed."""
    actor = _actor(session)
    if actor is _NOT_AUDITED:
        return
    now = utcnow()
    rows = []
    touched = [*((o, "create") for o in session.new), *((o, "update") for o in session.dirty),
               *((o, "delete") for o in session.deleted)]
    for obj, kind in touched:
        entity = AUDITED.get(type(obj))
        if entity is None:
            continue
        changes = _changes(obj, created=kind != "update")
        if kind == "delete":
            changes = {k: {"old": v.get("new"), "new": None} if "new" in v else v
                       for k, v in changes.items()}
        elif not changes:
            continue
        rows.append({"actor_id": actor, "entity": entity, "entity_id": obj.id,
                     "action": _action(changes) if kind == "update" else kind,
                     "changes": changes, "created_at": now})
    if rows:
        session.connection().execute(sa.insert(AuditEntry), rows)
        log.info("audit: %s", ", ".join(f"{r['action']} {r['entity']} {r['entity_id']}"
                                        for r in rows))
