"""Who may call what: every endpoint of the app × every kind of caller, one table.

Each row is one request (a rule of the URL map with a concrete path and body) and the status
each caller must get, written out here, never derived from the code under test. Columns:

    anon  A  B  SX  SY  OP  SUP  ADM
    anonymous, citizen A (the private case's reporter), citizen B, staff of agency X (which holds
    it), staff of agency Y, operator, supervisor, admin.

Rows that change something use a fresh case, breach or reference row per cell (or a body only
the permitted callers could get past the access check with), so every cell is independent.
A companion test fails when the app grows a rule the table does not list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.exceptions import HTTPException

from reports_app.extensions import db
from reports_app.models import AuditEntry, Case
from tests.reports.conftest import form, multipart
from tests.security.conftest import (
    IDENTITY_KEYS,
    IDENTITY_STRINGS,
    ROLES,
    SECRET_TEXT,
    World,
)

Values = dict[str, Any]


@dataclass(frozen=True)
class Row:
    """One request and the status each caller gets."""

    method: str
    rule: str
    """The URL map rule this request exercises (checked: the path must match it)."""
    path: str
    """`rule` with values: `{name}` from the world's values or the row's `fresh`."""
    expect: str
    """Eight statuses: anon, A, B, SX, SY, OP, SUP, ADM."""
    body: Callable[[Values], dict[str, Any]] | None = None
    """Keyword arguments for the client (json=, data=…), from the values."""
    fresh: Callable[[World, str], Values] | None = None
    """Values made anew for each cell (a case, a breach, a unique code)."""
    token: str = "access"
    """Which token the caller sends: access or refresh (each cell gets a newly minted one, so
    logging out in one cell revokes nothing another cell uses)."""
    label: str = ""

    @property
    def statuses(self) -> dict[str, int]:
        codes = [int(c) for c in self.expect.split()]
        assert len(codes) == len(ROLES), self
        return dict(zip(ROLES, codes, strict=True))

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.label}]" if self.label else "")


# ----------------------------------------------------------------------------- request bodies


def _case(state: str = "assigned") -> Callable[[World, str], Values]:
    def make(world: World, _role: str) -> Values:
        case = world.fresh_case(state)
        return {"case": case.id, "version": case.version}
    return make


def _breach(world: World, _role: str) -> Values:
    return {"breach": world.fresh_breach().id}


def _unique(world: World, _role: str) -> Values:
    return {"code": world.unique("M"), "phone": f"09870{next(world._seq):05d}"}


def _json(build: Callable[[Values], dict[str, Any]]) -> Callable[[Values], dict[str, Any]]:
    return lambda v: {"json": build(v)}


def _report_form(_values: Values) -> dict[str, Any]:
    payload, content_type = multipart(form())
    return {"data": payload, "content_type": content_type}


def _open311_form(values: Values) -> dict[str, Any]:
    data = {"service_code": "roads", "lat": "12.62", "long": "108.02", "description": "Ổ gà"}
    if values.get("with_key"):
        data["api_key"] = values["open311_key"]
    return {"data": data}


ADMIN_ONLY = "401 403 403 403 403 403 403 {ok}"
EVERYONE = "{ok} {ok} {ok} {ok} {ok} {ok} {ok} {ok}"
SIGNED_IN = "401 {ok} {ok} {ok} {ok} {ok} {ok} {ok}"
OVERSEERS = "401 403 403 403 403 403 {ok} {ok}"


def _admin_crud(resource: str, rule: str, victim: str, create: Callable[[Values], dict],
                patch: dict[str, Any]) -> list[Row]:
    base = f"/api/v1/admin/{resource}"
    item_rule = f"{base}/<int:item_id>"
    item = f"{base}/{{{victim}}}"
    assert rule == base
    return [
        Row("GET", base, base, ADMIN_ONLY.format(ok=200)),
        Row("POST", base, base, ADMIN_ONLY.format(ok=201), body=_json(create), fresh=_unique),
        Row("GET", item_rule, item, ADMIN_ONLY.format(ok=200)),
        Row("PATCH", item_rule, item, ADMIN_ONLY.format(ok=200), body=_json(lambda _v: patch)),
        Row("DELETE", item_rule, item, ADMIN_ONLY.format(ok=200)),
    ]


def _square(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + 0.01, lat],
                                                [lon + 0.01, lat + 0.01], [lon, lat + 0.01],
                                                [lon, lat]]]}


ROWS: list[Row] = [
    # --- public pages, health, documents
    Row("GET", "/", "/", EVERYONE.format(ok=200)),
    Row("GET", "/healthz", "/healthz", EVERYONE.format(ok=200)),
    Row("GET", "/readyz", "/readyz", EVERYONE.format(ok=200)),
    Row("GET", "/static/<path:filename>", "/static/console/js/ui.js", EVERYONE.format(ok=200)),
    Row("GET", "/reports/<path:code>", "/reports/{case_y_code}", EVERYONE.format(ok=200)),
    Row("GET", "/reports/<path:code>", "/reports/{case_x_code}", EVERYONE.format(ok=404),
        label="private report"),
    Row("GET", "/console/", "/console/", EVERYONE.format(ok=200)),
    Row("GET", "/console/login", "/console/login", EVERYONE.format(ok=200)),
    Row("GET", "/console/triage", "/console/triage", EVERYONE.format(ok=200)),
    Row("GET", "/console/queue", "/console/queue", EVERYONE.format(ok=200)),
    Row("GET", "/console/supervisor", "/console/supervisor", EVERYONE.format(ok=200)),
    Row("GET", "/console/cases/<bigint:case_id>", "/console/cases/{case_x}",
        EVERYONE.format(ok=200), label="a shell: the data needs a token"),
    Row("GET", "/console/<path:rest>", "/console/nothing/here", EVERYONE.format(ok=404)),
    Row("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", EVERYONE.format(ok=200)),
    # --- public reference data and feeds
    Row("GET", "/api/v1/categories", "/api/v1/categories", EVERYONE.format(ok=200)),
    Row("GET", "/api/v1/workflow", "/api/v1/workflow", EVERYONE.format(ok=200)),
    Row("GET", "/api/v1/agencies", "/api/v1/agencies", EVERYONE.format(ok=200)),
    Row("GET", "/api/v1/areas.geojson", "/api/v1/areas.geojson", EVERYONE.format(ok=200)),
    Row("GET", "/api/v1/public/reports", "/api/v1/public/reports", EVERYONE.format(ok=200)),
    Row("GET", "/api/v1/public/reports/<code>", "/api/v1/public/reports/{case_y_code}",
        EVERYONE.format(ok=200)),
    Row("GET", "/api/v1/public/reports/<code>", "/api/v1/public/reports/{case_x_code}",
        EVERYONE.format(ok=404), label="private report"),
    Row("GET", "/api/v1/reports/nearby", "/api/v1/reports/nearby?lat=12.62&lon=108.02",
        EVERYONE.format(ok=200)),
    Row("GET", "/api/v1/stats/public-summary", "/api/v1/stats/public-summary",
        EVERYONE.format(ok=200)),
    Row("GET", "/media/<path:key>", "/media/{display_key}", EVERYONE.format(ok=200)),
    Row("GET", "/media/<path:key>", "/media/{original_key}", EVERYONE.format(ok=404),
        label="the original, with its EXIF"),
    # --- accounts
    Row("POST", "/api/v1/auth/register", "/api/v1/auth/register", EVERYONE.format(ok=201),
        body=_json(lambda v: {"phone": v["phone"], "password": "mật khẩu dài"}), fresh=_unique),
    Row("POST", "/api/v1/auth/login", "/api/v1/auth/login", EVERYONE.format(ok=200),
        body=_json(lambda v: {"username": v["login"], "password": v["password"]})),
    Row("POST", "/api/v1/auth/refresh", "/api/v1/auth/refresh", SIGNED_IN.format(ok=200),
        token="refresh"),
    Row("POST", "/api/v1/auth/logout", "/api/v1/auth/logout", SIGNED_IN.format(ok=200)),
    Row("GET", "/api/v1/me", "/api/v1/me", SIGNED_IN.format(ok=200)),
    # --- citizens' reports
    Row("POST", "/api/v1/reports", "/api/v1/reports", "401 201 201 403 403 403 403 403",
        body=_report_form),
    Row("GET", "/api/v1/reports/mine", "/api/v1/reports/mine", SIGNED_IN.format(ok=200)),
    Row("GET", "/api/v1/reports/<bigint:case_id>", "/api/v1/reports/{case_x}",
        "401 200 404 404 404 404 404 404"),
    Row("POST", "/api/v1/reports/<bigint:case_id>/info", "/api/v1/reports/{case}/info",
        "401 200 404 404 404 404 404 404", body=_json(lambda v: {"note": "Đây ạ"}),
        fresh=_case("need_info")),
    Row("POST", "/api/v1/reports/<bigint:case_id>/feedback", "/api/v1/reports/{case}/feedback",
        "401 201 404 404 404 404 404 404", body=_json(lambda v: {"rating": "satisfied"}),
        fresh=_case("resolved")),
    # --- the console's cases
    Row("GET", "/api/v1/cases", "/api/v1/cases", "401 403 403 200 200 200 200 200"),
    Row("GET", "/api/v1/cases/<bigint:case_id>", "/api/v1/cases/{case_x}",
        "401 403 403 200 404 200 200 200"),
    Row("POST", "/api/v1/cases/<bigint:case_id>/actions/<action>", "/api/v1/cases/{case}/actions/comment",
        "401 403 403 200 404 200 200 200",
        body=_json(lambda v: {"version": v["version"], "note": "Ghi chú"}), fresh=_case(),
        label="comment"),
    Row("POST", "/api/v1/cases/<bigint:case_id>/actions/<action>", "/api/v1/cases/{case}/actions/accept",
        "401 403 403 200 404 403 200 200",
        body=_json(lambda v: {"version": v["version"]}), fresh=_case(), label="accept"),
    Row("POST", "/api/v1/cases/<bigint:case_id>/actions/<action>", "/api/v1/cases/{case}/actions/reject",
        "401 403 403 403 404 200 200 200",
        body=_json(lambda v: {"version": v["version"], "reason": "spam"}), fresh=_case(),
        label="reject"),
    # --- deadlines
    Row("GET", "/api/v1/sla/breaches", "/api/v1/sla/breaches", OVERSEERS.format(ok=200)),
    Row("POST", "/api/v1/sla/breaches/<bigint:event_id>/acknowledge",
        "/api/v1/sla/breaches/{breach}/acknowledge", OVERSEERS.format(ok=200),
        body=_json(lambda v: {"note": "Đã nhắc đơn vị"}), fresh=_breach),
    Row("GET", "/api/v1/sla/cases/<bigint:case_id>", "/api/v1/sla/cases/{case_x}",
        "401 403 403 200 404 200 200 200"),
    Row("GET", "/api/v1/sla/due-soon", "/api/v1/sla/due-soon", "401 403 403 200 200 200 200 200"),
    Row("GET", "/api/v1/sla/due-soon", "/api/v1/sla/due-soon?agency={agency_x}",
        "401 403 403 200 403 200 200 200", label="another agency's queue"),
    # --- figures
    Row("GET", "/api/v1/stats/summary", "/api/v1/stats/summary", OVERSEERS.format(ok=200)),
    Row("GET", "/api/v1/stats/monthly/<month>", "/api/v1/stats/monthly/{month}",
        OVERSEERS.format(ok=200)),
    # --- reference data (admins)
    *_admin_crud("agencies", "/api/v1/admin/agencies", "agency",
                 lambda v: {"code": v["code"], "name_vi": "Đơn vị mới", "name_en": "New"},
                 {"name_en": "Renamed agency"}),
    *_admin_crud("areas", "/api/v1/admin/areas", "area",
                 lambda v: {"code": v["code"], "name_vi": "Xã mới", "name_en": "New commune",
                            "level": "commune", "boundary": _square(109.7, 13.7)},
                 {"name_en": "Renamed area"}),
    *_admin_crud("categories", "/api/v1/admin/categories", "category",
                 lambda v: {"code": v["code"], "service_code": v["code"], "name_vi": "Mới",
                            "name_en": "New"},
                 {"name_en": "Renamed category"}),
    *_admin_crud("routing-rules", "/api/v1/admin/routing-rules", "routing_rule",
                 lambda v: {"category_id": v["category_other"], "area_id": v["ward"],
                            "agency_id": v["agency_y"]},
                 {"note": "Renamed rule"}),
    *_admin_crud("sla-policies", "/api/v1/admin/sla-policies", "sla_policy",
                 lambda v: {"category_id": v["category_other"], "priority": "urgent",
                            "triage": "PT1H", "accept": "PT2H", "resolve": "P1D"},
                 {"warn_ratio": 0.5}),
    *_admin_crud("users", "/api/v1/admin/users", "user",
                 lambda v: {"email": f"{v['code'].lower()}@example.test",
                            "password": "mật khẩu dài", "role": "operator"},
                 {"full_name": "Renamed user"}),
    Row("GET", "/api/v1/admin/areas.geojson", "/api/v1/admin/areas.geojson",
        ADMIN_ONLY.format(ok=200)),
    Row("POST", "/api/v1/admin/areas/import", "/api/v1/admin/areas/import",
        ADMIN_ONLY.format(ok=200), fresh=_unique, body=_json(lambda v: {
            "type": "FeatureCollection", "features": [{
                "type": "Feature", "geometry": _square(109.9, 13.9),
                "properties": {"code": v["code"], "name_vi": "Phường nhập", "level": "ward"}}]})),
    Row("GET", "/api/v1/admin/api-keys", "/api/v1/admin/api-keys", ADMIN_ONLY.format(ok=200)),
    Row("POST", "/api/v1/admin/api-keys", "/api/v1/admin/api-keys", ADMIN_ONLY.format(ok=201),
        body=_json(lambda v: {"name": "Ứng dụng mới"})),
    Row("GET", "/api/v1/admin/api-keys/<int:key_id>", "/api/v1/admin/api-keys/{api_key}",
        ADMIN_ONLY.format(ok=200)),
    Row("DELETE", "/api/v1/admin/api-keys/<int:key_id>", "/api/v1/admin/api-keys/{api_key}",
        ADMIN_ONLY.format(ok=200)),
    Row("GET", "/api/v1/admin/audit-log", "/api/v1/admin/audit-log", ADMIN_ONLY.format(ok=200)),
    # --- Open311: the API key is the credential; a JWT grants nothing there
    Row("GET", "/open311/discovery.<any(json, xml):fmt>", "/open311/discovery.json",
        EVERYONE.format(ok=200)),
    Row("GET", "/open311/v2/discovery.<any(json, xml):fmt>", "/open311/v2/discovery.xml",
        EVERYONE.format(ok=200)),
    Row("GET", "/open311/v2/services.<any(json, xml):fmt>", "/open311/v2/services.json",
        EVERYONE.format(ok=200)),
    Row("GET", "/open311/v2/services/<code>.<any(json, xml):fmt>",
        "/open311/v2/services/roads.json", EVERYONE.format(ok=200)),
    Row("GET", "/open311/v2/requests.<any(json, xml):fmt>", "/open311/v2/requests.json",
        EVERYONE.format(ok=200)),
    Row("POST", "/open311/v2/requests.<any(json, xml):fmt>", "/open311/v2/requests.json",
        EVERYONE.format(ok=403), body=_open311_form, label="no api_key"),
    Row("POST", "/open311/v2/requests.<any(json, xml):fmt>", "/open311/v2/requests.json",
        EVERYONE.format(ok=200), body=lambda v: _open311_form({**v, "with_key": True}),
        label="with api_key"),
    Row("GET", "/open311/v2/requests/<request_id>.<any(json, xml):fmt>",
        "/open311/v2/requests/{case_y}.json", EVERYONE.format(ok=200)),
    Row("GET", "/open311/v2/requests/<request_id>.<any(json, xml):fmt>",
        "/open311/v2/requests/{case_x}.json", EVERYONE.format(ok=404), label="private report"),
    Row("GET", "/open311/v2/tokens/<token>.<any(json, xml):fmt>",
        "/open311/v2/tokens/{case_y}.json", EVERYONE.format(ok=200)),
    Row("*", "/open311", "/open311", EVERYONE.format(ok=404)),
    Row("*", "/open311/", "/open311/", EVERYONE.format(ok=404)),
    Row("*", "/open311/<path:rest>", "/open311/v2/unknown.json", EVERYONE.format(ok=404)),
]

DOCUMENTS = frozenset({"/api/v1/openapi.json", "/api/v1/workflow"})
"""Descriptions of the API, the same for everyone: they name fields, they carry no data."""
UNLIMITED_METHODS = "*"
"""Rules declared without methods (the Open311 catch-all answers every method)."""


def _values(world: World) -> Values:
    refdata = world.refdata
    return {
        "case_x": world.case_x.id, "case_x_code": world.case_x.tracking_code,
        "case_y": world.case_y.id, "case_y_code": world.case_y.tracking_code,
        "display_key": world.photo.display_key, "original_key": world.photo.original_key,
        "agency_x": refdata.department.id, "agency_y": refdata.ward_agency.id,
        "ward": refdata.ward.id, "category_other": refdata.other.id, "month": world.month,
        "api_key": world.victims["api_key"].id, "open311_key": world.api_key,
        "login": world.users["operator"].email,
        "password": "correct horse battery",
        **{name: row.id for name, row in world.victims.items() if name != "api_key"},
    }


def _walk(value: Any) -> Any:
    """Every dict, list and scalar inside a JSON value."""
    stack = [value]
    while stack:
        item = stack.pop()
        yield item
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _text(response: Any) -> str:
    """The body as text, whatever it holds (photos too)."""
    return response.get_data().decode("utf-8", "replace")


def _identity_leaks(world: World, response: Any) -> list[str]:
    """What of a reporter's identity a response carries (names, contacts, ids, photo GPS)."""
    text = _text(response)
    leaks = [s for s in IDENTITY_STRINGS if s in text]
    if not response.is_json or response.request.path in DOCUMENTS:
        return leaks
    reporter_id = world.users["citizen_a"].id
    exif = (world.photo.exif_lat, world.photo.exif_lon)
    for item in _walk(response.get_json()):
        if isinstance(item, dict):
            leaks += [f"key {k}" for k in IDENTITY_KEYS & set(item)]
            if item.get("id") == reporter_id and {"email", "phone", "full_name", "role"} & set(item):
                leaks.append("the reporter's account")
        elif isinstance(item, float) and any(abs(item - e) < 1e-6 for e in exif):
            leaks.append(f"EXIF coordinate {item}")
    return leaks


def _shows_private_report(world: World, response: Any) -> bool:
    """Whether a response names the private report (beyond echoing the address asked for)."""
    text = _text(response)
    code = world.case_x.tracking_code
    return SECRET_TEXT in text or (code in text and code not in response.request.full_path)


def _send(client: Any, world: World, row: Row, role: str, values: Values) -> Any:
    cell = dict(values)
    if row.fresh:
        cell.update(row.fresh(world, role))
    headers = world.token(role, row.token)
    kwargs = row.body(cell) if row.body else {}
    method = "GET" if row.method == UNLIMITED_METHODS else row.method
    return client.open(row.path.format(**cell), method=method, headers=headers, **kwargs)


def test_every_endpoint_answers_every_caller_as_the_table_says(app: Flask, client, world):
    """Each (endpoint, caller) cell gets exactly its status; staff never see who reported;
    nobody but its reporter (and the console) sees a private report."""
    values = _values(world)
    wrong, leaks = [], []
    for row in ROWS:
        for role, expected in row.statuses.items():
            response = _send(client, world, row, role, values)
            if response.status_code != expected:
                wrong.append(f"{row.name} as {role}: {response.status_code}, expected {expected}"
                             f" {_text(response)[:160]}")
            if role in ("staff_x", "staff_y"):
                leaks += [f"{row.name} as {role}: {leak}"
                          for leak in _identity_leaks(world, response)]
            if role in ("anon", "citizen_b") and _shows_private_report(world, response):
                leaks.append(f"{row.name} as {role}: the private report")
            response.close()
    assert not wrong, "\n".join(wrong)
    assert not leaks, "\n".join(leaks)
    cells = len(ROWS) * len(ROLES)
    print(f"\nauthorization matrix: {len(ROWS)} requests x {len(ROLES)} callers = {cells} cells")
    admin_writes = sum(1 for r in ROWS if r.method in ("POST", "PATCH", "DELETE")
                       and r.path.startswith("/api/v1/admin/"))
    db.session.rollback()
    actors = db.session.scalars(sa.select(AuditEntry.actor_id)).all()
    assert set(actors) == {world.users["admin"].id}, "only the admin's cells changed reference data"
    assert len(actors) >= admin_writes


def test_the_table_lists_every_rule_of_the_app(app: Flask):
    """A new endpoint must be added to the matrix: every rule and method has a row."""
    served = set()
    for rule in app.url_map.iter_rules():
        methods = (rule.methods or {UNLIMITED_METHODS}) - {"HEAD", "OPTIONS"}
        served |= {(method, rule.rule) for method in methods}
    listed = {(row.method, row.rule) for row in ROWS}
    assert served - listed == set(), "rules without a row in the matrix"
    assert listed - served == set(), "rows for rules the app no longer has"


def test_each_row_requests_the_rule_it_names(app: Flask):
    """A row's concrete path is routed to the rule it claims (so the table cannot drift)."""
    adapter = app.url_map.bind("localhost")
    misrouted = []
    for row in ROWS:
        path = row.path.split("?")[0].format_map(_Placeholders())
        method = "GET" if row.method == UNLIMITED_METHODS else row.method
        try:
            rule, _args = adapter.match(path, method=method, return_rule=True)
        except HTTPException as exc:
            misrouted.append(f"{row.name}: {exc}")
            continue
        if rule.rule != row.rule:
            misrouted.append(f"{row.name}: routed to {rule.rule}, not {row.rule}")
    assert misrouted == []


class _Placeholders(dict):
    """Stand-in values so a path template can be routed without a world."""

    def __missing__(self, key: str) -> str:
        if key in ("display_key", "original_key"):
            return "display/" + "0" * 64 + ".jpg"
        return "PA-2612-ABCD" if key.endswith("_code") else "1"


def test_staff_never_change_another_agencys_case(client, world):
    """A refused action by agency Y's staff leaves agency X's case exactly as it was."""
    case = world.fresh_case()
    before = (case.state, case.version)
    for action, body in (("accept", {}), ("comment", {"note": "x"}),
                         ("transfer", {"reason": "không phải của chúng tôi"})):
        response = client.post(f"/api/v1/cases/{case.id}/actions/{action}",
                               json={"version": case.version, **body},
                               headers=world.token("staff_y"))
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"
    db.session.expire_all()
    fresh = db.session.get(Case, case.id)
    assert (fresh.state, fresh.version) == before
