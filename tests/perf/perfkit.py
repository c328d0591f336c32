"""What every benchmark script shares: progress lines and a scratch PostgreSQL database."""

from __future__ import annotations

import time

import psycopg


def step(text: str) -> float:
    """Print what starts now and return the start time."""
    print(f"-- {text}", flush=True)
    return time.perf_counter()


def done(started: float) -> None:
    """Print how long the step took."""
    print(f"   {time.perf_counter() - started:.1f} s", flush=True)


def ensure_database(server: str, name: str) -> None:
    """Create the benchmark's own database if it does not exist yet."""
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
