"""GET /media/<key>: public derivatives with long cache headers; originals stay private."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from reports_app.extensions import db
from reports_app.models import CasePhoto
from tests.reports.conftest import gps_exif, jpeg

METADATA_MARKERS = (b"Exif", b"http://ns.adobe.com/xap", b"ICC_PROFILE")


@pytest.fixture
def photo(refdata, submit) -> CasePhoto:
    """A report's photo that carried a GPS position."""
    response = submit(photos=[jpeg(size=(640, 480), exif=gps_exif(12.62, 108.02))])
    assert response.status_code == 201
    return db.session.scalars(sa.select(CasePhoto)).one()


@pytest.mark.parametrize("kind", ["display_key", "thumb_key"])
def test_derivatives_are_served_for_a_year_without_metadata(client, photo, kind):
    """Display and thumbnail JPEGs are immutable, typed, not sniffed, and carry no EXIF/GPS."""
    response = client.get(f"/media/{getattr(photo, kind)}")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.data[:3] == b"\xff\xd8\xff"
    assert not any(marker in response.data for marker in METADATA_MARKERS)
    again = client.get(f"/media/{getattr(photo, kind)}",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_originals_are_never_served(client, photo):
    """The original keeps the citizen's GPS: it has no public URL (404)."""
    assert photo.original_key.startswith("original/")
    assert client.get(f"/media/{photo.original_key}").status_code == 404


@pytest.mark.parametrize("key", ["display/../original/x.jpg", "thumb/%2e%2e/%2e%2e/etc/passwd",
                                 "display/" + "0" * 64 + ".jpg", "other/file.jpg", "display/"])
def test_unknown_or_crafted_keys_are_404(client, refdata, key):
    """Keys that name nothing, or try to leave the media folder, are simply not found."""
    response = client.get(f"/media/{key}")
    assert response.status_code == 404
    assert response.is_json
