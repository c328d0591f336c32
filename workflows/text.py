"""Vietnamese text folding, so a search for "duong" finds "đường"."""

from __future__ import annotations

import unicodedata

_SPECIAL = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str) -> str:
    """Lower-case text without diacritics (đ → d), whitespace collapsed."""
    decomposed = unicodedata.normalize("NFD", text.translate(_SPECIAL))
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.lower().split())


BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
"""Embedding, override and isolate controls: they make text display in another order than it
is stored ("Trojan Source"), so a note could read differently to staff than it was written.
Vietnamese never needs them; the marks U+200E/U+200F and joiners stay allowed."""
LINE_BREAKS = "\n\r\t"


def disallowed_character(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` may not be stored as text, or None: control characters (line breaks and tabs
    allowed in multi-line text), lone surrogates (not encodable) and bidirectional controls."""
    allowed = LINE_BREAKS if multiline else ""
    for char in value:
        category = unicodedata.category(char)
        if category == "Cc" and char not in allowed:
            return "Control characters are not allowed."
        if category == "Cs":
            return "Unpaired surrogate characters are not allowed."
        if char in BIDI_CONTROLS:
            return "Bidirectional control characters are not allowed."
    return None
