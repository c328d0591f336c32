"""Fixtures for the citizen report API: a fresh media folder, photos, and a submit helper."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import ExifTags, Image
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from reports_app.extensions import db
from reports_app.models import Case, CaseEvent, CasePhoto, IdempotencyKey, User
from tests.factories import auth_headers, make_user
from workflows.roles import Role

INSIDE_WARD = (12.62, 108.02)
"""A point inside the refdata ward W1 (and its province P1)."""
DEMO_BMT = (12.65955, 108.03247)
"""A point inside the demo ward 24133 (Phường Buôn Ma Thuột)."""


@pytest.fixture(autouse=True)
def _own_media_folder(media_root: Path) -> Path:
    """Every test here writes photos to its own empty folder."""
    return media_root


@pytest.fixture
def citizen(app: Flask) -> User:
    return make_user(Role.CITIZEN, full_name="Nguyễn Văn Citizen")


@pytest.fixture
def headers(citizen: User) -> dict[str, str]:
    return auth_headers(citizen)


def gps_exif(lat: float, lon: float, *, taken: str | None = None) -> bytes:
    """An EXIF block with a GPS position (and optionally DateTime), as a phone writes it."""
    exif = Image.Exif()

    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
        return (float(degrees), float(minutes), seconds)

    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N" if lat >= 0 else "S",
        ExifTags.GPS.GPSLatitude: dms(lat),
        ExifTags.GPS.GPSLongitudeRef: "E" if lon >= 0 else "W",
        ExifTags.GPS.GPSLongitude: dms(lon),
    }
    if taken:
        exif[ExifTags.Base.DateTime] = taken
    return exif.tobytes()


def jpeg(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (90, 140, 60), *,
         exif: bytes = b"") -> bytes:
    """A small JPEG; different colours give different content hashes."""
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=85, exif=exif)
    return buffer.getvalue()


def png_bomb(width: int = 20_000, height: int = 20_000) -> bytes:
    """A PNG whose header claims width × height pixels with almost no data: a decompression bomb."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


def form(category: str = "roads", *, photos: list[bytes | tuple[bytes, str]] | None = None,
         point: tuple[float, float] | None = INSIDE_WARD, **fields: Any) -> dict[str, Any]:
    """A multipart body as the app sends it; `point=None` leaves lat/lon out."""
    data: dict[str, Any] = {"category": category, "description": "Ổ gà lớn giữa đường"}
    if point is not None:
        data["lat"], data["lon"] = str(point[0]), str(point[1])
    data.update({k: v for k, v in fields.items() if v is not None})
    files = []
    for index, photo in enumerate([jpeg()] if photos is None else photos):
        blob, name = photo if isinstance(photo, tuple) else (photo, f"photo{index}.jpg")
        files.append(FileStorage(io.BytesIO(blob), filename=name, content_type="image/jpeg"))
    data["photos"] = files
    return data


def multipart(data: dict[str, Any]) -> tuple[bytes, str]:
    """The encoded body and its content type (in memory: the test client would spill large
    bodies to a temporary file that it never closes)."""
    boundary, payload = encode_multipart(data)
    return payload, f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def submit(client: FlaskClient, headers: dict[str, str]) -> Callable[..., Any]:
    """POST /api/v1/reports as the citizen (or with other headers)."""

    def post(body: dict[str, Any] | None = None, *, key: str | None = None,
             as_headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        sent = dict(headers if as_headers is None else as_headers)
        if key is not None:
            sent["Idempotency-Key"] = key
        payload, content_type = multipart(body if body is not None else form(**kwargs))
        return client.post("/api/v1/reports", data=payload, headers=sent,
                           content_type=content_type)

    return post


def counts() -> dict[str, int]:
    """How many rows the submission tables hold."""
    db.session.rollback()
    return {model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (Case, CaseEvent, CasePhoto, IdempotencyKey)}


def files_under(root: Path) -> list[Path]:
    """Every file below the media root."""
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []

