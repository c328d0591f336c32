"""gunicorn servers for the benchmarks that need real HTTP: started with the repository's
gunicorn.conf.py on a port of our own, waited for, and stopped (SIGTERM to the master)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.perf.perfkit import JWT_SECRET, OUT_DIR, REPO_ROOT


@dataclass(frozen=True)
class Server:
    """A running gunicorn: its master's pid and where it listens."""

    pid: int
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def worker_pids(self) -> list[int]:
        """The master's children (its workers), from /proc."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after the last ')'.
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.pid:
                found.append(int(entry.name))
        return sorted(found)


def rss_mb(pid: int) -> float:
    """Resident set size of a process, from /proc/<pid>/status."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def app_environment(dsn: str, **extra: str) -> dict[str, str]:
    """The production settings the real app runs with, on the benchmark's database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "APP_"))}
    env.update({"APP_ENV": "production", "DATABASE_URL": dsn, "JWT_SECRET_KEY": JWT_SECRET,
                "SECRET_KEY": JWT_SECRET, "SCHEDULER_ENABLED": "false",
                "RATELIMIT_ENABLED": "false", "PYTHONPATH": str(REPO_ROOT)})
    env.update(extra)
    return env


@contextmanager
def gunicorn(target: str, port: int, env: Mapping[str, str], log_name: str,
             ready_path: str = "/healthz") -> Iterator[Server]:
    """`gunicorn -c gunicorn.conf.py <target>` on 127.0.0.1:<port> until the block ends."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log = (OUT_DIR / f"{log_name}.log").open("w")
    process = subprocess.Popen(  # noqa: S603 - our own command line
        [sys.executable, "-m", "gunicorn", "-c", str(REPO_ROOT / "gunicorn.conf.py"), target],
        cwd=REPO_ROOT, env={**env, "BIND": f"127.0.0.1:{port}"}, stdout=log,
        stderr=subprocess.STDOUT)
    server = Server(process.pid, port)
    try:
        _wait_ready(process, f"{server.url}{ready_path}", log_name)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_ready(process: subprocess.Popen, url: str, log_name: str) -> None:
    deadline = time.monotonic() + 60
    pause = threading.Event()
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}; "
                               f"see {OUT_DIR / (log_name + '.log')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        pause.wait(0.2)
    raise RuntimeError(f"gunicorn did not answer {url} within 60 s")
