"""Fixtures for the photo pipeline: the shared real photos, and one processing per real file."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from media import MediaError, ProcessedPhoto, process_photo
from tests.media.photos import photos_dir


@pytest.fixture(scope="session")
def shared_photos() -> Path:
    """The real photos folder; a missing folder fails the run instead of skipping tests."""
    return photos_dir()


@pytest.fixture(scope="session")
def processed() -> Callable[[Path], ProcessedPhoto | MediaError]:
    """Process each real file once per session: the HEIF alone takes most of a second."""

    @cache
    def run(path: Path) -> ProcessedPhoto | MediaError:
        """The photo, or the refusal as a value so it is cached too."""
        try:
            return process_photo(path.read_bytes())
        except MediaError as error:
            return error

    return run
