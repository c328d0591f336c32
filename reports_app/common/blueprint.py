"""The API's Blueprint: flask-smorest's, reading JSON bodies with our strict parser."""

from __future__ import annotations

from typing import Any

import flask_smorest
import marshmallow as ma
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from reports_app.common.input import parse_json


class StrictParser(FlaskParser):
    """webargs' Flask parser with `parse_json` (depth, NaN and surrogate limits) for bodies,
    and query strings held to their schema: a misspelt filter (`?stauts=open`) is a 422 naming
    it, not a silently unfiltered list."""

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION,
                                   "query": ma.RAISE, "querystring": ma.RAISE}

    def _raw_load_json(self, req: Any) -> Any:
        """The JSON body, parsed strictly; a refusal is webargs' 400 for invalid JSON."""
        if not is_json_request(req):
            return core.missing
        return parse_json(req.get_data(cache=True))


def _has_fields(data: Any) -> bool:
    """A required JSON body must say something: no body, or `{}`, is refused."""
    if not data:
        raise ma.ValidationError("A JSON body with at least one field is required.")
    return True


class Blueprint(flask_smorest.Blueprint):
    """Every API blueprint: arguments are read by the strict parser, and a JSON body the
    document calls required is required (a PATCH without one changed nothing and said 200)."""

    ARGUMENTS_PARSER = StrictParser()

    def arguments(self, schema: Any, *, location: str = "json", required: bool = True,
                  **kwargs: Any) -> Any:
        if location == "json" and required and "validate" not in kwargs:
            kwargs["validate"] = _has_fields
        return super().arguments(schema, location=location, required=required, **kwargs)
