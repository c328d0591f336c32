"""Where the shared real photos are, found the same way locally and in CI's fresh clone."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def photos_dir() -> Path:
    """SHARED_PHOTOS_DIR, else SHARED_DIR/photos, else shared/photos beside the checkout."""
    override = os.environ.get("SHARED_PHOTOS_DIR")
    shared = os.environ.get("SHARED_DIR")
    if override:
        folder = Path(override)
    elif shared:
        folder = Path(shared) / "photos"
    else:
        folder = REPO_ROOT.parent / "shared" / "photos"
    if not (folder / "orientation").is_dir():
        raise FileNotFoundError(
            f"shared real photos not found at {folder}: the media tests need them "
            "(set SHARED_PHOTOS_DIR to the folder that holds orientation/, gps/, mobile/ …)"
        )
    return folder


def photo_files(*folders: str) -> list[Path]:
    """Every file in the named subfolders, sorted, for parametrising at collection time."""
    root = photos_dir()
    files = [path for name in folders for path in sorted((root / name).iterdir())]
    if not files:
        raise FileNotFoundError(f"no photos in {folders} under {root}")
    return files


def photo_id(path: Path) -> str:
    """A readable test id: folder/name."""
    return f"{path.parent.name}/{path.name}"
