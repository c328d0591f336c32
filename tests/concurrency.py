"""Running work in threads at the same moment, for the tests that prove races are safe."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

WAIT = 60
"""Seconds any one racing call may take before the test fails as hung."""


def at_once(*calls: Callable[[], Any], barrier: bool = True, timeout: float = WAIT) -> list[Any]:
    """Run each call in its own thread, released together (unless `barrier` is False, for
    calls that order themselves with events); their results in order. An exception in any
    call is raised here, and a call that does not finish in time fails the test."""
    start = threading.Barrier(len(calls), timeout=timeout) if barrier else None
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            if start is not None:
                start.wait()
            results[index] = calls[index]()
        except BaseException as exc:  # raised in the test's own thread below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,), name=f"racer-{i}")
               for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    if any(thread.is_alive() for thread in threads):
        raise AssertionError("a racing call hung")
    if errors:
        raise errors[0]
    return results
