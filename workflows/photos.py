"""Photos already processed and stored by the media pipeline, ready to attach to a case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from reports_app.models import Case, CaseEvent, CasePhoto


@dataclass(frozen=True)
class StoredPhoto:
    """What the workflow keeps of a photo: its hash, size, storage keys and private EXIF."""

    sha256: str
    content_type: str
    width: int
    height: int
    original_key: str
    display_key: str
    thumb_key: str
    exif_lat: float | None = None
    exif_lon: float | None = None
    exif_captured_at: datetime | None = None


def attach_photos(session: Session, case: Case, event: CaseEvent | None,
                  photos: list[StoredPhoto], kind: str) -> list[CasePhoto]:
    """Link stored photos to the case (and the event that brought them)."""
    rows = [CasePhoto(case_id=case.id, event_id=event.id if event else None, kind=kind,
                      sha256=p.sha256, content_type=p.content_type, width=p.width,
                      height=p.height, original_key=p.original_key, display_key=p.display_key,
                      thumb_key=p.thumb_key, exif_lat=p.exif_lat, exif_lon=p.exif_lon,
                      exif_captured_at=p.exif_captured_at) for p in photos]
    session.add_all(rows)
    return rows
