"""Objects built once per app from its config (calendar, storage client, geocoder)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import current_app

T = TypeVar("T")


def per_app(name: str, build: Callable[[Mapping[str, Any]], T]) -> T:
    """The app's `name` object, built from the config on first use and kept in app.extensions."""
    value = current_app.extensions.get(name)
    if value is None:
        value = build(current_app.config)
        current_app.extensions[name] = value
    return value
