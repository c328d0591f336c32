"""The HTML pages: public map and report pages, and the console's shells.

Every page is rendered in the reader's language (`?lang=` sets a cookie; Vietnamese by
default) with a strict Content-Security-Policy: scripts and styles only from our own files,
so nothing on a page can run code we did not ship, and nothing loads from another host
except map tiles and photos when a deployment configures those hosts.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound

from reports_app.console.text import TEXT, texts_for
from reports_app.i18n import LANGUAGES
from workflows.machine import PARTY_LABELS
from workflows.notifications import REJECT_REASON_LABELS
from workflows.states import STATE_LABELS, CaseState, Priority, RejectReason

log = logging.getLogger(__name__)

pages = Blueprint("console", __name__)

LANG_COOKIE = "lang"
LANG_COOKIE_SECONDS = 365 * 24 * 3600


# --------------------------------------------------------------------------- language


def page_language() -> str:
    """`?lang=` if given, else the reader's earlier choice (cookie), else the default (vi)."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    if kept in LANGUAGES:
        return kept
    default = current_app.config.get("DEFAULT_LANGUAGE", "vi")
    return default if default in LANGUAGES else "vi"


def _switch_url(lang: str) -> str:
    """This page in the other language (the query string kept)."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args["lang"] = lang
    return f"{request.path}?{urlencode(args)}"


# --------------------------------------------------------------------------- security


def _source(url: str) -> str | None:
    """A CSP source for the host of a URL template such as https://{s}.tile.example/{z}/…"""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    labels = parts.netloc.split(".")
    templated = [i for i, label in enumerate(labels) if "{" in label]
    if templated:
        # CSP wildcards cover the leftmost labels only: {s}.tile.x.org -> *.tile.x.org
        labels = ["*", *labels[templated[-1] + 1:]]
    return f"{parts.scheme}://{'.'.join(labels)}"


def content_security_policy() -> str:
    """Only our own scripts, styles and API; images also from the tile and media hosts."""
    images = ["'self'", "data:"]
    for key in ("MAP_TILE_URL", "MEDIA_PUBLIC_URL"):
        source = _source(str(current_app.config.get(key) or ""))
        if source and source not in images:
            images.append(source)
    return "; ".join([
        "default-src 'self'", "script-src 'self'", "style-src 'self'",
        f"img-src {' '.join(images)}", "connect-src 'self'", "font-src 'self'",
        "object-src 'none'", "base-uri 'self'", "form-action 'self'",
        "frame-ancestors 'none'",
    ])


@pages.after_request
def _page_headers(response: Response) -> Response:
    """CSP on every page; remember an explicit language choice."""
    response.headers["Content-Security-Policy"] = content_security_policy()
    response.headers.setdefault("Cache-Control", "no-cache")
    asked = request.args.get("lang")
    if asked in LANGUAGES and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(LANG_COOKIE, asked, max_age=LANG_COOKIE_SECONDS, samesite="Lax",
                            secure=request.is_secure, httponly=False)
    return response


# --------------------------------------------------------------------------- rendering


def _labels(table: dict[Any, dict[str, str]], lang: str) -> dict[str, str]:
    return {str(key): value[lang] for key, value in table.items()}


def page_data(lang: str, **extra: Any) -> dict[str, Any]:
    """What a page's script needs: language, texts, labels from the workflow, map settings."""
    return {
        "lang": lang,
        "timezone": current_app.config.get("TIMEZONE", "Asia/Ho_Chi_Minh"),
        "text": texts_for(lang),
        "states": _labels({s: STATE_LABELS[s] for s in CaseState}, lang),
        "reject_reasons": _labels({r: REJECT_REASON_LABELS[r] for r in RejectReason}, lang),
        "parties": _labels(PARTY_LABELS, lang),
        "priorities": {p.value: TEXT[f"priority_{p.value}"][lang] for p in Priority},
        "map": {"tile_url": current_app.config.get("MAP_TILE_URL") or "",
                "tile_attribution": current_app.config.get("MAP_TILE_ATTRIBUTION") or ""},
        **extra,
    }


def render_page(template: str, *, status: int = 200, title_key: str, **extra: Any) -> Response:
    """A page in the reader's language with its data block for the scripts."""
    lang = page_language()
    other = "en" if lang == "vi" else "vi"

    def t(key: str) -> str:
        return TEXT[key][lang]

    html = render_template(template, lang=lang, t=t, title=t(title_key),
                           other_lang=other, switch_url=_switch_url(other),
                           page_data=page_data(lang, **extra.pop("data", {})), **extra)
    return Response(html, status=status, mimetype="text/html")


def not_found_page() -> Response:
    """The friendly 404 for pages (the API keeps its JSON 404)."""
    return render_page("public/not_found.html", status=404, title_key="not_found_title")


# --------------------------------------------------------------------------- public pages


@pages.get("/")
def public_home() -> Response:
    """The public map of reports and the province's headline figures.

    `?code=` is the look-up form (it works without scripts): on to that report's page.
    """
    code = (request.args.get("code") or "").strip()
    if code:
        return redirect(url_for("console.public_report", code=code[:40]), 303)
    return render_page("public/home.html", title_key="public_title")


@pages.get("/reports/<path:code>")
def public_report(code: str) -> Response:
    """A public report by tracking code; 404 for anything that is not a public report."""
    from reports_app.reports.service import public_report as find_public_report

    try:
        case = find_public_report(code)
    except NotFound:
        return not_found_page()
    if case.tracking_code != code:
        # Typed in lower case, with spaces, or by id: send the reader to the one address.
        args = {"lang": request.args["lang"]} if request.args.get("lang") in LANGUAGES else {}
        return redirect(url_for("console.public_report", code=case.tracking_code, **args), 301)
    return render_page("public/report.html", title_key="report_title",
                       tracking_code=case.tracking_code, data={"tracking_code": case.tracking_code})


# --------------------------------------------------------------------------- console pages

CONSOLE_PAGES = {
    "login": ("console/login.html", "login_title"),
    "landing": ("console/landing.html", "landing_title"),
    "triage": ("console/triage.html", "triage_title"),
    "queue": ("console/queue.html", "queue_title"),
    "supervisor": ("console/supervisor.html", "supervisor_title"),
}


def _console(name: str, **extra: Any) -> Response:
    template, title_key = CONSOLE_PAGES[name]
    return render_page(template, title_key=title_key, page=name, **extra)


@pages.get("/console/login")
def login() -> Response:
    """Sign in (operators, agency staff, supervisors, admins)."""
    return _console("login")


@pages.get("/console/")
def landing() -> Response:
    """Sends each role to its own start page once the script knows who is signed in."""
    return _console("landing")


@pages.get("/console/triage")
def triage() -> Response:
    """Operator: new reports to check, place, merge, reject or assign."""
    return _console("triage")


@pages.get("/console/queue")
def queue() -> Response:
    """Agency staff: their agency's cases, soonest deadline first."""
    return _console("queue")


@pages.get("/console/cases/<bigint:case_id>")
def case_page(case_id: int) -> Response:
    """One case: photos, place, timeline and the actions the workflow allows this user."""
    return render_page("console/case.html", title_key="case_title", page="case",
                       case_id=case_id, data={"case_id": case_id})


@pages.get("/console/supervisor")
def supervisor() -> Response:
    """Supervisor: breaches, cases due soon, agencies' figures, extensions, monthly summaries."""
    return _console("supervisor")


@pages.get("/console/<path:rest>")
def console_not_found(rest: str) -> Response:
    """Any other console address: the friendly 404 page."""
    return not_found_page()
