"""Intake rules without HTTP: location choice, capture times, category field answers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from reports_app.extensions import db
from workflows.intake import (
    InvalidAttributes,
    OutsideServiceArea,
    choose_location,
    clean_attributes,
    exif_capture_time,
    place_report,
)

APP = (12.62, 108.02)
NEAR = (12.6201, 108.0201)  # about 15 m away
FAR = (12.63, 108.02)  # about 1.1 km away


@pytest.mark.parametrize(("app_point", "photos", "expected"), [
    (APP, [], ("app", APP, None)),
    (APP, [None, NEAR], ("app", APP, None)),
    (APP, [FAR], ("app", APP, 1106.0)),
    (None, [None, FAR, NEAR], ("exif", FAR, None)),
    (None, [None], None),
    (None, [], None),
])
def test_location_choice(app_point, photos, expected):
    """The app's fix wins; else the first photo with GPS; a big disagreement is measured."""
    location = choose_location(app_point, photos, mismatch_threshold_m=500)
    if expected is None:
        assert location is None
        return
    source, point, mismatch = expected
    assert location.source == source
    assert (location.lat, location.lon) == point
    if mismatch is None:
        assert location.mismatch_m is None
    else:
        assert location.mismatch_m == pytest.approx(mismatch, rel=0.01)


def test_point_outside_every_area_is_refused(refdata):
    """Placing works on the area boundaries; no area means outside the service area."""
    assert place_report(db.session, *APP).code == "W1"
    assert place_report(db.session, 12.52, 107.95).code == "P1"
    with pytest.raises(OutsideServiceArea) as refused:
        place_report(db.session, 10.77, 106.70)
    assert set(refused.value.errors) == {"lat", "lon"}


def test_a_redrawn_boundary_places_points_by_its_new_shape(refdata):
    """Parsed boundaries are kept between reports, but never past the area's next change."""
    from reports_app.admin.service import AREAS, update_row
    from tests.factories import square

    assert place_report(db.session, *APP).code == "W1"
    ward = refdata.ward
    update_row(AREAS, ward, {"boundary": square(108.05, 12.65)})
    db.session.commit()
    assert place_report(db.session, *APP).code == "P1"
    assert place_report(db.session, 12.655, 108.055).code == "W1"


NOW = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    (None, None),
    (datetime(2026, 11, 16, 8, 30), datetime(2026, 11, 16, 1, 30, tzinfo=UTC)),
    (datetime(2026, 11, 16, 8, 30, tzinfo=UTC), datetime(2026, 11, 16, 8, 30, tzinfo=UTC)),
    (datetime(2026, 11, 18, 8, 30), None),
])
def test_exif_capture_time(value, expected):
    """Naive camera times are local (Asia/Ho_Chi_Minh); times days ahead are wrong clocks."""
    assert exif_capture_time(value, "Asia/Ho_Chi_Minh", NOW) == expected


FIELDS = [
    {"code": "kind", "datatype": "singlevaluelist", "required": True,
     "values": [{"key": "a"}, {"key": "b"}]},
    {"code": "kinds", "datatype": "multivaluelist", "values": [{"key": "x"}, {"key": "y"}]},
    {"code": "depth", "datatype": "number"},
    {"code": "pole", "datatype": "string"},
    {"code": "notes", "datatype": "text"},
    {"code": "when", "datatype": "datetime"},
]


def test_good_answers_are_normalised():
    """Numbers become numbers, lists lose duplicates, text is trimmed, times keep their zone."""
    clean = clean_attributes(FIELDS, {"kind": "a", "kinds": ["y", "x", "y"], "depth": "12.5",
                                      "pole": "  C-12 ", "notes": "dòng 1\ndòng 2",
                                      "when": "2026-11-16T08:00:00+07:00"})
    assert clean == {"kind": "a", "kinds": ["y", "x"], "depth": 12.5, "pole": "C-12",
                     "notes": "dòng 1\ndòng 2", "when": "2026-11-16T08:00:00+07:00"}


@pytest.mark.parametrize(("answers", "bad"), [
    ({}, {"kind"}),
    ({"kind": ""}, {"kind"}),
    ({"kind": "c"}, {"kind"}),
    ({"kind": "a", "kinds": "x"}, {"kinds"}),
    ({"kind": "a", "kinds": ["z"]}, {"kinds"}),
    ({"kind": "a", "depth": "NaN"}, {"depth"}),
    ({"kind": "a", "depth": True}, {"depth"}),
    ({"kind": "a", "pole": "x" * 201}, {"pole"}),
    ({"kind": "a", "pole": "line\nbreak"}, {"pole"}),
    ({"kind": "a", "pole": 12}, {"pole"}),
    ({"kind": "a", "when": "2026-11-16T08:00:00"}, {"when"}),
    ({"kind": "a", "when": "tomorrow"}, {"when"}),
    ({"kind": "a", "colour": "red"}, {"colour"}),
    ({"depth": "x", "colour": "red"}, {"kind", "depth", "colour"}),
])
def test_bad_answers_are_all_named(answers, bad):
    """Every wrong answer is reported at once, under `attributes`."""
    with pytest.raises(InvalidAttributes) as refused:
        clean_attributes(FIELDS, answers)
    assert set(refused.value.errors["attributes"]) == bad
