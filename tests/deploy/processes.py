"""Real processes for the deployment tests: gunicorn servers, the scheduler, the `flask` CLI,
a webhook receiver, and a small HTTP client. Nothing here sleeps: waits poll with a deadline."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PORTS = os.environ.get("TEST_PORTS", "18300-18399")
"""The port range these tests may listen on (one slice per xdist worker)."""
SECRET = "deployment-test-secret-0123456789abcdef"
WEBHOOK_SECRET = "deployment-webhook-secret-0123456789abcdef"
POLL = 0.05


def pause(seconds: float) -> None:
    """Wait a little between two polls of a condition (never a fixed sleep in a test)."""
    threading.Event().wait(seconds)


def wait_for(condition: Callable[[], Any], timeout: float, what: str,
             on_timeout: Callable[[], str] = lambda: "") -> Any:
    """Poll until `condition()` is truthy (and return it) or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n"
                                 f"{on_timeout()}")
        pause(POLL)


# --------------------------------------------------------------------------- ports


class Ports:
    """Free ports from TEST_PORTS, a separate slice for each xdist worker."""

    def __init__(self, spec: str = PORTS, worker: str | None = None) -> None:
        low, high = (int(p) for p in spec.split("-"))
        index = int((worker or "gw0").removeprefix("gw") or 0)
        span = high - low + 1
        width = max(10, span // 4)
        start = low + (index * width) % span
        self.candidates = [low + (start - low + i) % span for i in range(width)]
        self.given: set[int] = set()

    def take(self) -> int:
        """A port nobody listens on, not handed out before in this run."""
        for port in self.candidates:
            if port in self.given:
                continue
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            self.given.add(port)
            return port
        raise RuntimeError(f"no free port left in {self.candidates[0]}-{self.candidates[-1]}")


# --------------------------------------------------------------------------- processes


def app_environment(database_url: str, media_root: Path, instance: Path,
                    **extra: str) -> dict[str, str]:
    """The environment of every process of one deployment: production mode, one database,
    one media folder; nothing inherited that could point elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SHARED_DIR")}
    env.update({
        "APP_ENV": "production", "DATABASE_URL": database_url, "MEDIA_ROOT": str(media_root),
        "INSTANCE_PATH": str(instance), "JWT_SECRET_KEY": SECRET, "SECRET_KEY": SECRET,
        "PASSWORD_TIME_COST": "1", "PASSWORD_MEMORY_KIB": "1024", "LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1",
        "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2",
    })
    env.update(extra)
    return env


@dataclass
class Process:
    """One child process in its own process group, its output in a log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        """Start it (a new session, so a signal to its group reaches every worker)."""
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(self.args, cwd=REPO, env=self.env, stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          start_new_session=True)
        return self

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def log(self, last: int = 6000) -> str:
        """The end of its output, for failure messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.name} ({self.log_path}) ---\n{text[-last:]}"

    def kill(self) -> None:
        """SIGKILL the whole group: the master and every worker die at once, mid-request."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=30)

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM (a clean shutdown), then SIGKILL if it does not end in time."""
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._reap_group()
        return self.popen.returncode

    def _reap_group(self) -> None:
        """Workers that outlived their master would keep the database busy: end them too."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)


def flask(env: Mapping[str, str], *args: str, timeout: float = 120) -> str:
    """Run `flask --app wsgi ARGS` to the end and return its output (fails on a non-zero exit)."""
    result = subprocess.run([str(BIN / "flask"), "--app", "wsgi", *args], cwd=REPO, env=dict(env),
                            capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(f"flask {' '.join(args)} failed ({result.returncode}):\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result.stdout + result.stderr


def gunicorn(name: str, port: int, env: Mapping[str, str], folder: Path) -> Process:
    """Our production command: `gunicorn -c gunicorn.conf.py wsgi:app` on 127.0.0.1:port."""
    return Process(name, [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                   {**env, "BIND": f"127.0.0.1:{port}"}, folder / f"{name}.log")


def scheduler(env: Mapping[str, str], folder: Path) -> Process:
    """The one scheduler process of the deployment."""
    return Process("scheduler", [str(BIN / "flask"), "--app", "wsgi", "scheduler"], dict(env),
                   folder / "scheduler.log")


# --------------------------------------------------------------------------- HTTP


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Server:
    """An HTTP base address with a small client: JSON in, JSON out, bearer tokens."""

    def __init__(self, port: int, process: Process | None = None) -> None:
        self.port = port
        self.process = process
        self.url = f"http://127.0.0.1:{port}"

    def request(self, method: str, path: str, *, json_body: Any = None, body: bytes | None = None,
                content_type: str | None = None, token: str | None = None,
                headers: Mapping[str, str] | None = None, timeout: float = 60) -> Reply:
        """One request on a fresh connection; transport errors propagate (a killed server)."""
        sent = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            content_type = "application/json"
        if content_type:
            sent["Content-Type"] = content_type
        if token:
            sent["Authorization"] = f"Bearer {token}"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            return Reply(response.status, {k.lower(): v for k, v in response.getheaders()},
                         response.read())
        finally:
            connection.close()

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Reply:
        return self.request("POST", path, **kwargs)

    def is_ready(self) -> bool:
        """/readyz answers 200 (the process is up and reaches its database)."""
        try:
            return self.get("/readyz", timeout=2).status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = 60) -> Server:
        """Poll /readyz until it answers, failing early (with the log) if the process died."""
        def ready() -> bool:
            if self.process is not None and not self.process.running:
                raise AssertionError(f"{self.process.name} exited\n{self.process.log()}")
            return self.is_ready()

        wait_for(ready, timeout, f"{self.url}/readyz",
                 lambda: self.process.log() if self.process else "")
        return self

    def login(self, username: str, password: str) -> str:
        """Sign in and return the access token."""
        reply = self.post("/api/v1/auth/login", json_body={"username": username,
                                                           "password": password})
        assert reply.status == 200, reply.body
        return reply.json()["access_token"]


def multipart(fields: Mapping[str, str], photos: list[tuple[bytes, str]]) -> tuple[bytes, str]:
    """A multipart body with form fields and `photos` file parts, and its content type."""
    data: dict[str, Any] = dict(fields)
    data["photos"] = [FileStorage(io.BytesIO(blob), filename=name, content_type="image/jpeg")
                      for blob, name in photos]
    boundary, payload = encode_multipart(data)
    return payload, f"multipart/form-data; boundary={boundary}"


# --------------------------------------------------------------------------- webhook


@dataclass
class Received:
    """What the webhook receiver got: each request's headers and raw body."""

    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(body) for _headers, body in self.requests]


class WebhookReceiver:
    """A tiny push gateway on 127.0.0.1 that records every POST and answers 204."""

    def __init__(self, port: int) -> None:
        self.received = Received()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server interface
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with received.lock:
                    received.requests.append(({k.lower(): v for k, v in self.headers.items()},
                                              body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/notify"
        self.thread = threading.Thread(target=self.server.serve_forever, name="webhook",
                                       daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)
