"""Free text from anyone: Vietnamese typed in NFD is stored in NFC, and SQL or HTML in any text
field is stored verbatim as text, never run, and escaped wherever a page shows it."""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.models import (
    Agency,
    ApiKey,
    Area,
    Case,
    CaseEvent,
    Category,
    Feedback,
    SlaEvent,
    User,
)
from tests import factories
from tests.open311.conftest import xml_of
from tests.reports.conftest import form, multipart
from tests.security.conftest import World

NFC = "Nước ngập sâu ở đường Lê Duẩn, phường Tân Lập; cống bị nghẹt"
NFD = unicodedata.normalize("NFD", NFC)
STATIC_JS = Path(__file__).resolve().parents[2] / "reports_app" / "static" / "console" / "js"


def _post_report(world: World, client: Any, **fields: Any) -> Case:
    payload, content_type = multipart(form(**fields))
    response = client.post("/api/v1/reports", data=payload, content_type=content_type,
                           headers=world.token("citizen_a"))
    assert response.status_code == 201, response.get_json()
    db.session.expire_all()
    return db.session.get(Case, response.get_json()["id"])


def _open311(world: World, client: Any, **fields: Any) -> Case:
    data = {"api_key": world.api_key, "service_code": "water", "lat": "12.62", "long": "108.02",
            **fields}
    response = client.post("/open311/v2/requests.json", data=data)
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    return db.session.get(Case, int(response.get_json()[0]["service_request_id"]))


def _action(world: World, client: Any, case: Case, action: str, role: str,
            **body: Any) -> CaseEvent:
    response = client.post(f"/api/v1/cases/{case.id}/actions/{action}",
                           json={"version": case.version, **body}, headers=world.token(role))
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    return db.session.scalars(sa.select(CaseEvent).where(CaseEvent.case_id == case.id)
                              .order_by(CaseEvent.id.desc())).first()


def _admin(world: World, client: Any, method: str, path: str, body: dict[str, Any]) -> dict:
    response = client.open(path, method=method, json=body, headers=world.token("admin"))
    assert response.status_code in (200, 201), response.get_json()
    db.session.expire_all()
    return response.get_json()


def _water(world: World) -> Category:
    """A category with a free-text question, for answers in `attributes`."""
    existing = db.session.scalar(sa.select(Category).where(Category.code == "water"))
    return existing or factories.make_category("water", service_code="water", fields=[{
        "code": "detail", "datatype": "text", "required": False, "label_vi": "Chi tiết",
        "label_en": "Detail", "values": []}])


def _escaped_nfd() -> str:
    """The NFD text as JSON with \\u escapes, so no text normaliser can see it before parsing."""
    return json.dumps({"detail": NFD}, ensure_ascii=True)


FIELDS: dict[str, Callable[[World, Any, str], str]] = {
    "report description": lambda w, c, t: _post_report(w, c, description=t).description,
    "report address": lambda w, c, t: _post_report(w, c, address=t).address,
    "report attribute answer (JSON-escaped)": lambda w, c, _t: _post_report(
        w, c, category=_water(w).code, attributes=_escaped_nfd()).attributes["detail"],
    "case note": lambda w, c, t: _action(w, c, w.fresh_case(), "comment", "staff_x",
                                         note=t).note,
    "transfer reason": lambda w, c, t: _action(w, c, w.fresh_case(), "transfer", "operator",
                                               reason=t).reason,
    "reporter's answer": lambda w, c, t: _answer(w, c, t),
    "feedback comment": lambda w, c, t: _rate(w, c, t),
    "breach acknowledgement": lambda w, c, t: _acknowledge(w, c, t),
    "registered name": lambda w, c, t: _register(w, c, t),
    "agency name": lambda w, c, t: db.session.get(Agency, _admin(w, c, "POST", "/api/v1/admin/agencies", {
        "code": w.unique("NFC"), "name_vi": t, "name_en": "Agency"})["id"]).name_vi,
    "category keyword (in a list)": lambda w, c, t: db.session.get(Category, _admin(
        w, c, "POST", "/api/v1/admin/categories", {
            "code": w.unique("kw"), "service_code": w.unique("kw"), "name_vi": "Loại",
            "name_en": "Kind", "keywords": [t]})["id"]).keywords[0],
    "category question label (nested)": lambda w, c, t: db.session.get(Category, _admin(
        w, c, "POST", "/api/v1/admin/categories", {
            "code": w.unique("lb"), "service_code": w.unique("lb"), "name_vi": "Loại",
            "name_en": "Kind", "fields": [{"code": "q", "datatype": "string", "label_vi": t,
                                            "label_en": "Q"}]})["id"]).fields[0]["label_vi"],
    "imported area name (nested)": lambda w, c, t: db.session.get(Area, _admin(
        w, c, "POST", "/api/v1/admin/areas/import", {
            "type": "FeatureCollection", "features": [{
                "type": "Feature", "geometry": factories.square(109.3, 13.3),
                "properties": {"code": w.unique("IM"), "name_vi": t}}]})[0]["id"]).name_vi,
    "account name set by an admin": lambda w, c, t: db.session.get(User, _admin(
        w, c, "PATCH", f"/api/v1/admin/users/{w.victims['user'].id}",
        {"full_name": t})["id"]).full_name,
    "Open311 key name": lambda w, c, t: db.session.get(ApiKey, _admin(
        w, c, "POST", "/api/v1/admin/api-keys", {"name": t})["id"]).name,
    "Open311 description": lambda w, c, t: _open311(w, c, description=t).description,
    "Open311 address_string": lambda w, c, t: _open311(w, c, address_string=t).address,
    "Open311 first and last name": lambda w, c, t: _open311(
        w, c, first_name=t, last_name=t).reporter_name.removesuffix(" " + NFC),
    "Open311 attribute answer": lambda w, c, t: _open311(
        w, c, **{"attribute[detail]": t}).attributes["detail"],
}


def _answer(world: World, client: Any, text: str) -> str:
    case = world.fresh_case("need_info")
    response = client.post(f"/api/v1/reports/{case.id}/info", json={"note": text},
                           headers=world.token("citizen_a"))
    assert response.status_code == 200, response.get_json()
    return db.session.scalars(sa.select(CaseEvent.note).where(
        CaseEvent.case_id == case.id, CaseEvent.action == "provide_info")).one()


def _rate(world: World, client: Any, text: str) -> str:
    case = world.fresh_case("resolved")
    response = client.post(f"/api/v1/reports/{case.id}/feedback",
                           json={"rating": "accepted", "comment": text},
                           headers=world.token("citizen_a"))
    assert response.status_code == 201, response.get_json()
    return db.session.scalars(sa.select(Feedback.comment).where(Feedback.case_id == case.id)).one()


def _acknowledge(world: World, client: Any, text: str) -> str:
    breach = world.fresh_breach()
    response = client.post(f"/api/v1/sla/breaches/{breach.id}/acknowledge", json={"note": text},
                           headers=world.token("supervisor"))
    assert response.status_code == 200, response.get_json()
    db.session.expire_all()
    return db.session.get(SlaEvent, breach.id).acknowledgement_note


def _register(world: World, client: Any, text: str) -> str:
    response = client.post("/api/v1/auth/register", json={
        "phone": f"09860{next(world._seq):05d}", "password": "mật khẩu dài", "full_name": text})
    assert response.status_code == 201, response.get_json()
    return db.session.get(User, response.get_json()["user"]["id"]).full_name


def test_vietnamese_typed_in_nfd_is_stored_in_nfc_in_every_free_text_field(client, world):
    """NFD input (as some phones and keyboards send it) is stored NFC, in every text field."""
    assert NFD != NFC
    _water(world)
    not_nfc = {}
    for name, send in FIELDS.items():
        stored = send(world, client, NFD)
        if stored != NFC:
            not_nfc[name] = stored
    assert not_nfc == {}
    print(f"\nNFD → NFC checked in {len(FIELDS)} free-text fields")


INJECTIONS = {
    "description": "'; DROP TABLE cases; --",
    "address": "<script>alert('địa chỉ')</script>",
    "note": '" OR "1"="1" --',
    "comment": "<img src=x onerror=alert(1)>",
    "open311": "</description><script>alert(1)</script><description>",
}


def test_sql_and_html_in_text_fields_are_stored_verbatim_and_never_run(client, world):
    """Injection attempts are only text: stored as sent, the tables untouched, searchable."""
    _water(world)
    case = _post_report(world, client, description=INJECTIONS["description"],
                        address=INJECTIONS["address"])
    event = _action(world, client, case, "comment", "staff_x", note=INJECTIONS["note"])
    comment = _rate(world, client, INJECTIONS["comment"])
    filed = _open311(world, client, description=INJECTIONS["open311"])
    assert (case.description, case.address) == (INJECTIONS["description"], INJECTIONS["address"])
    assert event.note == INJECTIONS["note"]
    assert comment == INJECTIONS["comment"]
    assert filed.description == INJECTIONS["open311"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) >= 4
    for query in ("'; DROP TABLE cases; --", "%' OR 1=1 --", "_%_", "\\"):
        found = client.get("/api/v1/cases", query_string={"q": query},
                           headers=world.token("operator"))
        assert found.status_code == 200
        ids = [item["id"] for item in found.get_json()["items"]]
        assert ids == ([case.id] if query.startswith("'; DROP") else [])
    xml = client.get(f"/open311/v2/requests/{filed.id}.xml")
    assert xml_of(xml).findtext("request/description") == INJECTIONS["open311"]


def test_pages_never_render_submitted_text_as_markup(client, world):
    """The public report page and the console never put a report's text into HTML on the
    server; their scripts build the page with text nodes only (no innerHTML anywhere)."""
    case = _post_report(world, client, description="<script>alert('x')</script>",
                        address="<b onmouseover=alert(1)>12</b>")
    page = client.get(f"/reports/{case.tracking_code}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<script>alert(" not in html
    assert "onmouseover" not in html
    console = client.get(f"/console/cases/{case.id}").get_data(as_text=True)
    assert "<script>alert(" not in console
    sinks = re.compile(r"\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|"
                       r"\beval\(|new Function\(|setHTML\(")
    offenders = [f"{path.name}:{n}" for path in sorted(STATIC_JS.rglob("*.js"))
                 for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if sinks.search(line)]
    assert offenders == []
