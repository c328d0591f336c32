"""A catalogue of hostile input: each bad input gets a clear 4xx with a stable error code and
leaves nothing behind (no row in any table, no file in the media folder, no idempotency key).

Decisions recorded here:
- Polyglots that are not valid images (image magic followed by HTML or garbage, GIF+ZIP
  "GIFAR", PDF) are refused: 415 when the bytes are no format we take, 422 broken_image when
  they claim one and do not decode.
- A valid JPEG with data after its end marker (a ZIP archive, HTML) is ACCEPTED: phones append
  data there (motion photos, vendor trailers), decoders ignore it, the untouched original stays
  private (never served), and what is served is re-encoded pixels only
  (`test_valid_jpeg_polyglots_are_served_as_re_encoded_pixels_only`).
- Open311 answers in the spec's own error list (`[{"code", "description"}]`), which has no
  `error` string; its status is checked.
"""

from __future__ import annotations

import base64
import io
import json
import random
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt as pyjwt
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from PIL import Image

from reports_app.auth.tokens import revoke_token
from reports_app.extensions import db
from reports_app.models import Case, CasePhoto
from reports_app.open311.keys import issue_key
from tests import factories
from tests.media.builders import encoded, jpeg_bytes, sample_card
from tests.reports.conftest import INSIDE_WARD, files_under, form, jpeg, multipart, png_bomb
from workflows.roles import Role


@dataclass
class Province:
    """What the hostile requests are aimed at."""

    client: FlaskClient
    app: Flask
    citizen: dict[str, str]
    operator: dict[str, str]
    admin: dict[str, str]
    case: Case
    api_key: str
    revoked: str
    """An access token of the citizen's that was signed out."""
    citizen_user: Any


@pytest.fixture
def province(app: Flask, client: FlaskClient) -> Province:
    refdata = factories.make_refdata()
    citizen = factories.make_user(Role.CITIZEN)
    operator = factories.make_user(Role.OPERATOR)
    admin = factories.make_user(Role.ADMIN)
    case = factories.make_case(refdata)
    _key, plain = issue_key("Hostile client", rate_limit_per_minute=10_000)
    revoked = create_access_token(identity=citizen)
    revoke_token(decode_token(revoked))
    db.session.commit()
    return Province(client=client, app=app, citizen=factories.auth_headers(citizen),
                    operator=factories.auth_headers(operator),
                    admin=factories.auth_headers(admin), case=case, api_key=plain,
                    revoked=revoked, citizen_user=citizen)


# ----------------------------------------------------------------------------- senders


def _report(fields: dict[str, Any] | None = None, *, photos: list[bytes] | None = None,
            headers: dict[str, str] | None = None, key: str | None = "catalogue-1",
            raw: dict[str, Any] | None = None,
            point: tuple[float, float] | None = INSIDE_WARD) -> Callable[[Province], Any]:
    """POST /api/v1/reports as the citizen (with an Idempotency-Key, which must be released)."""
    def send(p: Province) -> Any:
        body = raw if raw is not None else form(photos=photos, point=point, **(fields or {}))
        payload, content_type = multipart(body)
        sent = dict(p.citizen if headers is None else headers)
        if key is not None:
            sent.setdefault("Idempotency-Key", key)
        return p.client.post("/api/v1/reports", data=payload, content_type=content_type,
                             headers=sent)
    return send


def _token(make: Callable[[Province], str]) -> Callable[[Province], Any]:
    """A report sent with a forged, expired or misused token."""
    def send(p: Province) -> Any:
        return _report(headers={"Authorization": f"Bearer {make(p)}"})(p)
    return send


def _action(body: str | dict[str, Any], action: str = "comment",
            *, versioned: bool = True) -> Callable[[Province], Any]:
    """POST /api/v1/cases/{id}/actions/{action} as the operator, with a raw or JSON body."""
    def send(p: Province) -> Any:
        url = f"/api/v1/cases/{p.case.id}/actions/{action}"
        if isinstance(body, dict):
            data = {"version": p.case.version, **body} if versioned else body
            return p.client.post(url, json=data, headers=p.operator)
        return p.client.post(url, data=body.replace("VERSION", str(p.case.version)),
                             content_type="application/json", headers=p.operator)
    return send


def _open311(fields: dict[str, Any], files: list[bytes] | None = None) -> Callable[..., Any]:
    def send(p: Province) -> Any:
        data = {"api_key": p.api_key, "service_code": "roads", "lat": "12.62",
                "long": "108.02", "description": "Ổ gà", **fields}
        if files is None:
            return p.client.post("/open311/v2/requests.json", data=data)
        data["media"] = [(io.BytesIO(blob), "photo.jpg", "image/jpeg") for blob in files]
        return p.client.post("/open311/v2/requests.json", data=data,
                             content_type="multipart/form-data")
    return send


def _admin(path: str, body: str | dict[str, Any]) -> Callable[[Province], Any]:
    def send(p: Province) -> Any:
        if isinstance(body, dict):
            return p.client.post(path, json=body, headers=p.admin)
        return p.client.post(path, data=body, content_type="application/json", headers=p.admin)
    return send


def _post_json(path: str, body: str | dict[str, Any]) -> Callable[[Province], Any]:
    def send(p: Province) -> Any:
        if isinstance(body, dict):
            return p.client.post(path, json=body)
        return p.client.post(path, data=body, content_type="application/json")
    return send


def _with_config(name: str, value: Any, send: Callable[[Province], Any]) -> Callable[..., Any]:
    """Run a sender with one setting lowered (restored afterwards)."""
    def run(p: Province) -> Any:
        old = p.app.config[name]
        p.app.config[name] = value
        try:
            return send(p)
        finally:
            p.app.config[name] = old
    return run


# ----------------------------------------------------------------------------- hostile files


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(p: Province) -> dict[str, Any]:
    return pyjwt.decode(create_access_token(identity=p.citizen_user),
                        options={"verify_signature": False})


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.html", "<script>alert(1)</script>")
    return buffer.getvalue()


def _jpeg_sof_bomb() -> bytes:
    data = jpeg_bytes()
    at = data.index(b"\xff\xc0") + 5
    return data[:at] + struct.pack(">HH", 60_000, 60_000) + data[at + 4:]


DEEP_JSON = "[" * 5000 + "]" * 5000
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect/></svg>'
HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
GIFAR = encoded(sample_card(), "GIF") + _zip()
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
INJECTION = "'; DROP TABLE cases; --"


@dataclass(frozen=True)
class Bad:
    """One hostile input, the status it must get and its stable error code (None: Open311)."""

    name: str
    send: Callable[[Province], Any]
    status: int
    error: str | None


CATALOGUE: list[Bad] = [
    # --- photos (POST /api/v1/reports)
    Bad("truncated JPEG", _report(photos=[jpeg(size=(800, 600))[:2000]]), 422, "broken_image"),
    Bad("JPEG magic then garbage", _report(photos=[b"\xff\xd8\xff" + random.Random(1).randbytes(3000)]),
        422, "broken_image"),
    Bad("JPEG magic then HTML", _report(photos=[b"\xff\xd8\xff\xe0" + HTML]), 422, "broken_image"),
    Bad("truncated PNG", _report(photos=[encoded(sample_card((300, 200)).effect_spread(4), "PNG")[:900]]),
        422, "broken_image"),
    Bad("PNG decompression bomb", _report(photos=[png_bomb()]), 413, "image_too_large"),
    Bad("JPEG decompression bomb", _report(photos=[_jpeg_sof_bomb()]), 413, "image_too_large"),
    Bad("SVG named .jpg", _report(photos=[SVG]), 415, "unsupported_media_type"),
    Bad("HTML named .jpg", _report(photos=[HTML]), 415, "unsupported_media_type"),
    Bad("zero bytes", _report(photos=[b""]), 415, "unsupported_media_type"),
    Bad("GIFAR (GIF + ZIP)", _report(photos=[GIFAR]), 415, "unsupported_media_type"),
    Bad("PDF named .jpg", _report(photos=[PDF]), 415, "unsupported_media_type"),
    Bad("a good photo, then a bomb", _report(photos=[jpeg(), png_bomb()]), 413, "image_too_large"),
    Bad("file over MAX_PHOTO_BYTES",
        _with_config("MAX_PHOTO_BYTES", 2000, _report(photos=[jpeg(size=(400, 300))])),
        413, "file_too_large"),
    Bad("six photos", _report(photos=[jpeg(colour=(i, 9, 9)) for i in range(6)]), 422,
        "too_many_photos"),
    Bad("photos as a text field", _report(raw={**{k: v for k, v in form().items()
                                                  if k != "photos"}, "photos": "not a file"}),
        422, "validation_error"),
    Bad("multipart body over MAX_CONTENT_LENGTH",
        _with_config("MAX_CONTENT_LENGTH", 50_000,
                     _report(photos=[random.Random(2).randbytes(80_000)])),
        413, "payload_too_large"),
    # --- coordinates and numbers in form fields
    Bad("lat NaN", _report({"lat": "NaN"}), 422, "validation_error"),
    Bad("lat Infinity", _report({"lat": "Infinity"}), 422, "validation_error"),
    Bad("lat 1e309 (overflows to infinity)", _report({"lat": "1e309"}), 422, "validation_error"),
    Bad("lat 90.0001", _report({"lat": "90.0001"}), 422, "validation_error"),
    Bad("lon -180.5", _report({"lon": "-180.5"}), 422, "validation_error"),
    Bad("lat not a number", _report({"lat": "12,62"}), 422, "validation_error"),
    Bad("lat without lon", _report({"lat": "12.62"}, point=None), 422, "validation_error"),
    Bad("a point outside every area", _report({"lat": "0", "lon": "0"}), 422,
        "outside_service_area"),
    Bad("accuracy -5 m", _report({"accuracy_m": "-5"}), 422, "validation_error"),
    # --- text
    Bad("NUL in the description", _report({"description": "Ổ gà\x00 lớn"}), 422,
        "validation_error"),
    Bad("bidi override in the description", _report({"description": "Ổ gà \u202egnol"}), 422,
        "validation_error"),
    Bad("escape sequence in the address", _report({"address": "12 Lê Duẩn\x1b[2J"}), 422,
        "validation_error"),
    Bad("description of 4001 characters", _report({"description": "ạ" * 4001}), 422,
        "validation_error"),
    Bad("blank description", _report({"description": " \n\t "}), 422, "validation_error"),
    Bad("SQL injection as the category", _report({"category": "roads' OR '1'='1"}), 422,
        "validation_error"),
    Bad("unknown field reporter_id", _report({"reporter_id": "1"}), 422, "validation_error"),
    Bad("is_public 'maybe'", _report({"is_public": "maybe"}), 422, "validation_error"),
    Bad("captured_at in the future", _report({"captured_at": "2099-01-01T00:00:00+07:00"}),
        422, "validation_error"),
    Bad("attributes not JSON", _report({"attributes": "{not json"}), 422, "validation_error"),
    Bad("attributes nested 5000 deep", _report({"attributes": DEEP_JSON}), 422,
        "validation_error"),
    Bad("attributes with NaN", _report({"attributes": '{"depth": NaN}'}), 422,
        "validation_error"),
    # --- Idempotency-Key
    Bad("Idempotency-Key with a control character", _report(key="abc\x01def"), 422,
        "validation_error"),
    Bad("Idempotency-Key not ASCII", _report(key="khóa-ý"), 422, "validation_error"),
    Bad("Idempotency-Key of 201 characters", _report(key="k" * 201), 422, "validation_error"),
    Bad("Idempotency-Key of spaces", _report(key="   "), 422, "validation_error"),
    # --- tokens
    Bad("JWT with alg none", _token(lambda p: _b64({"alg": "none", "typ": "JWT"}) + "."
                                    + _b64(_claims(p)) + "."), 401, "invalid_token"),
    Bad("JWT signed with another key", _token(lambda p: pyjwt.encode(
        _claims(p), "someone-elses-secret-of-a-decent-length-0000", algorithm="HS256")),
        401, "invalid_token"),
    Bad("expired JWT", _token(lambda p: create_access_token(
        identity=p.citizen_user, expires_delta=timedelta(seconds=-30))), 401, "token_expired"),
    Bad("refresh token used as access", _token(lambda p: create_refresh_token(
        identity=p.citizen_user)), 401, "invalid_token"),
    Bad("signed-out token", _token(lambda p: p.revoked), 401, "token_revoked"),
    Bad("Basic credentials", _report(headers={"Authorization": "Basic Y2l0aXplbjpwdw=="}), 401,
        "unauthorized"),
    # --- JSON bodies (a case action)
    Bad("JSON nested 5000 deep", _action(DEEP_JSON), 400, "bad_request"),
    Bad("JSON NaN", _action('{"version": VERSION, "note": NaN}'), 400, "bad_request"),
    Bad("JSON 1e999", _action('{"version": 1e999, "note": "x"}'), 400, "bad_request"),
    Bad("JSON lone surrogate", _action('{"version": VERSION, "note": "\\ud800"}'), 400,
        "bad_request"),
    Bad("JSON array body", _action("[1, 2]"), 400, "bad_request"),
    Bad("JSON body over MAX_CONTENT_LENGTH",
        _with_config("MAX_CONTENT_LENGTH", 10_000, _action({"note": "ạ" * 20_000})), 413,
        "payload_too_large"),
    Bad("version as text", _action({"version": "one", "note": "x"}, versioned=False), 422,
        "validation_error"),
    Bad("note as a number", _action({"note": 12}), 422, "validation_error"),
    Bad("unknown field in an action", _action({"note": "x", "state": "closed"}), 422,
        "validation_error"),
    Bad("NUL in a note", _action({"note": "a\x00b"}), 422, "validation_error"),
    Bad("bidi isolate in a note", _action({"note": "a\u2066b"}), 422, "validation_error"),
    Bad("agency id beyond 64 bits", _action({"agency_id": 2**64}, "assign"), 422,
        "validation_error"),
    # --- accounts and admin
    Bad("username as an object", _post_json("/api/v1/auth/login",
                                            {"username": {"$ne": ""}, "password": "x"}), 422,
        "validation_error"),
    Bad("bidi override in a new account's name", _post_json("/api/v1/auth/register", {
        "phone": "0912345670", "password": "mật khẩu dài", "full_name": "Ann\u202e"}), 422,
        "validation_error"),
    Bad("SLA warn_ratio Infinity", _admin("/api/v1/admin/sla-policies",
                                          '{"triage": "PT4H", "accept": "P1D", "resolve": "P5D",'
                                          ' "warn_ratio": Infinity}'), 400, "bad_request"),
    Bad("NUL in an agency name", _admin("/api/v1/admin/agencies", {
        "code": "NUL1", "name_vi": "Sở\x00", "name_en": "Dept"}), 422, "validation_error"),
    Bad("area import with a 300-character name", _admin("/api/v1/admin/areas/import", {
        "type": "FeatureCollection", "features": [{
            "type": "Feature", "geometry": factories.square(109.0, 13.0),
            "properties": {"code": "LONG1", "name_vi": "x" * 300}}]}), 422, "validation_error"),
    # --- Open311 (the spec's error list)
    Bad("Open311 lat NaN", _open311({"lat": "nan"}), 400, None),
    Bad("Open311 NUL in the description", _open311({"description": "a\x00b"}), 400, None),
    Bad("Open311 bidi override in the address", _open311({"address_string": "12 \u202eLê"}),
        400, None),
    Bad("Open311 SVG media", _open311({}, files=[SVG]), 415, None),
]


def snapshot(media_root: Path) -> tuple[dict[str, int], list[str]]:
    """Rows in every table and files in the media folder."""
    db.session.rollback()
    rows = {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables}
    return rows, sorted(str(p.relative_to(media_root)) for p in files_under(media_root))


def _problems(bad: Bad, response: Any) -> list[str]:
    """What is wrong with the answer to one bad input (nothing: an empty list)."""
    if response.status_code != bad.status:
        return [f"status {response.status_code}, expected {bad.status}: "
                f"{response.get_data(as_text=True)[:300]}"]
    body = response.get_json(silent=True)
    if bad.error is None:
        ok = isinstance(body, list) and len(body) == 1 and body[0].get("code") == bad.status \
            and body[0].get("description")
        return [] if ok else [f"not the Open311 error list: {body}"]
    if not isinstance(body, dict):
        return [f"not JSON: {response.get_data(as_text=True)[:200]}"]
    wrong = [f"{key}={body.get(key)!r}" for key, want in (("code", bad.status),
                                                          ("error", bad.error))
             if body.get(key) != want]
    wrong += [f"no {key}" for key in ("status", "message") if not body.get(key)]
    return wrong


def test_hostile_input_is_refused_cleanly_and_leaves_nothing(province, media_root):
    """Every bad input gets its 4xx and error code in the one error shape, and nothing is
    stored: no row in any table, no file, no idempotency key."""
    failures = []
    for bad in CATALOGUE:
        before = snapshot(media_root)
        problems = _problems(bad, bad.send(province))
        after = snapshot(media_root)
        if after != before:
            rows = {t: (before[0][t], n) for t, n in after[0].items() if before[0][t] != n}
            problems.append(f"left behind rows {rows} files {set(after[1]) - set(before[1])}")
        failures += [f"{bad.name}: {problem}" for problem in problems]
    assert not failures, "\n".join(failures)


def test_the_catalogue_holds_at_least_30_distinct_inputs():
    """The catalogue is a catalogue: many inputs, each named once."""
    names = [bad.name for bad in CATALOGUE]
    assert len(names) == len(set(names))
    assert len(names) >= 30
    print(f"\nhostile input catalogue: {len(names)} bad inputs")


@pytest.mark.parametrize("trailer", [_zip(), b"<html><script>alert(1)</script></html>"],
                         ids=["jpeg+zip", "jpeg+html-after-eoi"])
def test_valid_jpeg_polyglots_are_served_as_re_encoded_pixels_only(province, media_root,
                                                                  trailer):
    """A real JPEG with a ZIP or HTML after its end marker is accepted as the photo it is;
    the original stays private and the served derivatives are fresh JPEGs without the trailer."""
    photo = jpeg(size=(640, 480), colour=(200, 30, 30)) + trailer
    response = _report(photos=[photo])(province)
    assert response.status_code == 201, response.get_json()
    stored = db.session.scalars(sa.select(CasePhoto)).one()
    assert province.client.get(f"/media/{stored.original_key}").status_code == 404
    for key in (stored.display_key, stored.thumb_key):
        served = province.client.get(f"/media/{key}")
        assert served.status_code == 200
        assert served.mimetype == "image/jpeg"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        data = served.data
        assert data.startswith(b"\xff\xd8\xff")
        assert data.endswith(b"\xff\xd9")
        assert b"PK\x03\x04" not in data
        assert b"<html" not in data
        assert b"<script" not in data
        assert trailer not in data
        pixel = Image.open(io.BytesIO(data)).convert("RGB").getpixel((5, 5))
        assert max(abs(a - b) for a, b in zip(pixel, (200, 30, 30), strict=True)) < 12
