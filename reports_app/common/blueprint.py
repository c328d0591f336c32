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


class Blueprint(flask_smorest.Blueprint):
    """Every API blueprint: arguments are read by the strict parser."""

    ARGUMENTS_PARSER = StrictParser()
