"""Fixtures for Open311: a client key, the official JSON Schemas, photos and a POST helper."""

from __future__ import annotations

import copy
import functools
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft4Validator
from PIL import ExifTags, Image
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from reports_app.extensions import db
from reports_app.models import Case, User
from reports_app.open311.keys import issue_key
from tests.factories import RefData, act, make_case, make_user
from workflows.roles import Role

INSIDE_WARD = (12.62, 108.02)
"""A point inside the refdata ward W1 (and its province P1)."""
SCHEMA_FILES = ("request.json", "requests.json", "service.json", "services.json",
                "service-definition.json")


@pytest.fixture(autouse=True)
def _own_media_folder(media_root: Path) -> Path:
    """Every test here writes photos to its own empty folder."""
    return media_root


@pytest.fixture
def api_key(app: Flask) -> str:
    """A client key with room for many requests per minute."""
    _key, plain = issue_key("Test client", rate_limit_per_minute=1000)
    db.session.commit()
    return plain


# --------------------------------------------------------------------------- schemas


class Schemas:
    """Validators for the official GeoReport v2 JSON Schemas (draft 4, cross-file $refs)."""

    def __init__(self, folder: Path) -> None:
        self.contents = {name: json.loads((folder / name).read_text(encoding="utf-8"))
                         for name in SCHEMA_FILES}
        self.registry = Registry().with_resources(
            (name, Resource.from_contents(body, default_specification=DRAFT4))
            for name, body in self.contents.items())
        self.swagger = json.loads((folder / "swagger.json").read_text(encoding="utf-8"))

    def validator(self, name: str) -> Draft4Validator:
        return Draft4Validator(self.contents[name], registry=self.registry,
                               format_checker=Draft4Validator.FORMAT_CHECKER)

    def check(self, name: str, instance: Any) -> None:
        """Raise if `instance` does not validate against the named schema file."""
        self.validator(name).validate(instance)

    def check_swagger(self, definition: str, instance: Any) -> None:
        """Validate a list of items against a swagger.json definition; its optional strings may
        be null (Swagger 2.0 cannot say so; the JSON Schemas here allow null for every optional
        field, and the spec's own example answers `"account_id": null`)."""
        schema = copy.deepcopy(self.swagger["definitions"][definition])
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            prop.pop("format", None)
            if name not in required:
                schema["properties"][name] = {"anyOf": [prop, {"type": "null"}]}
        Draft4Validator({"type": "array", "items": schema}).validate(instance)


@functools.cache
def _schemas(folder: Path) -> Schemas:
    return Schemas(folder)


@pytest.fixture
def schemas(shared_dir: Path) -> Schemas:
    """The official schemas from shared/open311-schemas (read once per session)."""
    return _schemas(shared_dir / "open311-schemas")


# --------------------------------------------------------------------------- photos and posts


def jpeg(colour: tuple[int, int, int] = (90, 140, 60), *, gps: tuple[float, float] | None = None
         ) -> bytes:
    """A small JPEG, optionally with a GPS position in its EXIF, as a phone writes it."""
    exif = Image.Exif()
    if gps is not None:
        def dms(value: float) -> tuple[float, float, float]:
            value = abs(value)
            degrees = int(value)
            minutes = int((value - degrees) * 60)
            return (float(degrees), float(minutes), round(((value - degrees) * 60 - minutes) * 60, 4))

        exif[ExifTags.IFD.GPSInfo] = {
            ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: dms(gps[0]),
            ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: dms(gps[1])}
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buffer, "JPEG", quality=85, exif=exif.tobytes())
    return buffer.getvalue()


def request_form(api_key: str | None, **fields: Any) -> dict[str, Any]:
    """The form fields a generic Open311 client sends for a pothole at a point in ward W1."""
    data: dict[str, Any] = {"service_code": "roads", "lat": str(INSIDE_WARD[0]),
                            "long": str(INSIDE_WARD[1]),
                            "description": "Ổ gà lớn trước số 12 Lê Duẩn"}
    if api_key is not None:
        data["api_key"] = api_key
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def post_request(client: FlaskClient) -> Callable[..., Any]:
    """POST /open311/v2/requests.<fmt> form-encoded (or multipart when files are given)."""

    def post(data: dict[str, Any], fmt: str = "json", *, query: str = "",
             files: list[bytes] | None = None, headers: dict[str, str] | None = None) -> Any:
        url = f"/open311/v2/requests.{fmt}" + (f"?{query}" if query else "")
        if files is None:
            return client.post(url, data=data, headers=headers,
                               content_type="application/x-www-form-urlencoded")
        body = dict(data)
        body["media"] = [(io.BytesIO(blob), f"photo{i}.jpg", "image/jpeg")
                         for i, blob in enumerate(files)]
        return client.post(url, data=body, headers=headers, content_type="multipart/form-data")

    return post


def xml_of(response: Any) -> ET.Element:
    """The parsed XML body, after checking the declaration and content type."""
    assert response.content_type == "text/xml; charset=utf-8"
    assert response.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    return ET.fromstring(response.data)  # noqa: S314 - our own server's answer


def open311_error(response: Any, status: int) -> list[dict[str, Any]]:
    """The JSON error list, after checking its shape and that it matches the HTTP status."""
    assert response.status_code == status, response.data
    assert response.content_type == "application/json; charset=utf-8"
    body = response.get_json()
    assert isinstance(body, list)
    assert body
    for item in body:
        assert set(item) == {"code", "description"}
        assert item["code"] == status
        assert isinstance(item["description"], str)
        assert item["description"].strip()
    return body


ROAD_FIELDS = [
    {"code": "hazard_size", "datatype": "singlevaluelist", "required": True,
     "label_vi": "Kích thước", "label_en": "Size",
     "values": [{"key": "small", "name_vi": "Nhỏ", "name_en": "Small"},
                {"key": "large", "name_vi": "Lớn", "name_en": "Large"}]},
    {"code": "lanes", "datatype": "multivaluelist", "required": False,
     "label_vi": "Làn đường", "label_en": "Lanes",
     "values": [{"key": "left", "name_vi": "Trái", "name_en": "Left"},
                {"key": "right", "name_vi": "Phải", "name_en": "Right"}]},
    {"code": "depth_cm", "datatype": "number", "required": False,
     "label_vi": "Độ sâu (cm)", "label_en": "Depth (cm)"},
    {"code": "seen_at", "datatype": "datetime", "required": False,
     "label_vi": "Thời điểm", "label_en": "Seen at"},
    {"code": "pole", "datatype": "string", "required": False,
     "label_vi": "Số cột", "label_en": "Pole number"},
    {"code": "details", "datatype": "text", "required": False,
     "label_vi": "Chi tiết", "label_en": "Details"},
]
"""One field of every Open311 datatype (hazard_size is required)."""


@pytest.fixture
def road_fields(refdata: Any) -> Any:
    """refdata with the roads category asking ROAD_FIELDS."""
    refdata.roads.fields = ROAD_FIELDS
    db.session.commit()
    return refdata


REPORTER_NAME = "Trần Thị Riêng Tư"
REPORTER_EMAIL = "rieng.tu@example.test"
REPORTER_PHONE = "0987654321"
PRIVATE = (REPORTER_NAME, REPORTER_EMAIL, "987654321", "Riêng Tư", "rieng.tu")
"""Pieces of a reporter's identity that must never appear in Open311 output."""


@dataclass
class Cast:
    """The people around a case."""

    reporter: User
    staff: User
    operator: User
    supervisor: User


@pytest.fixture
def cast(refdata: RefData) -> Cast:
    return Cast(
        reporter=make_user(Role.CITIZEN, email=REPORTER_EMAIL, phone=REPORTER_PHONE,
                           full_name=REPORTER_NAME),
        staff=make_user(Role.STAFF, agency=refdata.department),
        operator=make_user(Role.OPERATOR),
        supervisor=make_user(Role.SUPERVISOR))


def case_in(refdata: RefData, cast: Cast, state: str, *, now: datetime | None = None,
            reason: str = "out_of_scope", **kwargs: Any) -> Case:
    """A public report brought to `state` through the engine ('other': no after photo needed)."""
    kwargs.setdefault("category", refdata.other)
    case = make_case(refdata, cast.reporter, now=now, routed=state != "submitted", **kwargs)
    if state in ("in_progress", "need_info", "resolved", "closed"):
        act(case, "accept", cast.staff, now=now)
    if state == "need_info":
        act(case, "request_info", cast.staff, now=now, note="Ở trước số nhà nào?")
    if state in ("resolved", "closed"):
        act(case, "resolve", cast.staff, now=now, note="Đã dọn xong.")
    if state == "closed":
        act(case, "close", None, now=now)
    if state == "rejected":
        act(case, "reject", cast.operator, now=now, reason=reason)
    return case
