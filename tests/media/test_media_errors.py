"""Every refusal has a stable code that the web side maps to an HTTP status."""

from __future__ import annotations

import pytest

from media import (
    BrokenImage,
    FileTooLarge,
    ImageTooLarge,
    MediaError,
    TooManyPhotos,
    UnsupportedImage,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UnsupportedImage, "unsupported_media_type"),
        (FileTooLarge, "file_too_large"),
        (ImageTooLarge, "image_too_large"),
        (BrokenImage, "broken_image"),
        (TooManyPhotos, "too_many_photos"),
    ],
)
def test_error_codes_are_stable(error: type[MediaError], code: str) -> None:
    """Each refusal is a MediaError with its documented code and a default message for people."""
    raised = error()
    assert isinstance(raised, MediaError)
    assert raised.code == code
    assert raised.message
    assert (raised.limit, raised.actual) == (None, None)


def test_errors_carry_the_numbers_they_were_given() -> None:
    """A limit and the actual value travel with the error for the client's message."""
    raised = FileTooLarge("too big", limit=10, actual=11)
    assert (str(raised), raised.limit, raised.actual) == ("too big", 10, 11)
