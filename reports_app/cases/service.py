"""Work queues, the case file and workflow actions for the console: who sees what, in one place.

Privacy (DESIGN.md): agency staff see a case, its photos and its place, never who sent it.
`sees_reporter()` decides; the views built here leave the reporter out for everyone else, and
the staff schemas have no field that could carry it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, selectinload
from werkzeug.datastructures import FileStorage

from reports_app.common.media import media_url
from reports_app.common.pagination import paginate
from reports_app.errors import abort
from reports_app.extensions import db
from reports_app.models import Agency, Area, Case, CaseClock, CaseEvent, CasePhoto, Category, User
from reports_app.reports.photos import (
    check_count,
    photo_batch,
    photo_limits,
    read_uploads,
)
from reports_app.workflow_context import app_calendar, workflow_context
from workflows import machine
from workflows.machine import PARTY_LABELS, Action, FieldName, Party
from workflows.notifications import DECISION_LABELS, REJECT_REASON_LABELS
from workflows.operations import Actor, allowed_actions_for, is_reporter, perform_action
from workflows.roles import SEES_REPORTER, Role
from workflows.sla_clock import remaining
from workflows.states import OPEN_STATES, STATE_LABELS, CaseState, RejectReason, Track
from workflows.text import fold

log = logging.getLogger(__name__)

def sees_reporter(user: User) -> bool:
    """Operators, supervisors and admins see who sent a report; agency staff never do."""
    return user.role in SEES_REPORTER


# --------------------------------------------------------------------------- finding cases


AREA_NAME = (Area.id, Area.code, Area.name_vi, Area.name_en)
"""What a case view shows of its area: never the boundary, which can be a large polygon."""
CATEGORY_NAME = (Category.id, Category.code, Category.name_vi, Category.name_en)
"""What a queue row shows of its category (not its field definitions, parsed per row)."""


def visible_cases(user: User) -> sa.Select[Any]:
    """Cases the account may see in the console: staff only their own agency's."""
    stmt = sa.select(Case)
    if user.role == Role.STAFF:
        stmt = stmt.where(Case.agency_id == user.agency_id)
    elif user.role not in SEES_REPORTER:
        stmt = stmt.where(sa.false())
    return stmt


def get_visible_case(user: User, case_id: int) -> Case:
    """The case if the account may see it; 404 otherwise, so nobody learns that it exists."""
    case = db.session.scalar(visible_cases(user).where(Case.id == case_id).options(
        joinedload(Case.category), joinedload(Case.area).load_only(*AREA_NAME),
        joinedload(Case.agency), selectinload(Case.photos)))
    if case is None:
        abort(404, "not_found")
    return case


def _lock(case: Case) -> Case:
    """Re-read the case under a row lock (PostgreSQL) so two actions on it queue up.

    A plain SELECT … FOR UPDATE of the row: a refresh would repeat the loader options the
    case was read with, and PostgreSQL cannot lock the outer-joined side of those joins.
    """
    db.session.execute(sa.select(Case).where(Case.id == case.id).with_for_update()
                       .execution_options(populate_existing=True))
    return case


def _descendant_areas(area_id: int) -> list[int]:
    """The area and every area nested under it, whatever the depth."""
    found = [area_id]
    frontier = [area_id]
    while frontier:
        frontier = [i for i in db.session.scalars(sa.select(Area.id).where(
            Area.parent_id.in_(frontier))) if i not in found]
        found.extend(frontier)
    return found


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_cases(stmt: sa.Select[Any], args: Mapping[str, Any], now: datetime) -> sa.Select[Any]:
    """Apply the queue filters; unknown codes are a 422 naming the field."""
    errors: dict[str, list[str]] = {}
    if args.get("status"):
        stmt = stmt.where(Case.state.in_(args["status"]))
    if args.get("category"):
        category_id = db.session.scalar(sa.select(Category.id).where(
            Category.code == args["category"]))
        if category_id is None:
            errors["category"] = ["Unknown category code."]
        stmt = stmt.where(Case.category_id == category_id)
    if args.get("area"):
        area_id = db.session.scalar(sa.select(Area.id).where(Area.code == args["area"]))
        if area_id is None:
            errors["area"] = ["Unknown area code."]
        else:
            stmt = stmt.where(Case.area_id.in_(_descendant_areas(area_id)))
    if args.get("agency"):
        value = str(args["agency"])
        column = Agency.id if value.isdigit() else Agency.code
        agency_id = db.session.scalar(sa.select(Agency.id).where(
            column == (int(value) if value.isdigit() else value)))
        if agency_id is None:
            errors["agency"] = ["Unknown agency id or code."]
        stmt = stmt.where(Case.agency_id == agency_id)
    if errors:
        abort(422, "validation_error", errors=errors)
    overdue = sa.and_(Case.due_at < now, Case.state.in_(OPEN_STATES))
    if args.get("overdue") is True:
        stmt = stmt.where(overdue)
    elif args.get("overdue") is False:
        stmt = stmt.where(sa.or_(Case.due_at.is_(None), sa.not_(overdue)))
    if args.get("pending_extension") is not None:
        pending = Case.pending_extension_due_at.is_not(None)
        stmt = stmt.where(pending if args["pending_extension"] else sa.not_(pending))
    if args.get("due_before") is not None:
        stmt = stmt.where(Case.due_at < args["due_before"])
    query = (args.get("q") or "").strip()
    if query:
        # A tracking code is looked up on its unique index, not by scanning the text.
        code_match = db.session.scalar(sa.select(Case.id).where(
            Case.tracking_code == query.upper()))
        if code_match is not None:
            stmt = stmt.where(Case.id == code_match)
        else:
            # Every word must appear, in any order, with or without diacritics. The patterns
            # are written into the statement, not bound: a prepared statement's generic plan
            # cannot tell '%o%' (nearly every case) from '%nguyen%', and reads the trigram
            # index whole for the first (seconds) where the queue's own index takes 0.1 s.
            words = fold(query).split()
            stmt = stmt.where(sa.and_(*(
                Case.search_text.like(sa.literal(f"%{_like_escape(w)}%", sa.String,
                                                 literal_execute=True), escape="\\")
                for w in words)) if words else sa.false())
    return stmt


def list_cases(user: User, args: Mapping[str, Any]) -> dict[str, Any]:
    """One page of the caller's queue: soonest deadline first, cases without one last.

    The page is chosen on ids alone: on PostgreSQL an index in the queue's order
    (ix_cases_agency_queue) gives them without reading the wide rows, which the planner would
    otherwise sort wholesale; only the page's cases are then loaded.
    """
    now = workflow_context().now
    show = sees_reporter(user)
    stmt = (filter_cases(visible_cases(user), args, now).with_only_columns(Case.id)
            .order_by(Case.due_at.asc().nulls_last(), Case.submitted_at.asc(), Case.id.asc()))
    page = paginate(stmt, args["page"], args["page_size"])
    # A page of ids: joining its category, area and agency costs less than three more queries.
    load = sa.select(Case).where(Case.id.in_(page["items"])).options(
        joinedload(Case.category).load_only(*CATEGORY_NAME),
        joinedload(Case.area).load_only(*AREA_NAME), joinedload(Case.agency),
        selectinload(Case.photos))
    if show:
        load = load.options(selectinload(Case.reporter))
    found = {case.id: case for case in db.session.scalars(load)} if page["items"] else {}
    page["items"] = [case_summary(found[case_id], now=now, with_reporter=show)
                     for case_id in page["items"] if case_id in found]
    return page


# --------------------------------------------------------------------------- views


def _label(labels: Mapping[str, str]) -> dict[str, str]:
    return {"vi": labels["vi"], "en": labels["en"]}


def _ref(row: Agency | Area | Category | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"id": row.id, "code": row.code, "name": {"vi": row.name_vi, "en": row.name_en}}


def _is_overdue(case: Case, now: datetime) -> bool:
    return case.due_at is not None and case.due_at < now and case.state in OPEN_STATES


def _remaining(case: Case, now: datetime) -> int | None:
    """Working (or, on the immediate track, clock) minutes to the running deadline."""
    if case.due_at is None or case.state not in OPEN_STATES:
        return None
    left = remaining(app_calendar(), Track(case.track), now, case.due_at)
    return int(left.total_seconds() // 60)


def reporter_view(case: Case) -> dict[str, Any]:
    """Who sent the case: the account's details, or the contact given without an account."""
    account = case.reporter
    return {
        "id": case.reporter_id,
        "name": case.reporter_name or (account.full_name if account else None) or None,
        "phone": case.reporter_phone or (account.phone if account else None),
        "email": case.reporter_email or (account.email if account else None),
        "is_anonymous": case.is_anonymous,
    }


def case_summary(case: Case, *, now: datetime, with_reporter: bool) -> dict[str, Any]:
    """A queue row; the reporter only for those allowed to see it."""
    first = next((p for p in case.photos if p.kind == "report"), None)
    view: dict[str, Any] = {
        "id": case.id, "tracking_code": case.tracking_code, "state": str(case.state),
        "state_label": _label(STATE_LABELS[CaseState(case.state)]),
        "priority": str(case.priority), "track": str(case.track), "version": case.version,
        "category": _ref(case.category), "area": _ref(case.area), "agency": _ref(case.agency),
        "description": case.description, "address": case.address,
        "lat": case.lat, "lon": case.lon, "submitted_at": case.submitted_at,
        "updated_at": case.updated_at, "due_at": case.due_at, "due_step": case.due_step,
        "is_overdue": _is_overdue(case, now), "remaining_minutes": _remaining(case, now),
        "resolve_due_at": case.resolve_due_at,
        "pending_extension_due_at": case.pending_extension_due_at,
        "thumb_url": media_url(first.thumb_key) if first else None,
    }
    if with_reporter:
        view["reporter"] = reporter_view(case)
    return view


def photo_view(photo: CasePhoto, *, with_exif: bool) -> dict[str, Any]:
    """A photo's public derivatives; EXIF position and time only for those who see the reporter."""
    view: dict[str, Any] = {
        "id": photo.id, "kind": photo.kind, "event_id": photo.event_id,
        "width": photo.width, "height": photo.height,
        "display_url": media_url(photo.display_key), "thumb_url": media_url(photo.thumb_key),
        "created_at": photo.created_at,
    }
    if with_exif:
        view.update(exif_lat=photo.exif_lat, exif_lon=photo.exif_lon,
                    exif_captured_at=photo.exif_captured_at)
    return view


def _reason_label(action: str, reason: str | None) -> dict[str, str] | None:
    if action != Action.REJECT or reason is None:
        return None
    try:
        return _label(REJECT_REASON_LABELS[RejectReason(reason)])
    except ValueError:
        return None


def _actor_view(event: CaseEvent, *, with_reporter: bool) -> dict[str, Any] | None:
    """Who acted; a citizen acting as the reporter is only "the reporter" to agency staff."""
    if event.actor is None or (event.party == Party.REPORTER and not with_reporter):
        return None
    return {"id": event.actor.id, "name": event.actor.full_name or None,
            "role": str(event.actor.role)}


def _party_label(party: str) -> dict[str, str] | None:
    try:
        return _label(PARTY_LABELS[Party(party)])
    except ValueError:
        return None


def timeline(events: Sequence[CaseEvent], photos: Sequence[CasePhoto], *,
             with_reporter: bool, known: Sequence[Agency | None] = ()) -> list[dict[str, Any]]:
    """The case's events, oldest first, with routing decisions and merges spelled out.

    `known`: agencies already loaded (the case's own, which most routing events name), so
    only the others are read.
    """
    photo_ids: dict[int, list[int]] = {}
    for photo in photos:
        if photo.event_id is not None:
            photo_ids.setdefault(photo.event_id, []).append(photo.id)
    agency_ids: set[int] = set()
    case_ids: set[int] = set()
    for event in events:
        data = event.data or {}
        for key in ("agency_id", "from_agency_id"):
            if isinstance(data.get(key), int):
                agency_ids.add(data[key])
        if isinstance(data.get("duplicate_of"), int):
            case_ids.add(data["duplicate_of"])
    agencies = {a.id: a for a in known if a is not None}
    if missing := agency_ids - agencies.keys():
        agencies.update((a.id, a) for a in db.session.scalars(
            sa.select(Agency).where(Agency.id.in_(missing))))
    codes = {row.id: row.tracking_code for row in db.session.execute(
        sa.select(Case.id, Case.tracking_code).where(Case.id.in_(case_ids)))} if case_ids else {}
    rows = []
    for event in events:
        data = event.data or {}
        transition = machine.TABLE.get(event.action)  # type: ignore[call-overload]
        row: dict[str, Any] = {
            "id": event.id, "action": event.action,
            "label": transition.label.as_dict() if transition else None,
            "party": event.party, "party_label": _party_label(event.party),
            "actor": _actor_view(event, with_reporter=with_reporter),
            "from_state": event.from_state, "to_state": event.to_state,
            "note": event.note, "reason": event.reason,
            "reason_label": _reason_label(event.action, event.reason),
            "is_public": event.is_public, "created_at": event.created_at,
            "photo_ids": photo_ids.get(event.id, []),
        }
        if event.action in (Action.SUBMIT, Action.ASSIGN, Action.TRANSFER):
            row["routing"] = {
                "agency": _ref(agencies.get(data.get("agency_id"))),
                "from_agency": _ref(agencies.get(data.get("from_agency_id"))),
                "rule_id": data.get("routing_rule_id"),
                "by": "rule" if data.get("routing_rule_id") is not None else (
                    "operator" if event.action != Action.SUBMIT else None),
            }
        if isinstance(data.get("duplicate_of"), int):
            row["duplicate_of"] = {"id": data["duplicate_of"],
                                   "tracking_code": codes.get(data["duplicate_of"])}
        for key in (FieldName.DUE_AT, FieldName.PRIORITY, FieldName.RATING):
            if data.get(key) is not None:
                row[key.value] = data[key]
        if data.get(FieldName.DECISION) in DECISION_LABELS:
            row["decision"] = data[FieldName.DECISION]
            row["decision_label"] = _label(DECISION_LABELS[data[FieldName.DECISION]])
        rows.append(row)
    return rows


def _clock_view(clock: CaseClock, now: datetime) -> dict[str, Any]:
    status = "stopped" if clock.stopped_at else ("paused" if clock.paused_at else "running")
    return {
        "step": clock.step, "round": clock.round, "track": str(clock.track),
        "allowed_minutes": clock.allowed_minutes, "status": status,
        "started_at": clock.started_at, "warn_at": clock.warn_at, "due_at": clock.due_at,
        "original_due_at": clock.original_due_at, "paused_at": clock.paused_at,
        "stopped_at": clock.stopped_at,
        "is_overdue": status == "running" and clock.due_at < now,
    }


def case_detail(case: Case, user: User) -> dict[str, Any]:
    """The whole case file as this account may see it, with the actions it may take now."""
    now = workflow_context().now
    show = sees_reporter(user)
    events = db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id)
                                .options(joinedload(CaseEvent.actor))
                                .order_by(CaseEvent.id)).all()
    clocks = db.session.scalars(sa.select(CaseClock).where(CaseClock.case_id == case.id)
                                .order_by(CaseClock.id)).all()
    photos = case.photos  # ordered by id, loaded with the case
    view = case_summary(case, now=now, with_reporter=show)
    duplicate = case.duplicate_of
    view.update({
        "source": case.source, "accuracy_m": case.accuracy_m,
        "location_source": case.location_source,
        # How far the photo's GPS is from where the app said: evidence, like the GPS itself.
        "location_mismatch_m": case.location_mismatch_m if show else None,
        "captured_at": case.captured_at,
        "attributes": case.attributes or {}, "is_public": case.is_public,
        "assigned_at": case.assigned_at, "accepted_at": case.accepted_at,
        "resolved_at": case.resolved_at, "closed_at": case.closed_at,
        "rejected_at": case.rejected_at, "reject_reason": case.reject_reason,
        "reject_reason_label": _reason_label(Action.REJECT, case.reject_reason),
        "duplicate_of": {"id": duplicate.id, "tracking_code": duplicate.tracking_code}
        if duplicate else None,
        "public_reply": case.public_reply, "latest_rating": case.latest_rating,
        "resolution_round": case.resolution_round,
        "resolve_original_due_at": case.resolve_original_due_at,
        "extension_granted": case.extension_granted,
        "clocks": [_clock_view(c, now) for c in clocks],
        "photos": [photo_view(p, with_exif=show) for p in photos],
        "timeline": timeline(events, photos, with_reporter=show, known=[case.agency]),
        "allowed_actions": allowed_actions_for(db.session, case, Actor(user)),
    })
    return view


# --------------------------------------------------------------------------- acting


def _check_photos_accepted(action: str, uploads: Sequence[FileStorage]) -> None:
    """Refuse files for an action that takes none before anything is processed or stored."""
    if uploads and FieldName.PHOTOS not in machine.transition_for(action).accepted_fields:
        abort(422, "validation_error", errors={"photos": ["Not used by this action."]})


def _act(case: Case, action: str, user: User, fields: dict[str, Any],
         version: int | None, uploads: Sequence[FileStorage]) -> Case:
    """Check the photos, store them, run the action on the locked case and commit, all or
    nothing: a refusal or a failed commit removes the files this request wrote."""
    ctx = workflow_context()
    limits = photo_limits(current_app.config)
    check_count(uploads, limits)
    with photo_batch(read_uploads(uploads, limits), limits, db.session, ctx.tz) as photos:
        stored = photos.store(ctx.now)
        _lock(case)
        perform_action(db.session, case, action, Actor(user), fields, ctx,
                       expected_version=version, photos=stored or None)
        photos.finish()
        db.session.commit()
    return case


def act_on_case(user: User, case_id: int, action: str, body: dict[str, Any],
                uploads: Sequence[FileStorage]) -> Case:
    """`POST /cases/{id}/actions/{action}`: the console's one way to change a case."""
    case = get_visible_case(user, case_id)
    machine.transition_for(action)  # an unknown action is a 404 before any file is touched
    _check_photos_accepted(action, uploads)
    fields = dict(body)
    version = fields.pop("version")
    return _act(case, action, user, fields, version, uploads)


def provide_info(user: User, case_id: int, body: dict[str, Any],
                 uploads: Sequence[FileStorage]) -> Case:
    """`POST /reports/{id}/info`: the reporter answers the agency's question."""
    case = db.session.get(Case, case_id)
    if case is None or not is_reporter(db.session, case, user):
        abort(404, "not_found")
    fields = dict(body)
    version = fields.pop("version", None)
    return _act(case, Action.PROVIDE_INFO, user, fields, version, uploads)

