"""Why a photo was refused, as stable codes the API can map to HTTP statuses and messages."""

from __future__ import annotations


class MediaError(Exception):
    """A photo the citizen must replace; `code` is stable, `message` is for people."""

    code: str = "media_error"
    default_message: str = "The photo cannot be processed."

    def __init__(
        self,
        message: str | None = None,
        *,
        limit: int | None = None,
        actual: int | None = None,
    ) -> None:
        """Keep the numbers so the client can be told what the limit was."""
        self.message = message or self.default_message
        self.limit = limit
        self.actual = actual
        super().__init__(self.message)


class UnsupportedImage(MediaError):
    """The bytes are not a JPEG, PNG, WebP or HEVC-coded HEIF image, whatever the name says."""

    code = "unsupported_media_type"
    default_message = "Only JPEG, PNG, WebP and HEIC/HEIF photos are accepted."


class FileTooLarge(MediaError):
    """The upload has more bytes than the limit, checked before anything is parsed."""

    code = "file_too_large"
    default_message = "The photo file is too large."


class ImageTooLarge(MediaError):
    """The header claims more pixels than the limit: refused before decoding (decompression bomb)."""

    code = "image_too_large"
    default_message = "The photo has too many pixels."


class BrokenImage(MediaError):
    """The bytes claim to be an image but are truncated or corrupt and cannot be decoded."""

    code = "broken_image"
    default_message = "The photo is damaged and cannot be read."


class TooManyPhotos(MediaError):
    """A report carries more photos than allowed."""

    code = "too_many_photos"
    default_message = "Too many photos for one report."


class MissingFile(KeyError):
    """A stored object is absent; a server-side fault, not the citizen's, so not a MediaError."""

    def __init__(self, key: str) -> None:
        """Remember the key so logs say which object is gone."""
        self.key = key
        super().__init__(key)

    def __str__(self) -> str:
        """Plain text instead of KeyError's quoted repr."""
        return f"no stored object under key {self.key!r}"
