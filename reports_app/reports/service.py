"""Citizen reports: file a new report (photos, place, route, idempotency) and read them back.

One commit per submission, in `submit_from_app`. Photos are checked before anything is written;
files are written just before the database transaction and taken back if it fails.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload, load_only, selectinload

from media import PhotoFacts
from reports_app.common.pagination import paginate
from reports_app.common.redis_client import app_redis
from reports_app.errors import abort
from reports_app.extensions import db
from reports_app.models import Area, Case, CaseEvent, CaseFollower, CasePhoto, Category, User
from reports_app.reports import idempotency
from reports_app.reports.geocoding import describe_location
from reports_app.reports.photos import (
    check_count,
    photo_batch,
    photo_limits,
    read_uploads,
)
from reports_app.reports.schemas import ReportSchema
from reports_app.workflow_context import workflow_context
from workflows.intake import (
    InvalidAttributes,
    OutsideServiceArea,
    choose_location,
    clean_attributes,
    distance_m,
    exif_capture_time,
    place_report,
)
from workflows.operations import Actor, NewReport, is_reporter, submit_report
from workflows.routing import route
from workflows.states import OPEN_STATES, CaseState, RejectReason
from workflows.tracking import normalise_code

log = logging.getLogger(__name__)

REPORT = ReportSchema()
HIDDEN_REJECTIONS = (RejectReason.SPAM.value, RejectReason.ABUSIVE.value)
"""Rejected reports the public never sees: spam and abuse are not published."""
NEARBY_LIMIT = 50
NEARBY_CANDIDATES = 4 * NEARBY_LIMIT
METRES_PER_DEGREE_LAT_MIN = 110_574.0
"""The shortest degree of latitude (at the equator): boxes from it never cut the circle."""
METRES_PER_DEGREE_LON_EQUATOR = 111_319.49
FLAT_MARGIN = 1.01
"""Slack on the flat-plane distance before the exact geodesic decides."""


@dataclass(frozen=True)
class Submission:
    """The response to a submission: new, or replayed for a retry with the same key."""

    status: int
    body: dict[str, Any]
    replayed: bool = False


# --------------------------------------------------------------------------- submitting


def submit_from_app(user: User, form: dict[str, Any], raw_fields: Iterable[tuple[str, str]],
                    key: str | None) -> Submission:
    """File a citizen's report from the app's form; a retry with the same key replays."""
    config = current_app.config
    limits = photo_limits(config)
    files = form["photos"]
    check_count(files, limits)
    blobs = read_uploads(files, limits)
    claim = None
    if key is not None:
        digest = idempotency.request_hash(raw_fields, [("photos", blob) for blob in blobs])
        outcome = _begin(user, key, digest)
        if isinstance(outcome, idempotency.Replay):
            log.info("replaying submission for idempotency key of user %s", user.id)
            return Submission(outcome.status, outcome.body, replayed=True)
        claim = outcome
    try:
        body = _file_report(user, form, blobs, claim)
    except BaseException:
        if claim is not None:
            idempotency.release(db.session, claim)
        raise
    if claim is not None:
        idempotency.finish(claim, 201, body, body["id"])
    return Submission(201, body)


def _begin(user: User, key: str, digest: str) -> idempotency.Claim | idempotency.Replay:
    config = current_app.config
    settings = idempotency.Settings(
        ttl=timedelta(hours=config["IDEMPOTENCY_TTL_HOURS"]),
        wait_seconds=config["IDEMPOTENCY_WAIT_SECONDS"],
        lock_seconds=config["IDEMPOTENCY_LOCK_SECONDS"])
    client = app_redis()
    shared = idempotency.SharedLocks(client, config["REDIS_KEY_PREFIX"]) if client else None
    try:
        return idempotency.begin(db.session, user.id, key, digest, settings, shared)
    except idempotency.KeyReused:
        abort(422, "idempotency_key_reused",
              errors={"Idempotency-Key": ["Already used for a different request."]})
    except idempotency.RequestInProgress as exc:
        abort(409, "request_in_progress", headers={"Retry-After": str(exc.retry_after)})


def _file_report(user: User, form: dict[str, Any], blobs: list[bytes],
                 claim: idempotency.Claim | None) -> dict[str, Any]:
    """The app's form as an intake; the reply is recorded for the idempotency key in the same
    transaction as the report."""
    category = db.session.scalar(sa.select(Category).where(Category.code == form["category"]))
    if category is None or not category.is_active:
        abort(422, "validation_error", errors={"category": ["Unknown or inactive category."]})
    replies: list[dict[str, Any]] = []

    def record(case: Case) -> None:
        body = REPORT.dump(case)
        if claim is not None and not idempotency.record(db.session, claim, 201, body, case.id):
            # Our claim was taken over as abandoned: the other request owns the key now.
            raise idempotency.RequestInProgress(retry_after=1)
        replies.append(body)

    file_report(Intake(
        category=category, description=form["description"].strip(),
        attributes=form["attributes"], blobs=blobs, source="app", actor=Actor(user),
        reporter=user, point=(form["lat"], form["lon"]) if "lat" in form else None,
        accuracy_m=form.get("accuracy_m"), address=form.get("address"),
        captured_at=form.get("captured_at"), is_public=form["is_public"],
        is_anonymous=form["is_anonymous"]), before_commit=record)
    return replies[0]


@dataclass
class Intake:
    """A new report from any channel (the app, an Open311 client), its category already chosen.

    Every channel files through `file_report`, so the same checks, placing, routing, workflow
    and figures apply to all of them.
    """

    category: Category
    description: str
    attributes: Mapping[str, Any]
    """Answers to the category's fields, as sent; checked by `clean_attributes`."""
    blobs: list[bytes]
    """The photo files' bytes (already counted and read within the limits)."""
    source: str
    actor: Actor
    reporter: User | None = None
    point: tuple[float, float] | None = None
    accuracy_m: float | None = None
    address: str | None = None
    captured_at: datetime | None = None
    is_public: bool = True
    is_anonymous: bool = False
    reporter_name: str | None = None
    reporter_phone: str | None = None
    reporter_email: str | None = None
    channel_attributes: Mapping[str, Any] = field(default_factory=dict)
    """What the channel keeps with the answers, under keys starting with `_` (a field code
    never does), e.g. Open311's `_media_url`."""
    photo_field: str = "photos"
    """The form field the photos came in, named in refusals."""


def file_report(intake: Intake, before_commit: Callable[[Case], None] | None = None) -> Case:
    """Validate against the database, process photos, place, route, store, commit.

    `before_commit` runs inside the transaction with the new case (the app records its
    idempotency reply there). Raises the API's 4xx errors; leaves no file or row behind.
    """
    config = current_app.config
    ctx = workflow_context()
    category = intake.category
    try:
        attributes = clean_attributes(category.fields or [], intake.attributes)
    except InvalidAttributes as exc:
        abort(422, exc.code, errors=exc.errors)
    attributes.update(intake.channel_attributes)

    # Refuse a point outside the service area before spending time on the photos.
    area = _place(*intake.point) if intake.point else None
    try:
        with photo_batch(intake.blobs, photo_limits(config), db.session, ctx.tz,
                         intake.photo_field) as photos:
            location = choose_location(intake.point, [_gps(p) for p in photos.facts],
                                       float(config["LOCATION_MISMATCH_M"]))
            if location is None:
                abort(422, "location_required", errors={
                    "lat": ["Send lat and lon, or a photo with a GPS position."],
                    "lon": ["Send lat and lon, or a photo with a GPS position."]})
            if area is None:
                area = _place(location.lat, location.lon)
            given_time = intake.captured_at
            captured_at = given_time.astimezone(UTC) if given_time else next(
                (t for p in photos.facts
                 if (t := exif_capture_time(p.metadata.captured_at, ctx.tz, ctx.now))
                 is not None), None)
            if not intake.address:
                db.session.rollback()  # hold no database connection while a geocoder answers
            address = intake.address or describe_location(location.lat, location.lon, area)
            rule = route(db.session, category.id, area.id)
            stored = photos.store(ctx.now)
            report = NewReport(
                category=category, description=intake.description, lat=location.lat,
                lon=location.lon, area_id=area.id, accuracy_m=intake.accuracy_m,
                address=address, captured_at=captured_at, is_public=intake.is_public,
                is_anonymous=intake.is_anonymous, attributes=attributes, source=intake.source,
                location_source=location.source, location_mismatch_m=location.mismatch_m,
                reporter_name=intake.reporter_name, reporter_phone=intake.reporter_phone,
                reporter_email=intake.reporter_email)
            case = submit_report(db.session, report, intake.actor, ctx,
                                 reporter=intake.reporter, photos=stored,
                                 routed_agency_id=rule.agency_id if rule else None,
                                 routing_rule_id=rule.id if rule else None)
            db.session.flush()
            photos.finish()
            if before_commit is not None:
                before_commit(case)
            db.session.commit()
    except idempotency.RequestInProgress as exc:
        abort(409, "request_in_progress", headers={"Retry-After": str(exc.retry_after)})
    if location.mismatch_m is not None:
        log.info("case %s: app position and photo GPS differ by %.0f m", case.id,
                 location.mismatch_m)
    return case


def _gps(photo: PhotoFacts) -> tuple[float, float] | None:
    meta = photo.metadata
    if meta.latitude is None or meta.longitude is None:
        return None
    return (meta.latitude, meta.longitude)


def _place(lat: float, lon: float) -> Any:
    try:
        return place_report(db.session, lat, lon)
    except OutsideServiceArea as exc:
        _refuse(exc)


def _refuse(exc: OutsideServiceArea) -> NoReturn:
    abort(422, exc.code, errors=exc.errors)


# --------------------------------------------------------------------------- reading


AREA_NAME = (Area.id, Area.code, Area.name_vi, Area.name_en)
"""What a report view shows of its area: never the boundary, which can be a large polygon."""
CATEGORY_NAME = (Category.id, Category.code, Category.service_code, Category.name_vi,
                 Category.name_en)
"""What a report view shows of its category (not its field definitions, parsed per row)."""
PUBLIC_COLUMNS = (Case.id, Case.version, Case.tracking_code, Case.state, Case.category_id,
                  Case.area_id, Case.agency_id, Case.is_public, Case.description, Case.lat,
                  Case.lon, Case.address, Case.submitted_at, Case.updated_at, Case.due_at,
                  Case.resolve_due_at, Case.resolved_at, Case.public_reply, Case.reject_reason)
"""What PublicReportSchema and NearbyReportSchema read: lists of public reports load only
these, not the private and search columns."""


def _with_parts(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """Load what the views show in a fixed number of queries, not one per report."""
    return stmt.options(joinedload(Case.category).load_only(*CATEGORY_NAME),
                        joinedload(Case.area).load_only(*AREA_NAME),
                        joinedload(Case.agency), selectinload(Case.photos))


def _page_parts(stmt: sa.Select[Any]) -> sa.Select[Any]:
    """The same for a page of a long list: the parts are fetched for the page's rows only,
    after the database has sorted and cut the page (a join would come before the LIMIT)."""
    return stmt.options(selectinload(Case.category).load_only(*CATEGORY_NAME),
                        selectinload(Case.area).load_only(*AREA_NAME),
                        selectinload(Case.agency), selectinload(Case.photos))


def my_reports(user: User, page: int, page_size: int) -> dict[str, Any]:
    """The caller's reports and the cases they follow, newest first."""
    followed = sa.select(CaseFollower.case_id).where(CaseFollower.user_id == user.id)
    stmt = (sa.select(Case).where(sa.or_(Case.reporter_id == user.id, Case.id.in_(followed)))
            .order_by(Case.submitted_at.desc(), Case.id.desc()))
    return paginate(_page_parts(stmt), page, page_size)


def report_for(user: User, case_id: int) -> Case:
    """A report its reporter or a follower may read; 404 for everyone else."""
    case = db.session.scalar(_with_parts(sa.select(Case).where(Case.id == case_id)).options(
        selectinload(Case.events).joinedload(CaseEvent.actor),
        selectinload(Case.photos).joinedload(CasePhoto.event)))
    if case is None or not is_reporter(db.session, case, user):
        abort(404, "not_found")
    return case


def publicly_visible() -> sa.ColumnElement[bool]:
    """Public reports, except those rejected as spam or abuse."""
    return sa.and_(Case.is_public.is_(True), sa.or_(
        Case.state != CaseState.REJECTED,
        sa.func.coalesce(Case.reject_reason, "").not_in(HIDDEN_REJECTIONS)))


def public_reports(args: dict[str, Any]) -> dict[str, Any]:
    """The public feed, most recently changed first.

    The page is chosen on ids alone, which the database reads from an index (ix_cases_lat_lon
    or ix_cases_public_feed on PostgreSQL) without touching the wide rows; only the page's
    reports are then loaded whole.
    """
    stmt = sa.select(Case.id).where(publicly_visible())
    if args.get("bbox"):
        # The box is written into the statement: once psycopg has prepared the query, a generic
        # plan cannot tell a village's box from a city centre's, and for the city it sorted every
        # report in the box (10 ms) instead of walking the feed index newest first (0.6 ms).
        min_lon, min_lat, max_lon, max_lat = (
            sa.literal(value, sa.Float, literal_execute=True) for value in args["bbox"])
        stmt = stmt.where(Case.lat.between(min_lat, max_lat), Case.lon.between(min_lon, max_lon))
    if args.get("status"):
        stmt = stmt.where(Case.state.in_([CaseState(s) for s in args["status"]]))
    if args.get("category"):
        stmt = stmt.where(Case.category_id == sa.select(Category.id).where(
            Category.code == args["category"]).scalar_subquery())
    if args.get("since"):
        stmt = stmt.where(Case.updated_at >= args["since"])
    stmt = stmt.order_by(Case.updated_at.desc(), Case.id.desc())
    page = paginate(stmt, args["page"], args["page_size"])
    page["items"] = _in_order(page["items"])
    return page


def _in_order(ids: list[int]) -> list[Case]:
    """The cases with these ids, whole and with their parts, in the order of `ids`."""
    if not ids:
        return []
    found = {case.id: case for case in db.session.scalars(
        _with_parts(sa.select(Case).where(Case.id.in_(ids))).options(load_only(*PUBLIC_COLUMNS)))}
    return [found[i] for i in ids if i in found]


def public_report(code_or_id: str) -> Case:
    """A public report by tracking code (as typed, any case and spacing) or id; else 404."""
    code = normalise_code(code_or_id)
    if code is not None:
        condition = Case.tracking_code == code
    elif code_or_id.isdecimal() and len(code_or_id) < 19:
        condition = Case.id == int(code_or_id)
    else:
        abort(404, "not_found")
    case = db.session.scalar(_with_parts(sa.select(Case).where(condition, publicly_visible()))
                             .options(selectinload(Case.events).joinedload(CaseEvent.actor)))
    if case is None:
        abort(404, "not_found")
    return case


class NearbyCase:
    """A case seen from a point: the case's attributes plus `distance_m`."""

    def __init__(self, case: Case, distance: float) -> None:
        """Keep the case and its geodesic distance in metres."""
        self._case = case
        self.distance_m = round(distance, 1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._case, name)


def flat_distance_m(a: tuple[float, float], b: Any) -> float:
    """Distance on the local tangent plane with the ellipsoid's metres per degree at `a`.

    Within 0.1% of the geodesic up to the 5 km the nearby search allows.
    """
    phi = math.radians(a[0])
    per_lat = 111_132.92 - 559.82 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    per_lon = 111_412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    return math.hypot((b[0] - a[0]) * per_lat, (b[1] - a[1]) * per_lon)


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) of a box that surely contains the circle.

    Degrees are converted with the shortest degree of latitude and, for longitude, the circle's
    latitude furthest from the equator, so the box errs on the large side (by about 1%).
    Boxes are not split at the antimeridian: no service area comes near it.
    """
    dlat = radius_m / METRES_PER_DEGREE_LAT_MIN
    far_lat = min(89.9, abs(lat) + dlat)
    dlon = min(180.0, radius_m / (METRES_PER_DEGREE_LON_EQUATOR * math.cos(math.radians(far_lat))))
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def nearby_reports(lat: float, lon: float, radius_m: float,
                   category: str | None = None) -> list[NearbyCase]:
    """Open public reports within `radius_m`, nearest first (at most NEARBY_LIMIT).

    The (lat, lon) index narrows to a bounding box that contains the whole circle; the box's
    candidates are ranked by a flat-plane distance (within 0.1% at 5 km), and only those that
    can still be among the nearest get the exact geodesic distance (geographiclib).
    """
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_m)
    scale = math.cos(math.radians(lat)) ** 2
    flat = (Case.lat - lat) * (Case.lat - lat) + (Case.lon - lon) * (Case.lon - lon) * scale
    # The states as literals: a partial index of open public cases (ix_cases_open_point on
    # PostgreSQL) matches only a query that names them, also once the statement is prepared.
    open_states = sa.bindparam("open_states", sorted(OPEN_STATES), expanding=True,
                               literal_execute=True)
    stmt = (sa.select(Case.id, Case.lat, Case.lon)
            .where(Case.lat.between(min_lat, max_lat), Case.lon.between(min_lon, max_lon),
                   Case.state.in_(open_states), Case.is_public.is_(True))
            .order_by(flat, Case.id).limit(NEARBY_CANDIDATES))
    if category:
        stmt = stmt.where(Case.category_id == sa.select(Category.id).where(
            Category.code == category).scalar_subquery())
    approx = sorted((flat_m, case_id, point) for case_id, *point in db.session.execute(stmt)
                    if (flat_m := flat_distance_m((lat, lon), point)) <= radius_m * FLAT_MARGIN)
    # The exact (slower) geodesic only for those that can still be among the nearest.
    cutoff = approx[NEARBY_LIMIT - 1][0] * FLAT_MARGIN if len(approx) > NEARBY_LIMIT else math.inf
    ranked = sorted((distance, case_id) for flat_m, case_id, point in approx if flat_m <= cutoff
                    and (distance := distance_m((lat, lon), point)) <= radius_m)[:NEARBY_LIMIT]
    # Only the reports shown are loaded whole, with their category, area, agency and photos.
    cases = {case.id: case for case in db.session.scalars(_with_parts(
        sa.select(Case).where(Case.id.in_([case_id for _, case_id in ranked]))).options(
        load_only(*PUBLIC_COLUMNS)))} if ranked else {}
    return [NearbyCase(cases[case_id], distance) for distance, case_id in ranked]
