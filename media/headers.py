"""Sizes and completeness read from container headers, without decoding anything."""

from __future__ import annotations


def webp_canvas_size(data: bytes) -> tuple[int, int]:
    """Canvas size from a WebP header (VP8, VP8L or VP8X), or (0, 0) when it cannot be read."""
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        width = int.from_bytes(data[24:27], "little") + 1
        return width, int.from_bytes(data[27:30], "little") + 1
    if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
        width = int.from_bytes(data[26:28], "little") & 0x3FFF
        return width, int.from_bytes(data[28:30], "little") & 0x3FFF
    return 0, 0


def boxes_complete(data: bytes) -> bool:
    """False when a top-level ISO-BMFF box (usually mdat) runs past the end of the bytes."""
    offset, end = 0, len(data)
    while end - offset >= 8:
        size = int.from_bytes(data[offset : offset + 4], "big")
        header = 8
        if size == 1:
            if end - offset < 16:
                return False
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
            header = 16
        elif size == 0:
            return True
        if size < header or offset + size > end:
            return False
        offset += size
    return True
