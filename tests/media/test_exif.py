"""EXIF is read field by field, and a malformed field is absent instead of an error."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from media import PhotoMetadata, process_photo, read_metadata
from tests.media.builders import (
    Entry,
    ascii_,
    byte,
    encoded,
    jpeg_bytes,
    rational,
    sample_card,
    short,
    tiff_exif,
)

HANOI = [ascii_(1, "N"), rational(2, (21, 1), (1, 1), (4050, 100)),
         ascii_(3, "E"), rational(4, (105, 1), (51, 1), (1200, 100))]
HANOI_DEGREES = (21 + 1 / 60 + 40.5 / 3600, 105 + 51 / 60 + 12 / 3600)


def _metadata(exif: bytes) -> PhotoMetadata:
    """What the pipeline reads from a small JPEG carrying this EXIF block."""
    return process_photo(jpeg_bytes(exif=exif)).metadata


def _position(gps: list[Entry]) -> tuple[float | None, float | None]:
    """Latitude and longitude read from a GPS IFD."""
    metadata = _metadata(tiff_exif(gps=gps))
    return metadata.latitude, metadata.longitude


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        (HANOI, HANOI_DEGREES),
        ([ascii_(1, "S"), HANOI[1], ascii_(3, "W"), HANOI[3]],
         (-HANOI_DEGREES[0], -HANOI_DEGREES[1])),
        ([ascii_(1, "n"), HANOI[1], ascii_(3, "e"), HANOI[3]], HANOI_DEGREES),
        ([*HANOI[:1], rational(2, (21, 1), (1675, 100), (0, 1)), *HANOI[2:]],
         (21 + 16.75 / 60, HANOI_DEGREES[1])),
        ([*HANOI, ascii_(9, "A")], HANOI_DEGREES),
        ([*HANOI[:1], short(2, 21, 1, 40), *HANOI[2:]], (21 + 1 / 60 + 40 / 3600, HANOI_DEGREES[1])),
        ([*HANOI[:2], byte(3, ord("E")), HANOI[3]], HANOI_DEGREES),
    ],
    ids=["north-east", "south-west", "lowercase-refs", "decimal-minutes", "status-active",
         "integer-dms", "ref-as-byte"],
)
def test_gps_dms_becomes_signed_degrees(gps: list[Entry], expected: tuple[float, float]) -> None:
    """DMS with N/S/E/W references become signed degrees; unambiguous integer/byte types pass."""
    latitude, longitude = _position(gps)
    assert latitude == pytest.approx(expected[0], abs=1e-9)
    assert longitude == pytest.approx(expected[1], abs=1e-9)


@pytest.mark.parametrize(
    "gps",
    [
        [*HANOI[:1], rational(2, (21, 0), (1, 1), (0, 1)), *HANOI[2:]],
        [ascii_(1, ""), *HANOI[1:]],
        [*HANOI[:1], ascii_(2, "21 deg 1' 40.5\""), *HANOI[2:]],
        [*HANOI[:1], rational(2, (91, 1), (0, 1), (0, 1)), *HANOI[2:]],
        [*HANOI[:3], rational(4, (181, 1), (0, 1), (0, 1))],
        [*HANOI[:1], rational(2, (21, 1), (75, 1), (0, 1)), *HANOI[2:]],
        [ascii_(1, "N"), rational(2, (0, 1), (0, 1), (0, 1)),
         ascii_(3, "E"), rational(4, (0, 1), (0, 1), (0, 1))],
        [*HANOI, ascii_(9, "V")],
        HANOI[:2],
        [ascii_(1, "X"), *HANOI[1:]],
        [*HANOI[:1], rational(2, (21, 1), (1, 1), (1, 1), (1, 1)), *HANOI[2:]],
    ],
    ids=["zero-denominator", "empty-ref", "text-instead-of-rationals",
         "latitude-91", "longitude-181", "minutes-75", "null-island", "status-void",
         "no-longitude", "unknown-ref", "four-parts"],
)
def test_bad_gps_gives_no_position(gps: list[Entry]) -> None:
    """Malformed, out-of-range, void or incomplete GPS means no position, not an error."""
    assert _position(gps) == (None, None)


@pytest.mark.parametrize(
    ("gps", "expected"),
    [
        ([rational(6, (12345, 100))], 123.45),
        ([byte(5, 1), rational(6, (500, 100))], -5.0),
        ([rational(6, (1, 0))], None),
        ([rational(6, (2_000_000, 1))], None),
        ([ascii_(6, "high")], None),
    ],
    ids=["above-sea", "below-sea", "zero-denominator", "out-of-range", "text"],
)
def test_altitude_is_read_in_metres(gps: list[Entry], expected: float | None) -> None:
    """GPSAltitude with its reference gives metres; nonsense gives None."""
    assert _metadata(tiff_exif(gps=gps)).altitude_m == expected


VN = timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("primary", "details", "expected"),
    [
        ([], [ascii_(0x9003, "2024:05:01 08:30:00")], datetime(2024, 5, 1, 8, 30)),
        ([], [ascii_(0x9003, "2024:05:01 08:30:00"), ascii_(0x9011, "+07:00")],
         datetime(2024, 5, 1, 8, 30, tzinfo=VN)),
        ([], [ascii_(0x9003, "2024:05:01 08:30:00"), ascii_(0x9291, "25")],
         datetime(2024, 5, 1, 8, 30, 0, 250_000)),
        ([], [ascii_(0x9003, "0000:00:00 00:00:00"), ascii_(0x9004, "2024:05:02 09:00:00")],
         datetime(2024, 5, 2, 9, 0)),
        ([ascii_(0x0132, "2024:05:03 10:00:00")], [], datetime(2024, 5, 3, 10, 0)),
        ([], [ascii_(0x9003, "2024:05:01 08:30:00"), ascii_(0x9011, "  :  ")],
         datetime(2024, 5, 1, 8, 30)),
        ([], [ascii_(0x9003, "")], None),
        ([], [ascii_(0x9003, "    :  :     :  :  ")], None),
        ([], [ascii_(0x9003, "2024:13:45 25:61:00")], None),
        ([], [rational(0x9003, (2024, 1))], None),
    ],
    ids=["naive", "with-offset", "subseconds", "digitized-fallback", "datetime-fallback",
         "blank-offset", "empty", "blank", "impossible-date", "wrong-type"],
)
def test_capture_time_is_read(
    primary: list[Entry], details: list[Entry], expected: datetime | None
) -> None:
    """DateTimeOriginal (then Digitized, then DateTime) is aware only with an offset tag."""
    assert _metadata(tiff_exif(primary=primary, details=details)).captured_at == expected


@pytest.mark.parametrize(
    ("entries", "expected"),
    [([short(0x0112, n)], n) for n in range(1, 9)]
    + [([short(0x0112, 0)], 1), ([short(0x0112, 9)], 1), ([ascii_(0x0112, "6")], 1), ([], 1)],
)
def test_orientation_is_one_to_eight_or_upright(entries: list[Entry], expected: int) -> None:
    """Orientation is the EXIF value 1..8; missing, zero, too large or text means 1."""
    assert _metadata(tiff_exif(primary=entries)).orientation == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("HMD Global", "HMD Global"), ("  Canon\0\0\0  ", "Canon"), ("", None),
     ("\x01\x02", None), ("X" * 200, "X" * 64)],
    ids=["plain", "padded", "empty", "control-only", "too-long"],
)
def test_camera_text_is_cleaned(value: str, expected: str | None) -> None:
    """Make and model lose NULs, padding and control characters, and are capped at 64."""
    metadata = _metadata(tiff_exif(primary=[ascii_(0x010F, value), ascii_(0x0110, value)]))
    assert (metadata.camera_make, metadata.camera_model) == (expected, expected)


@pytest.mark.parametrize(
    "exif",
    [
        b"Exif\0\0garbage",
        b"Exif\0\0II*\0\xff\xff\xff\x7f",
        b"Exif\0\0MM\0*\0\0\0\x08\xff\xff",
        b"Exif\0\0II*\0\x08\0\0\0\x05\0" + b"\xff" * 20,
        tiff_exif(primary=[(0x8825, 4, 1, b"\xff\xff\xff\x7f")]),
        tiff_exif(primary=[(0x8769, 4, 1, b"\x08\0\0\0")]),
        b"not exif at all",
    ],
    ids=["garbage", "ifd-offset-out-of-file", "big-endian-truncated", "entries-past-end",
         "gps-pointer-out-of-file", "exif-pointer-loop", "no-exif-header"],
)
def test_broken_exif_blocks_give_empty_metadata(exif: bytes) -> None:
    """Metadata reading never raises: a block it cannot parse gives the defaults."""
    assert _metadata(exif) == PhotoMetadata()


@pytest.mark.parametrize(
    "exif",
    [b"Exif\0\0II*\0\xff\xff\xff\x7f", b"Exif\0\0II*\0\x08\0\0\0\x05\0" + b"\xff" * 20, b"\0" * 3],
    ids=["ifd-offset-out-of-file", "entries-past-end", "zeros"],
)
def test_read_metadata_alone_neither_raises_nor_warns(exif: bytes) -> None:
    """Called directly on any image, read_metadata keeps Pillow's corrupt-EXIF warnings inside."""
    image = Image.new("RGB", (4, 4))
    image.info["exif"] = exif
    assert read_metadata(image) == PhotoMetadata()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_exif_is_read_and_applied_in_every_format(fmt: str) -> None:
    """PNG eXIf and WebP EXIF chunks give the same position and orientation as JPEG APP1."""
    exif = tiff_exif(primary=[short(0x0112, 6)], gps=HANOI)
    photo = process_photo(encoded(sample_card((64, 48)), fmt, exif=exif))
    assert (photo.metadata.latitude, photo.metadata.longitude) == pytest.approx(HANOI_DEGREES)
    assert photo.metadata.orientation == 6
    assert (photo.display.width, photo.display.height) == (48, 64)
