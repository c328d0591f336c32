"""A real server on 127.0.0.1 and headless Chromium (Debian's `chromium`, driven by Playwright).

The browser tests are skipped, with the reason, only when no Chromium is installed
(`apt-get install -y chromium`). Every page a test opens is watched: a request to any host
but 127.0.0.1, a script error or a Content-Security-Policy violation fails the test.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
LOCAL_HOSTS = {"127.0.0.1"}


class QuietHandler(WSGIRequestHandler):
    """No access log lines from the test server (the app logs its own)."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class InFlight:
    """Counts the requests the app is still handling, so a test's end (which empties the
    tables) can wait for the last one instead of racing it. Flask has finished a request,
    database session included, once the app returns its response iterable."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.count = 0
        self.idle = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.idle:
            self.count += 1
        try:
            return self.app(environ, start_response)
        finally:
            self._done()

    def _done(self) -> None:
        with self.idle:
            self.count -= 1
            self.idle.notify_all()

    def wait(self, timeout: float = 10) -> bool:
        with self.idle:
            return self.idle.wait_for(lambda: self.count == 0, timeout=timeout)


@dataclass
class LiveServer:
    url: str
    requests: InFlight


@pytest.fixture(scope="session")
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app served over real HTTP on a free port of 127.0.0.1, in a background thread."""
    requests = InFlight(app)
    server = make_server("127.0.0.1", 0, requests, threaded=True, request_handler=QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    yield LiveServer(f"http://127.0.0.1:{server.server_port}", requests)
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium; skipped (with the reason) when it is not installed."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    logging.getLogger("asyncio").setLevel(logging.WARNING)
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                          headless=True)
    yield chromium
    chromium.close()
    playwright.stop()


@dataclass
class Watch:
    """What the pages of one test did that they must not."""

    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def watch() -> Watch:
    return Watch()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer, watch: Watch) -> Iterator[Callable[..., Any]]:
    """A fresh browser context (its own sessionStorage) and page, guarded against the network."""
    contexts: list[Any] = []

    def guard(route: Any) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            watch.external.append(route.request.url)
            route.abort()

    def on_console(message: Any) -> None:
        # A 4xx the page expects and handles (e.g. a month not built yet) is not an error;
        # server errors are caught by on_response.
        if message.text.startswith("Failed to load resource"):
            return
        if message.type == "error" or "Content Security Policy" in message.text:
            watch.errors.append(f"console: {message.text}")

    def on_response(response: Any) -> None:
        if response.status >= 500:
            watch.errors.append(f"HTTP {response.status}: {response.url}")

    def make(*, width: int = 1280, height: int = 900) -> Any:
        context = browser.new_context(base_url=live_server.url, viewport={"width": width, "height": height},
                                      locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
        context.set_default_timeout(10_000)
        context.route("**/*", guard)
        contexts.append(context)
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda error: watch.errors.append(f"pageerror: {error}"))
        page.on("response", on_response)
        return page

    yield make
    for context in contexts:
        context.close()
    assert live_server.requests.wait(), "the server is still busy with a page's request"
    assert watch.external == [], f"requests left 127.0.0.1: {watch.external}"
    assert watch.errors == [], f"errors in the pages: {watch.errors}"


@pytest.fixture
def screenshot() -> Callable[[Any, str], Path]:
    """Save a full-page screenshot under tests/browser/screenshots/."""
    SCREENSHOTS.mkdir(exist_ok=True)

    def take(page: Any, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
