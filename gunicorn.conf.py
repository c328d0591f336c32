"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"
# Import the app once in the master and fork the workers from it: they start at once and share
# the imported code's memory. The app opens no connection at import (engines, Redis and S3
# clients connect on first use, in each worker). A code change needs a restart, not a HUP.
preload_app = os.environ.get("GUNICORN_PRELOAD", "true").lower() in ("1", "true", "yes", "on")
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can never grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
# Photos are buffered to disk by the proxy; the app reads them once.
limit_request_line = 8190
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = None
errorlog = "-"


def _tune_malloc() -> None:
    """glibc malloc settings for a worker (no-op elsewhere): return big blocks at once.

    A photo's pixels (tens of MB) are allocated in large blocks; by default glibc raises its
    mmap threshold after the first such block is freed, so later ones come from the heap and
    stay resident, and every thread gets its own arena. A fixed threshold (which also turns
    the raising off) and two arenas keep a worker's RSS near its steady state.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    if not name:
        return
    libc = ctypes.CDLL(name)
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None:
        return
    m_mmap_threshold, m_arena_max = -3, -8  # from <malloc.h>
    mallopt(m_mmap_threshold, 256 * 1024)
    mallopt(m_arena_max, 2)


def post_fork(server, worker):  # noqa: ARG001 - gunicorn's hook signature
    """Runs in each new worker."""
    _tune_malloc()
