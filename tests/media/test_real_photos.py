"""Real camera and phone files: upright derivatives, correct GPS and time, nothing leaked."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import exifread
import pillow_heif
import pytest
from geopy.distance import geodesic
from PIL import Image, ImageFile, ImageOps

from media import MediaError, ProcessedPhoto, process_photo
from tests.media.inspect_jpeg import grey_grid, mean_abs_diff, metadata_leaks
from tests.media.photos import photo_files, photo_id

Processed = Callable[[Path], ProcessedPhoto | MediaError]

ALL_FILES = photo_files("orientation", "gps", "mobile", "invalid", "exif-edge")
ODD_FILES = photo_files("invalid", "exif-edge")
ORIENTATION_FILES = photo_files("orientation")
LOCATED = ["gps/DSCN0010.jpg", "gps/DSCN0012.jpg", "gps/DSCN0021.jpg",
           "mobile/HMD_Nokia_8.3_5G.jpg", "mobile/HMD_Nokia_8.3_5G.heif",
           "exif-edge/67-0_length_string.jpg", "exif-edge/87_OSError.jpg"]
PHONES = ["mobile/HMD_Nokia_8.3_5G.heif", "mobile/HMD_Nokia_8.3_5G.jpg", "mobile/jolla.jpg"]
UPRIGHT_MAX_DIFF = 5.0
"""Grey levels: the twins differ by ICC conversion and JPEG noise only (about 1 level)."""
WRONG_MIN_DIFF = 20.0
"""Grey levels: any wrong flip or rotation of these scenes differs by 30 or more."""


def _ok(result: ProcessedPhoto | MediaError) -> ProcessedPhoto:
    """The processed photo, failing the test with the refusal if there was one."""
    if isinstance(result, MediaError):
        pytest.fail(f"refused with {result.code}: {result.message}")
    return result


def _exifread_tags(path: Path) -> dict[str, object]:
    """Tags as the independent reader exifread sees them."""
    with path.open("rb") as handle:
        return exifread.process_file(handle, details=False)


def _exifread_position(path: Path) -> tuple[float, float]:
    """Signed decimal degrees computed from exifread's raw DMS ratios."""
    tags = _exifread_tags(path)

    def axis(name: str, negative: str) -> float:
        """One signed coordinate."""
        d, m, s = (float(part) for part in tags[f"GPS GPS{name}"].values)
        sign = -1 if str(tags[f"GPS GPS{name}Ref"]).strip() == negative else 1
        return sign * (d + m / 60 + s / 3600)

    return axis("Latitude", "S"), axis("Longitude", "W")


def _exifread_time(path: Path) -> datetime:
    """Capture time from exifread: DateTimeOriginal, else the file's DateTime, with offset."""
    tags = _exifread_tags(path)
    if "EXIF DateTimeOriginal" in tags:
        stamp, offset = tags["EXIF DateTimeOriginal"], tags.get("EXIF OffsetTimeOriginal")
        subsec = tags.get("EXIF SubSecTimeOriginal")
    else:
        stamp, offset = tags["Image DateTime"], tags.get("EXIF OffsetTime")
        subsec = tags.get("EXIF SubSecTime")
    moment = datetime.strptime(str(stamp), "%Y:%m:%d %H:%M:%S")
    if subsec is not None:
        moment = moment.replace(microsecond=int((str(subsec).strip() + "000000")[:6]))
    if offset is not None:
        sign = -1 if str(offset).startswith("-") else 1
        hours, minutes = (int(part) for part in str(offset)[1:].split(":"))
        moment = moment.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    return moment


@pytest.mark.parametrize("path", ORIENTATION_FILES, ids=photo_id)
def test_orientation_samples_come_out_upright(path: Path, processed: Processed) -> None:
    """All eight EXIF orientations give the size and look of the untagged `_1` twin."""
    photo = _ok(processed(path))
    twin = _ok(processed(path.with_name(path.name.split("_")[0] + "_1.jpg")))
    assert (photo.display.width, photo.display.height) == (twin.display.width, twin.display.height)
    expected = grey_grid(twin.display.data)
    display = Image.open(io.BytesIO(photo.display.data))
    assert mean_abs_diff(grey_grid(display), expected) < UPRIGHT_MAX_DIFF
    for wrong in Image.Transpose:
        assert mean_abs_diff(grey_grid(display.transpose(wrong)), expected) > WRONG_MIN_DIFF


@pytest.mark.parametrize(
    ("relative", "size"),
    [("orientation/landscape_6.jpg", (600, 450)), ("orientation/portrait_8.jpg", (450, 600)),
     ("orientation/landscape_2.jpg", (600, 450)), ("mobile/HMD_Nokia_8.3_5G.heif", (3456, 4608))],
)
def test_reports_the_size_of_the_upright_original(
    relative: str, size: tuple[int, int], shared_photos: Path, processed: Processed
) -> None:
    """width and height describe the original as displayed: swapped for orientations 5 to 8."""
    photo = _ok(processed(shared_photos / relative))
    assert (photo.width, photo.height) == size


@pytest.mark.parametrize("relative", LOCATED)
def test_gps_matches_an_independent_reader(
    relative: str, shared_photos: Path, processed: Processed
) -> None:
    """Latitude and longitude are within 1 m of what exifread reports."""
    path = shared_photos / relative
    metadata = _ok(processed(path)).metadata
    assert metadata.latitude is not None
    assert metadata.longitude is not None
    ours = (metadata.latitude, metadata.longitude)
    assert geodesic(ours, _exifread_position(path)).meters < 1.0


@pytest.mark.parametrize(
    "relative",
    ["gps/DSCN0010.jpg", "gps/DSCN0012.jpg", "gps/DSCN0021.jpg", "mobile/HMD_Nokia_8.3_5G.jpg",
     "mobile/HMD_Nokia_8.3_5G.heif", "mobile/jolla.jpg", "exif-edge/32-lens_data.jpeg"],
)
def test_capture_time_matches_an_independent_reader(
    relative: str, shared_photos: Path, processed: Processed
) -> None:
    """captured_at equals exifread's time, aware exactly when the file gives an offset."""
    path = shared_photos / relative
    assert _ok(processed(path)).metadata.captured_at == _exifread_time(path)


@pytest.mark.parametrize("relative", PHONES)
def test_phone_photos_are_accepted_upright(
    relative: str, shared_photos: Path, processed: Processed
) -> None:
    """Phone JPEG and HEIF give 1600/320 JPEGs that look like the upright original."""
    # The HEIF's container says rotate 270° (irot): libheif applies it and EXIF is not applied
    # again. (That rotation leaves this particular scene sideways; so would any viewer.)
    path = shared_photos / relative
    photo = _ok(processed(path))
    if path.suffix == ".heif":
        reference = pillow_heif.open_heif(path).to_pillow()
    else:
        with Image.open(path) as original:
            reference = ImageOps.exif_transpose(original)
    upright_size = (photo.width, photo.height)
    assert reference.size == upright_size
    assert max(photo.display.width, photo.display.height) == 1600
    assert max(photo.thumbnail.width, photo.thumbnail.height) == 320
    assert photo.display.width / photo.display.height == pytest.approx(
        upright_size[0] / upright_size[1], rel=0.01
    )
    assert mean_abs_diff(grey_grid(photo.display.data), grey_grid(reference)) < UPRIGHT_MAX_DIFF
    assert mean_abs_diff(grey_grid(photo.thumbnail.data), grey_grid(reference)) < UPRIGHT_MAX_DIFF


def test_heif_exif_orientation_is_applied_once() -> None:
    """A HEIF saved with orientation 6 comes out rotated exactly once, like the JPEG would."""
    card = Image.new("RGB", (128, 64), (128, 128, 128))
    card.paste((220, 30, 30), (0, 0, 64, 32))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    pillow_heif.from_pillow(card).save(buffer, exif=exif.tobytes(), quality=90)
    photo = process_photo(buffer.getvalue())
    assert (photo.display.width, photo.display.height) == (64, 128)
    expected = card.transpose(Image.Transpose.ROTATE_270)
    assert mean_abs_diff(grey_grid(photo.display.data), grey_grid(expected)) < UPRIGHT_MAX_DIFF


@pytest.mark.parametrize("path", ODD_FILES, ids=photo_id)
def test_odd_files_give_a_photo_or_a_media_error(path: Path, processed: Processed) -> None:
    """Broken EXIF and damaged files never raise anything but a MediaError subclass."""
    result = processed(path)  # any other exception type escapes the fixture and fails the test
    if isinstance(result, MediaError):
        assert result.code in {"broken_image", "image_too_large", "unsupported_media_type"}
    else:
        assert metadata_leaks(result.display.data) == []


@pytest.mark.parametrize("path", ALL_FILES, ids=photo_id)
def test_derivatives_carry_no_metadata(path: Path, processed: Processed) -> None:
    """No derivative of any real file keeps EXIF, GPS, XMP, an ICC profile or a comment."""
    photo = _ok(processed(path))
    assert metadata_leaks(photo.display.data) == []
    assert metadata_leaks(photo.thumbnail.data) == []


def test_large_jpeg_is_decoded_at_reduced_scale(
    shared_photos: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 3264×2448 JPEG is only ever decoded at 1/2 scale (1632×1224), the smallest covering 1600."""
    decoded_sizes: set[tuple[int, int]] = set()
    real_load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> object:
        """Record the size being decoded, then decode."""
        decoded_sizes.add(self.size)
        return real_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    process_photo((shared_photos / "mobile" / "jolla.jpg").read_bytes())
    assert decoded_sizes == {(1632, 1224)}
