"""The input rules hold for every endpoint, including the ones added later."""

from __future__ import annotations

import flask_smorest
from flask import Flask

from reports_app.common.blueprint import Blueprint, StrictParser
from reports_app.common.schemas import InputSchema

METHODS = ("get", "post", "put", "patch", "delete")


def test_every_api_blueprint_reads_json_with_the_strict_parser(app: Flask):
    """No API blueprint falls back to webargs' own JSON parsing (no depth or NaN limits)."""
    smorest = [bp for bp in app.blueprints.values() if isinstance(bp, flask_smorest.Blueprint)]
    assert smorest
    assert all(isinstance(bp, Blueprint) for bp in smorest), [bp.name for bp in smorest]
    assert all(isinstance(bp.ARGUMENTS_PARSER, StrictParser) for bp in smorest)


def test_every_argument_schema_normalises_text_and_bounds_integers(app: Flask):
    """Every body, query and header schema of the API derives from InputSchema."""
    seen, loose = 0, []
    for endpoint, view in app.view_functions.items():
        view_class = getattr(view, "view_class", None)
        for method in METHODS:
            function = getattr(view_class, method, None) if view_class else None
            for parameter in getattr(function, "_apidoc", {}).get("arguments", {}).get(
                    "parameters", []):
                seen += 1
                schema = parameter["schema"]
                schema_class = schema if isinstance(schema, type) else type(schema)
                if not issubclass(schema_class, InputSchema):
                    loose.append(f"{endpoint} {method}: {schema_class.__name__}")
    assert seen > 30
    assert loose == []
