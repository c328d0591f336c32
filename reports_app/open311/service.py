"""Open311 GeoReport v2 over our own data: categories are services, public reports are service
requests, and a POSTed request is filed as an ordinary report (source `open311`) through the
same intake as the app's (`reports_app.reports.service.file_report`).

Decisions (also in the README):
- `service_request_id` is the case id as a string; the tracking code is named in
  `service_notice`, and GET accepts either. Requests are created at once, so no token is
  issued; `tokens/{id}` answers for a request id all the same, for clients that ask.
- Status: resolved, closed and rejected are `closed` (the spec: closed = it has been resolved),
  every other state `open`. `status_notes` says no more than the public feed does: the
  agency's public reply once resolved, the reason of a rejection, else the state's name.
- GET shows public reports only (spam and abuse rejections hidden) and never personal data.
- Dates without a time zone are read in the province's time zone; a date alone as end_date
  means the end of that day. Without dates the window is the last 90 days; a span longer than
  90 days is allowed, and any answer holds at most the 1,000 newest requests.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.orm import joinedload, load_only, selectinload
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import NotFound

from reports_app.auth.identifiers import InvalidIdentifier, normalise_email, normalise_phone
from reports_app.common.media import media_url
from reports_app.db import utcnow
from reports_app.extensions import db
from reports_app.i18n import LANGUAGES
from reports_app.models import Area, Case, Category
from reports_app.open311.formats import Open311Error, describe_field_errors, rfc3339
from reports_app.open311.keys import given_key, mark_used, request_api_key
from reports_app.open311.schemas import (
    MalformedAttribute,
    RequestForm,
    RequestQuery,
    attribute_answers,
)
from reports_app.reports.photos import check_count, photo_limits, read_uploads
from reports_app.reports.service import (
    CATEGORY_NAME,
    Intake,
    file_report,
    public_report,
    publicly_visible,
)
from workflows.intake import STRING_MAX, TEXT_MAX
from workflows.machine import Party
from workflows.notifications import reason_label
from workflows.operations import Actor
from workflows.states import DONE_STATES, OPEN_STATES, STATE_LABELS, CaseState
from workflows.tracking import normalise_code

log = logging.getLogger(__name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ["text/xml", "application/json"]
DEFAULT_SPAN = timedelta(days=90)
MAX_RESULTS = 1000
CODE_MAX = 40
SOURCE = "open311"
CLOSED_STATES = frozenset({CaseState.RESOLVED, CaseState.CLOSED, CaseState.REJECTED})
STATUS_STATES = {"open": OPEN_STATES, "closed": CLOSED_STATES}
MEDIA_FIELDS = ("media", "media[]")
"""Multipart file parts taken as photos (our extension to the spec)."""

TEXTS: dict[str, dict[str, str]] = {
    "no_key": {"vi": "Thiếu api_key: gửi yêu cầu cần khoá API (liên hệ Trung tâm IOC).",
               "en": "api_key was not provided: POST requests need an API key."},
    "bad_key": {"vi": "api_key không hợp lệ hoặc đã bị thu hồi -- không thể tạo yêu cầu.",
                "en": "Invalid api_key received -- can't proceed with create_request."},
    "no_jurisdiction": {"vi": "Không tìm thấy jurisdiction_id {value!r}; mã tỉnh phục vụ: {known}.",
                        "en": "jurisdiction_id {value!r} was not found; we serve: {known}."},
    "no_service_code": {"vi": "Thiếu service_code.", "en": "service_code was not provided."},
    "unknown_service": {"vi": "Không tìm thấy service_code {value!r}.",
                        "en": "service_code {value!r} was not found."},
    "no_request": {"vi": "Không tìm thấy yêu cầu (service_request_id) {value!r}.",
                   "en": "service_request_id {value!r} was not found."},
    "no_route": {"vi": "Không có tài nguyên Open311 này; xem /open311/discovery.json.",
                 "en": "No such Open311 resource; see /open311/discovery.json."},
    "no_token": {"vi": "Không tìm thấy token {value!r}.", "en": "token {value!r} was not found."},
    "no_location": {"vi": "Cần vị trí: lat và long (hoặc ảnh media có toạ độ GPS).",
                    "en": "A location is required: lat and long (or a media photo with a GPS "
                          "position)."},
    "no_geocoder": {"vi": "Không thể xác định vị trí từ address_string hoặc address_id: máy chủ "
                          "này không tra cứu địa chỉ; hãy gửi kèm lat và long.",
                    "en": "address_string and address_id cannot be placed on the map here (this "
                          "server has no address lookup): send lat and long as well."},
    "bad_attribute": {"vi": "Tham số {value!r} sai dạng: dùng attribute[mã]=giá trị hoặc "
                            "attribute[mã][]=giá trị.",
                      "en": "Malformed parameter {value!r}: use attribute[code]=value or "
                            "attribute[code][]=value."},
    "bad_email": {"vi": "email không hợp lệ.", "en": "email: not a valid e-mail address."},
    "bad_phone": {"vi": "phone không phải số điện thoại hợp lệ.",
                  "en": "phone: not a valid phone number."},
    "bad_date": {"vi": "{name}: không phải ngày giờ hợp lệ (RFC 3339, ví dụ "
                       "2026-05-01T00:00:00+07:00).",
                 "en": "{name}: not a valid date and time (RFC 3339, e.g. "
                       "2026-05-01T00:00:00+07:00)."},
    "date_order": {"vi": "start_date phải trước end_date.",
                   "en": "start_date must not be after end_date."},
    "bad_status": {"vi": "status chỉ nhận open, closed (phân cách bằng dấu phẩy).",
                   "en": "status must be open, closed, or both comma-separated."},
    "too_many_ids": {"vi": "Tối đa 1000 service_request_id mỗi lần.",
                     "en": "At most 1000 service_request_id values at once."},
    "tracking": {"vi": "Mã phản ánh {code}.", "en": "Tracking code {code}."},
    "will_handle": {"vi": "{who} sẽ xử lý", "en": "{who} will handle it"},
    "by": {"vi": ", hạn {when}", "en": " by {when}"},
    "routing": {"vi": "Trung tâm IOC sẽ phân loại và chuyển đơn vị xử lý",
                "en": "The operations centre will pass it to the agency in charge"},
    "duplicate_of": {"vi": "trùng với yêu cầu {id}", "en": "duplicate of request {id}"},
    "contact": {"vi": "Trung tâm Giám sát, điều hành đô thị thông minh (IOC) của tỉnh.",
                "en": "The province's Smart City Operations Centre (IOC)."},
    "key_service": {"vi": "Đọc dữ liệu không cần khoá. Khoá API để gửi yêu cầu do quản trị viên "
                          "hệ thống cấp cho từng ứng dụng.",
                    "en": "Reading needs no key. API keys for posting requests are issued by "
                          "the system's administrators, one per client application."},
}

DATATYPE_TEXTS: dict[str, dict[str, str]] = {
    "string": {"vi": f"Một dòng chữ, tối đa {STRING_MAX} ký tự.",
               "en": f"One line of text, up to {STRING_MAX} characters."},
    "text": {"vi": f"Văn bản, có thể xuống dòng, tối đa {TEXT_MAX} ký tự.",
             "en": f"Text, line breaks allowed, up to {TEXT_MAX} characters."},
    "number": {"vi": "Một số, ví dụ 12 hoặc 3.5.", "en": "A number, e.g. 12 or 3.5."},
    "datetime": {"vi": "Ngày giờ ISO 8601 có múi giờ, ví dụ 2026-05-01T08:30:00+07:00.",
                 "en": "An ISO 8601 date and time with its offset, e.g. "
                       "2026-05-01T08:30:00+07:00."},
    "singlevaluelist": {"vi": "Một key trong values: attribute[mã]=key.",
                        "en": "One key from values: attribute[code]=key."},
    "multivaluelist": {"vi": "Một hoặc nhiều key trong values: attribute[mã][]=key.",
                       "en": "One or more keys from values: attribute[code][]=key."},
}


def language() -> str:
    """`?locale=` (e.g. en, en_US, vi_VN), else `?lang=`, else Accept-Language, else Vietnamese."""
    for name in ("locale", "lang"):
        code = request.args.get(name, "").strip().lower().replace("-", "_").split("_")[0]
        if code in LANGUAGES:
            return code
    best = request.accept_languages.best_match(LANGUAGES)
    return best or current_app.config.get("DEFAULT_LANGUAGE", "vi")


def say(text_id: str, /, **values: Any) -> str:
    """One of TEXTS in the caller's language."""
    return TEXTS[text_id][language()].format(**values)


def _local(obj: Any, field: str, lang: str) -> str:
    return getattr(obj, f"{field}_{lang}", None) or getattr(obj, f"{field}_vi")


# --------------------------------------------------------------------------- jurisdictions


def check_jurisdiction(value: str | None) -> Area | None:
    """The province named by `jurisdiction_id` (its area code); absent or empty means any."""
    value = (value or "").strip()
    if not value:
        return None
    provinces = db.session.scalars(sa.select(Area).where(
        Area.level == "province", Area.is_active.is_(True)).order_by(Area.code)).all()
    found = next((p for p in provinces if p.code == value), None)
    if found is None:
        known = ", ".join(p.code for p in provinces) or "-"
        raise Open311Error(404, say("no_jurisdiction", value=value[:60], known=known))
    return found


def _within(province: Area) -> sa.ColumnElement[bool]:
    """Cases placed in the province or one of its wards and communes."""
    return Case.area_id.in_(sa.select(Area.id).where(
        sa.or_(Area.id == province.id, Area.parent_id == province.id)))


# --------------------------------------------------------------------------- discovery, services


def discovery() -> dict[str, Any]:
    """The Service Discovery document: this server's GeoReport v2 endpoint and how to get a key."""
    config = current_app.config
    changed = db.session.scalar(sa.select(sa.func.max(Category.updated_at)))
    changeset = rfc3339(changed or datetime(1970, 1, 1, tzinfo=UTC))
    return {
        "changeset": changeset,
        "contact": config.get("OPEN311_CONTACT") or say("contact"),
        "key_service": config.get("OPEN311_KEY_SERVICE") or say("key_service"),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": urljoin(request.url_root, "open311/v2"),
            "changeset": changeset,
            "type": "production" if config.get("APP_ENV") == "production" else "test",
            "formats": FORMATS,
        }],
    }


def _active_categories() -> sa.Select[Any]:
    return sa.select(Category).where(Category.is_active.is_(True))


def list_services() -> list[dict[str, Any]]:
    """Active categories as services, in the app's order."""
    lang = language()
    categories = db.session.scalars(_active_categories().order_by(
        Category.sort_order, Category.id)).all()
    return [{
        "service_code": c.service_code,
        "service_name": _local(c, "name", lang),
        "description": _local(c, "description", lang) or None,
        "metadata": bool(c.fields),
        "type": "realtime",
        "keywords": ", ".join(c.keywords or []) or None,
        "group": _local(c, "group", lang) or None,
    } for c in categories]


def _could_be_code(value: str) -> bool:
    """Codes are short printable text; anything else matches nothing (and never reaches SQL:
    PostgreSQL refuses NUL characters in a query)."""
    return 0 < len(value) <= CODE_MAX and value.isprintable()


def find_service(code: str) -> Category:
    """An active category by its service_code; 404 the Open311 way."""
    category = db.session.scalar(_active_categories().where(
        Category.service_code == code)) if _could_be_code(code) else None
    if category is None:
        raise Open311Error(404, say("unknown_service", value=code[:60]))
    return category


def service_definition(code: str) -> dict[str, Any]:
    """A category's fields as Open311 attributes (each needs the user's input)."""
    lang = language()
    category = find_service(code)
    attributes = []
    for order, spec in enumerate(category.fields or [], start=1):
        datatype = spec.get("datatype", "string")
        attribute: dict[str, Any] = {
            "variable": True,
            "code": spec["code"],
            "datatype": datatype,
            "required": bool(spec.get("required")),
            "datatype_description": DATATYPE_TEXTS.get(datatype, {}).get(lang),
            "order": order,
            "description": spec.get(f"label_{lang}") or spec.get("label_vi") or spec["code"],
        }
        if datatype.endswith("valuelist"):
            attribute["values"] = [
                {"key": v["key"], "name": v.get(f"name_{lang}") or v.get("name_vi") or v["key"]}
                for v in spec.get("values") or []]
        attributes.append(attribute)
    return {"service_code": category.service_code, "attributes": attributes}


# --------------------------------------------------------------------------- requests: reading


def request_view(case: Case, lang: str) -> dict[str, Any]:
    """A public report as an Open311 service request: no personal data."""
    state = CaseState(case.state)
    is_open = state in OPEN_STATES
    extra = case.attributes or {}
    return {
        "service_request_id": str(case.id),
        "status": "open" if is_open else "closed",
        "status_notes": status_notes(case, lang),
        "service_name": _local(case.category, "name", lang),
        "service_code": case.category.service_code,
        "description": case.description[:TEXT_MAX] or None,
        "agency_responsible": _local(case.agency, "name", lang) if case.agency else None,
        "service_notice": service_notice(case, lang),
        "requested_datetime": rfc3339(case.submitted_at),
        "updated_datetime": rfc3339(case.updated_at),
        "expected_datetime": rfc3339(case.resolve_due_at or case.due_at) if is_open else None,
        "address": case.address,
        "address_id": extra.get("_address_id") if isinstance(extra.get("_address_id"), str)
        else None,
        "zipcode": None,
        "lat": case.lat,
        "long": case.lon,
        "media_url": _media(case),
    }


def status_notes(case: Case, lang: str) -> str:
    """What the public may read about the status: the reply, the refusal, or the state."""
    state = CaseState(case.state)
    if state is CaseState.REJECTED and case.reject_reason:
        text = reason_label(case.reject_reason, lang) or case.reject_reason
        if case.duplicate_of_id is not None:
            text += f" ({TEXTS['duplicate_of'][lang].format(id=case.duplicate_of_id)})"
        return text
    if state in DONE_STATES and case.public_reply:
        return case.public_reply
    return STATE_LABELS[state][lang]


def service_notice(case: Case, lang: str) -> str:
    """The tracking code to quote, and while open who acts next and by when."""
    text = TEXTS["tracking"][lang].format(code=case.tracking_code)
    if CaseState(case.state) in OPEN_STATES:
        if case.agency is not None:
            plan = TEXTS["will_handle"][lang].format(who=_local(case.agency, "name", lang))
        else:
            plan = TEXTS["routing"][lang]
        due = case.resolve_due_at or case.due_at
        if due is not None:
            local = due.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
            plan += TEXTS["by"][lang].format(when=local.strftime("%Y-%m-%d %H:%M"))
        text += f" {plan}."
    return text


def _media(case: Case) -> str | None:
    """The citizen's first photo (display size, absolute URL), else the media_url given."""
    photo = next((p for p in case.photos if p.kind == "report"), None)
    url = media_url(photo.display_key) if photo is not None else None
    if url:
        return urljoin(request.url_root, url)
    given = (case.attributes or {}).get("_media_url")
    return given if isinstance(given, str) else None


SHOWN_COLUMNS = (Case.id, Case.tracking_code, Case.state, Case.category_id, Case.agency_id,
                 Case.description, Case.attributes, Case.lat, Case.lon, Case.address,
                 Case.submitted_at, Case.updated_at, Case.due_at, Case.resolve_due_at,
                 Case.reject_reason, Case.duplicate_of_id, Case.public_reply, Case.version)
"""What request_view reads: a thousand cases load without their wide private columns."""


def _public(stmt: sa.Select[Any]) -> sa.Select[Any]:
    return stmt.where(publicly_visible()).options(
        load_only(*SHOWN_COLUMNS), joinedload(Case.category).load_only(*CATEGORY_NAME),
        joinedload(Case.agency), selectinload(Case.photos))


@dataclass(frozen=True)
class Window:
    """The requested_datetime range of a query, both ends included."""

    start: datetime
    end: datetime


def parse_time(name: str, raw: str, *, end: bool) -> datetime:
    """RFC 3339 with `Z` or an offset; without one, the province's local time; a bare date is
    the start of that day (for end_date: its end). A `+` turned into a space by an unencoded
    query string is put back."""
    value = raw.strip()
    value = re.sub(r"(T\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?) (\d\d(?::?\d\d)?)$", r"\1+\2", value)
    tz = ZoneInfo(current_app.config["TIMEZONE"])
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            parsed = datetime.combine(date.fromisoformat(value), time(), tz)
            if end:
                parsed += timedelta(days=1, microseconds=-1)
        else:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=tz)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Open311Error(400, say("bad_date", name=name)) from None


def _shift(value: datetime, delta: timedelta) -> datetime:
    try:
        return value + delta
    except OverflowError:
        return datetime.max.replace(tzinfo=UTC) if delta > timedelta(0) else \
            datetime.min.replace(tzinfo=UTC)


def query_window(args: Mapping[str, str], now: datetime) -> Window:
    """The dates asked for; a missing end is 90 days from the other, none: the last 90 days."""
    start = parse_time("start_date", args["start_date"], end=False) \
        if "start_date" in args else None
    end = parse_time("end_date", args["end_date"], end=True) if "end_date" in args else None
    if start is not None and end is not None:
        if start > end:
            raise Open311Error(400, say("date_order"))
        return Window(start, end)
    if start is not None:
        return Window(start, _shift(start, DEFAULT_SPAN))
    if end is not None:
        return Window(_shift(end, -DEFAULT_SPAN), end)
    return Window(now - DEFAULT_SPAN, now)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _id_condition(tokens: Sequence[str]) -> sa.ColumnElement[bool]:
    """Case ids and tracking codes among the tokens; anything else matches nothing."""
    ids = {int(t) for t in tokens if t.isdecimal() and len(t) < 19}
    codes = {code for t in tokens if (code := normalise_code(t)) is not None}
    return sa.or_(Case.id.in_(ids), Case.tracking_code.in_(codes))


def find_requests(raw: MultiDict[str, str]) -> list[dict[str, Any]]:
    """GET requests: by id list (other filters ignored, as the spec says), else by service,
    dates and status; newest first, at most MAX_RESULTS."""
    try:
        args = RequestQuery().load(raw.to_dict(flat=True))
    except ma.ValidationError as exc:
        raise Open311Error(400, *describe_field_errors(exc.messages_dict)) from None
    province = check_jurisdiction(raw.get("jurisdiction_id"))
    stmt = _public(sa.select(Case))
    if province is not None:
        stmt = stmt.where(_within(province))
    ids = _split(args.get("service_request_id"))
    if len(ids) > MAX_RESULTS:
        raise Open311Error(400, say("too_many_ids"))
    if ids:
        stmt = stmt.where(_id_condition(ids))
    else:
        window = query_window(args, utcnow())
        stmt = stmt.where(Case.submitted_at >= window.start, Case.submitted_at <= window.end)
        codes = [c for c in _split(args.get("service_code")) if _could_be_code(c)]
        if "service_code" in args:
            stmt = stmt.where(Case.category_id.in_(sa.select(Category.id).where(
                Category.service_code.in_(codes))))
        statuses = {s.lower() for s in _split(args.get("status"))}
        if "status" in args and (not statuses or not statuses <= set(STATUS_STATES)):
            raise Open311Error(400, say("bad_status"))
        if statuses and statuses != set(STATUS_STATES):
            states = set().union(*(STATUS_STATES[s] for s in statuses))
            stmt = stmt.where(Case.state.in_(sorted(states)))
    stmt = stmt.order_by(Case.submitted_at.desc(), Case.id.desc()).limit(MAX_RESULTS)
    lang = language()
    return [request_view(case, lang) for case in db.session.scalars(stmt).unique()]


def get_request(request_id: str) -> Case:
    """One public request by id (or tracking code); 404 the Open311 way."""
    check_jurisdiction(request.args.get("jurisdiction_id"))
    try:
        return public_report(request_id)
    except NotFound:
        raise Open311Error(404, say("no_request", value=request_id[:60])) from None


def resolve_token(token: str) -> dict[str, Any]:
    """We issue no tokens (requests are created at once); a request id stands for itself."""
    check_jurisdiction(request.args.get("jurisdiction_id"))
    try:
        case = public_report(token)
    except NotFound:
        raise Open311Error(404, say("no_token", value=token[:60])) from None
    return {"service_request_id": str(case.id), "token": token}


# --------------------------------------------------------------------------- requests: writing


def _fit(answers: Mapping[str, Any], fields: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Form answers shaped for the field types: a lone value for a multi-value list becomes a
    list of one, a list of one for any other field its value; empty values are absent."""
    kinds = {f.get("code"): f.get("datatype") for f in fields}
    fitted: dict[str, Any] = {}
    for code, value in answers.items():
        kind = kinds.get(code)
        if isinstance(value, list):
            value = [v for v in value if v.strip()]
            if kind not in (None, "multivaluelist") and len(value) == 1:
                value = value[0]
        elif kind == "multivaluelist" and value.strip():
            value = [value]
        fitted[code] = value
    return fitted


def _contact(params: Mapping[str, Any]) -> dict[str, str | None]:
    """The submitter's name, phone and e-mail: private, for operators only."""
    errors = []
    email = phone = None
    if params.get("email"):
        try:
            email = normalise_email(params["email"])
        except InvalidIdentifier:
            errors.append(say("bad_email"))
    if params.get("phone"):
        try:
            phone = normalise_phone(params["phone"], current_app.config["PHONE_REGION"])
        except InvalidIdentifier:
            errors.append(say("bad_phone"))
    if errors:
        raise Open311Error(400, *errors)
    name = " ".join(filter(None, (params.get("first_name"), params.get("last_name"))))
    return {"reporter_name": name or None, "reporter_phone": phone, "reporter_email": email}


def media_files() -> list[FileStorage]:
    """The photos of a multipart POST (`media` parts; empty parts are no photo)."""
    return [f for name in MEDIA_FIELDS for f in request.files.getlist(name) if f.filename]


def create_request(raw: MultiDict[str, str], files: list[FileStorage]) -> list[dict[str, Any]]:
    """POST requests: check the key, the jurisdiction, the service and the fields, then file an
    ordinary report through the app's intake (same checks, placing, routing and workflow)."""
    key = request_api_key()
    if key is None:
        raise Open311Error(403, say("bad_key" if given_key() else "no_key"))
    key_id = key.id
    check_jurisdiction(raw.get("jurisdiction_id"))
    code = (raw.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, say("no_service_code"))
    category = find_service(code)
    try:
        params = RequestForm().load(raw.to_dict(flat=True))
    except ma.ValidationError as exc:
        raise Open311Error(400, *describe_field_errors(exc.messages_dict)) from None
    try:
        answers = _fit(attribute_answers(raw.items(multi=True)), category.fields or [])
    except MalformedAttribute as exc:
        raise Open311Error(400, say("bad_attribute", value=str(exc)[:80])) from None
    contact = _contact(params)
    point = (params["lat"], params["long"]) if "lat" in params else None
    if point is None and not files:
        located = "address_string" in params or "address_id" in params
        raise Open311Error(400, say("no_geocoder" if located else "no_location"))
    limits = photo_limits(current_app.config)
    check_count(files, limits, field="media")
    blobs = read_uploads(files, limits)
    kept = {"_media_url": params.get("media_url"), "_address_id": params.get("address_id")}
    case = file_report(Intake(
        category=category, description=params.get("description", "").strip(),
        attributes=answers, blobs=blobs, source=SOURCE, actor=Actor(None, Party.OPEN311_CLIENT),
        point=point, address=params.get("address_string"),
        channel_attributes={k: v for k, v in kept.items() if v}, photo_field="media",
        **contact))
    mark_used(key_id)
    db.session.commit()
    log.info("case %s filed through Open311 with key %s", case.id, key_id)
    return [{"service_request_id": str(case.id),
             "service_notice": service_notice(case, language()), "account_id": None}]
