"""Accessibility rules the pages keep: landmarks, labelled inputs, real buttons, contrast."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "reports_app" / "static" / "console"
PAGES = ["/", "/console/login", "/console/", "/console/triage", "/console/queue",
         "/console/cases/1", "/console/supervisor", "/console/missing"]


class Structure(HTMLParser):
    """Landmarks, form controls and their labels, buttons, images."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.controls: list[dict[str, str | None]] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.wrapped: list[str] = []
        self.buttons: list[dict[str, str | None]] = []
        self.images: list[dict[str, str | None]] = []
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.tags.append(tag)
        if tag == "html":
            self.lang = found.get("lang")
        if tag == "label":
            self.label_depth += 1
            if found.get("for"):
                self.label_for.add(found["for"] or "")
        if tag in ("input", "select", "textarea") and found.get("type") != "hidden":
            self.controls.append(found)
            if self.label_depth:
                self.wrapped.append(found.get("id") or "")
        if tag == "button":
            self.buttons.append(found)
        if tag == "img":
            self.images.append(found)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.label_depth -= 1


def structure(client, path: str) -> Structure:
    parsed = Structure()
    parsed.feed(client.get(path).get_data(as_text=True))
    return parsed


def test_every_page_has_a_language_and_landmarks(client):
    """Each page says its language and has a header, one main (with a skip link) and a footer."""
    for path in PAGES:
        page = structure(client, path)
        assert page.lang in ("vi", "en"), path
        assert page.tags.count("main") == 1, path
        assert "header" in page.tags, path
        assert "footer" in page.tags, path


def test_every_form_control_has_a_label(client):
    """No input, select or textarea on any page lacks a label."""
    for path in PAGES:
        page = structure(client, path)
        for control in page.controls:
            assert control.get("id") in page.label_for or control.get("aria-label"), (path, control)


def test_buttons_say_what_they_are(client):
    """Every button has an explicit type (no accidental submits)."""
    for path in PAGES:
        for button in structure(client, path).buttons:
            assert button.get("type") in ("button", "submit"), (path, button)


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_state_colours_match_on_map_and_badges_and_contrast_with_white_text():
    """A state has one colour on the map, in the legend and on its badge, dark enough for
    white text (4.5:1)."""
    css = (STATIC / "app.css").read_text(encoding="utf-8")
    badges = dict(re.findall(r"\.state-([a-z_]+) \{ background: (#[0-9a-f]{6}); \}", css))
    script = (STATIC / "js" / "map.js").read_text(encoding="utf-8")
    block = script[script.index("STATE_COLOURS = {"):script.index("};", script.index("STATE_COLOURS"))]
    markers = dict(re.findall(r"([a-z_]+): \"(#[0-9a-f]{6})\"", block))
    states = {"submitted", "assigned", "in_progress", "need_info", "resolved", "closed", "rejected"}
    assert set(badges) == set(markers) == states
    assert badges == markers
    for state, colour in badges.items():
        assert contrast(colour, "#ffffff") >= 4.5, state


def test_text_colours_meet_the_contrast_minimum():
    """Body, muted, link, notice and header colours all reach 4.5:1 on their backgrounds."""
    pairs = [("#1e293b", "#f8fafc"), ("#475569", "#ffffff"), ("#475569", "#f1f5f9"),
             ("#0b63b6", "#ffffff"), ("#0b63b6", "#e0ecf8"), ("#0b63b6", "#eef5fc"),
             ("#ffffff", "#0b4f8a"), ("#fde68a", "#0b4f8a"), ("#166534", "#e7f6ec"),
             ("#991b1b", "#fdecec"), ("#ffffff", "#0b63b6"), ("#1e293b", "#e2e8f0")]
    css = (STATIC / "app.css").read_text(encoding="utf-8")
    for foreground, background in pairs:
        assert foreground in css, foreground
        assert background in css, background
        assert contrast(foreground, background) >= 4.5, (foreground, background)
