"""The console and public pages: HTML shells with a strict CSP, the reader's language, the
friendly 404, and no personal data on anything public."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from reports_app.console.text import TEXT
from reports_app.extensions import db
from tests.console.conftest import personal_data

ROOT = Path(__file__).resolve().parents[2] / "reports_app"
CONSOLE_PAGES = ["/console/login", "/console/", "/console/triage", "/console/queue",
                 "/console/cases/1", "/console/supervisor"]


class Page(HTMLParser):
    """The bits of a page the tests look at: scripts, styles, links, the data block."""

    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, Any]] = []
        self.links: list[str] = []
        self.style_tags = 0
        self.style_attrs = 0
        self.inline_handlers = 0
        self.lang: str | None = None
        self.data: str = ""
        self._in_data = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "html":
            self.lang = found.get("lang")
        if tag == "script":
            self.scripts.append(found)
            self._in_data = found.get("id") == "page-data"
        if tag == "style":
            self.style_tags += 1
        if "style" in found:
            self.style_attrs += 1
        self.inline_handlers += sum(1 for name in found if name.startswith("on"))
        if tag == "link" and found.get("href"):
            self.links.append(found["href"])
        if tag == "script" and found.get("src"):
            self.links.append(found["src"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_data = False

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.data += data


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def test_every_page_is_html_with_a_strict_content_security_policy(client, public_case):
    """Each page is 200 HTML whose CSP allows scripts, styles and connections to our origin only."""
    for path in ["/", f"/reports/{public_case.tracking_code}", *CONSOLE_PAGES]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.mimetype == "text/html", path
        csp = response.headers["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
        assert directives["default-src"] == "'self'"
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["connect-src"] == "'self'"
        assert directives["img-src"] == "'self' data:"
        assert directives["frame-ancestors"] == "'none'"
        assert "unsafe" not in csp


def test_pages_have_no_inline_script_or_style(client, public_case):
    """Scripts and styles come from files (the CSP would block inline ones); data is JSON."""
    for path in ["/", f"/reports/{public_case.tracking_code}", *CONSOLE_PAGES]:
        page = parse(client.get(path).get_data(as_text=True))
        for script in page.scripts:
            assert script.get("src") or script.get("type") == "application/json", (path, script)
        assert (page.style_tags, page.style_attrs, page.inline_handlers) == (0, 0, 0), path


def test_every_asset_a_page_loads_is_served_by_us(client, public_case):
    """No CDN: every script and stylesheet is a path on this site, and it is there."""
    for path in ["/", f"/reports/{public_case.tracking_code}", *CONSOLE_PAGES]:
        page = parse(client.get(path).get_data(as_text=True))
        assert page.links, path
        for link in page.links:
            assert link.startswith("/"), (path, link)
            assert not link.startswith("//"), (path, link)
            with client.get(link) as asset:
                assert asset.status_code == 200, link


def test_unknown_console_page_is_a_friendly_html_404(client):
    """An unknown console address is an HTML page with ways back; the API stays JSON."""
    for path in ["/console/nothing-here", "/console/cases/not-a-number", "/console/a/b"]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html"
        assert "Content-Security-Policy" in response.headers
        html = response.get_data(as_text=True)
        assert "Không tìm thấy trang" in html
        assert 'href="/"' in html
    api = client.get("/api/v1/no-such-endpoint")
    assert api.status_code == 404
    assert api.get_json()["error"] == "not_found"


def test_unknown_or_private_report_has_no_public_page(client, public_case):
    """A code that names no public report is the 404 page, whether it exists or not."""
    assert client.get("/reports/PA-2611-ZZZZ").status_code == 404
    assert client.get("/reports/not-a-code").status_code == 404
    public_case.is_public = False
    db.session.commit()
    response = client.get(f"/reports/{public_case.tracking_code}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_loosely_typed_tracking_code_redirects_to_its_page(client, public_case):
    """`pa 2611 7kq3` or the case number lead to the one canonical address."""
    code = public_case.tracking_code
    for typed in (code.lower(), code.replace("-", ""), str(public_case.id)):
        response = client.get(f"/reports/{typed}")
        assert response.status_code == 301, typed
        assert response.headers["Location"] == f"/reports/{code}"


def test_lookup_form_leads_to_the_report_page_without_scripts(client, public_case):
    """The public page's look-up form (GET ?code=) goes to that report's page."""
    response = client.get("/", query_string={"code": public_case.tracking_code})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/reports/{public_case.tracking_code}"


def test_pages_are_vietnamese_by_default_and_english_on_request(client):
    """Vietnamese by default; ?lang=en switches and a cookie keeps the choice."""
    page = client.get("/console/login")
    assert parse(page.get_data(as_text=True)).lang == "vi"
    assert "Đăng nhập" in page.get_data(as_text=True)
    english = client.get("/console/login?lang=en")
    assert parse(english.get_data(as_text=True)).lang == "en"
    assert "lang=en" in english.headers["Set-Cookie"]
    again = client.get("/console/triage")
    assert parse(again.get_data(as_text=True)).lang == "en"
    assert 'href="/console/triage?lang=vi"' in again.get_data(as_text=True)
    assert parse(client.get("/?lang=vi").get_data(as_text=True)).lang == "vi"


def test_page_data_carries_the_texts_and_labels_in_the_page_language(client):
    """Scripts get every text, the states and reject reasons in the reader's language."""
    for lang in ("vi", "en"):
        page = parse(client.get(f"/?lang={lang}").get_data(as_text=True))
        data = json.loads(page.data)
        assert data["lang"] == lang
        assert data["text"] == {key: value[lang] for key, value in TEXT.items()}
        assert data["states"]["resolved"] == {"vi": "Đã xử lý", "en": "Resolved"}[lang]
        assert data["reject_reasons"]["duplicate"]
        assert data["map"] == {"tile_url": "", "tile_attribution": ""}


def test_tile_and_media_hosts_are_allowed_only_when_configured(app, client, monkeypatch):
    """A configured tile URL reaches the page and its host (wildcarded) the CSP's img-src."""
    monkeypatch.setitem(app.config, "MAP_TILE_URL", "https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
    monkeypatch.setitem(app.config, "MAP_TILE_ATTRIBUTION", "© OpenStreetMap")
    monkeypatch.setitem(app.config, "MEDIA_PUBLIC_URL", "https://cdn.example.test/media")
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "img-src 'self' data: https://*.tile.openstreetmap.org https://cdn.example.test;" in csp
    data = json.loads(parse(response.get_data(as_text=True)).data)
    assert data["map"]["tile_url"].startswith("https://{s}.tile.openstreetmap.org")


def test_public_pages_and_their_data_carry_no_personal_data(client, public_case):
    """Neither the public pages nor anything they load name, or give the phone or e-mail of,
    the reporter."""
    code = public_case.tracking_code
    loaded = [client.get("/"), client.get(f"/reports/{code}"),
              client.get(f"/api/v1/public/reports/{code}"), client.get("/api/v1/public/reports"),
              client.get("/api/v1/stats/public-summary"), client.get("/api/v1/areas.geojson"),
              client.get("/api/v1/agencies"),
              client.get("/api/v1/reports/nearby", query_string={"lat": 12.62, "lon": 108.02})]
    for response in loaded:
        assert response.status_code == 200, response.request.path
        text = response.get_data(as_text=True)
        for secret in personal_data():
            assert secret not in text, (response.request.path, secret)
    assert code in loaded[3].get_data(as_text=True)  # the case is there, without its reporter


def _used_keys() -> set[str]:
    keys: set[str] = set()
    for path in [*ROOT.glob("static/console/js/**/*.js"), *ROOT.glob("templates/console/*.html"),
                 *ROOT.glob("templates/public/*.html")]:
        text = path.read_text(encoding="utf-8")
        keys |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_]+)["']""", text))
        keys |= set(re.findall(r"""title_key\s*=\s*["']([a-z0-9_]+)["']""", text))
    for path in ROOT.glob("console/*.py"):
        keys |= set(re.findall(r"""title_key\s*=\s*["']([a-z0-9_]+)["']""",
                               path.read_text(encoding="utf-8")))
        keys |= set(re.findall(r"""\(\s*"console/[a-z_]+\.html",\s*"([a-z0-9_]+)"\)""",
                               path.read_text(encoding="utf-8")))
    return keys


@pytest.mark.parametrize(("prefix", "names"), [
    ("step_", ("triage", "accept", "resolve")),
    ("role_", ("citizen", "staff", "operator", "supervisor", "admin")),
    ("rating_", ("satisfied", "accepted", "dissatisfied")),
    ("decision_", ("grant", "refuse")),
    ("photos_", ("report", "info", "after")),
    ("photo_alt_", ("report", "info", "after")),
    ("clock_", ("running", "paused", "stopped", "late")),
    ("routed_by_", ("rule", "operator")),
    ("priority_", ("low", "normal", "high", "urgent")),
    ("fig_", ("received", "handled", "handled_on_time", "on_time_rate", "in_progress",
              "open_overdue", "satisfaction_rate", "median_hours_to_resolve")),
])
def test_texts_built_from_names_exist_in_both_languages(prefix, names):
    """Keys the scripts build from data (step_resolve, rating_satisfied…) are all there."""
    for name in names:
        assert set(TEXT[prefix + name]) == {"vi", "en"}, prefix + name


def test_every_text_the_pages_use_exists_in_both_languages():
    """No page shows a bare key: every t("…") in templates and scripts is in the dictionary."""
    used = _used_keys()
    assert len(used) > 100
    assert sorted(used - set(TEXT)) == []
    for key, value in TEXT.items():
        assert set(value) == {"vi", "en"}, key
        assert all(v.strip() for v in value.values()), key
