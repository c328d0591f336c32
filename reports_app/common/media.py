"""Photo URLs, shared by every feature that shows photos."""

from __future__ import annotations

from flask import current_app

from media import is_private


def media_url(key: str | None) -> str | None:
    """Where a client fetches a public derivative: `/media/<key>`, or under MEDIA_PUBLIC_URL (CDN).

    Private keys (the originals, with their EXIF and GPS) never get a URL.
    """
    if not key or is_private(key):
        return None
    base = str(current_app.config.get("MEDIA_PUBLIC_URL") or "").rstrip("/")
    return f"{base}/{key}" if base else f"/media/{key}"
