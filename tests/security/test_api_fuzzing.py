"""Schemathesis against our own OpenAPI document: every operation, as every kind of caller.

Each generated request (valid and deliberately invalid, per the document) goes in as one of
the eight callers of the authorization matrix, half the time aimed at rows that exist (the
world's cases, breaches, reference rows, the stored month) instead of random ids. Every answer
must be below 500 and match what the document says of it: status, content type, headers,
body schema; invalid input must be refused.

FUZZ_EXAMPLES bounds the examples per operation and mode (CI's default keeps the run to a
couple of minutes); the number of requests sent is printed at the end of the run.
"""

from __future__ import annotations

import os
import zlib
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, settings

from tests.security.conftest import ROLES, World

NOT_CHECKED = [schemathesis.checks.positive_data_acceptance]
"""A request the document allows may still be refused for what the document cannot say: an
unknown category, a phone number that is not one, a point outside the province (422)."""

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))


@pytest.fixture
def fuzzed_api(app: Flask, world: World) -> Any:
    """The document as the app serves it, calling the app in-process."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


schema = schemathesis.pytest.from_fixture("fuzzed_api")


def _real_values(world: World) -> dict[str, list[Any]]:
    """For each path parameter, values naming rows the world holds."""
    victims = world.victims
    cases = [world.case_x, world.case_y, world.open311_case]
    return {
        "case_id": [case.id for case in cases],
        "code": [case.tracking_code for case in cases],
        "item_id": [victims[kind].id for kind in ("agency", "area", "category",
                                                  "routing_rule", "sla_policy", "user")],
        "key_id": [victims["api_key"].id],
        "event_id": [world.fresh_breach().id],
        "month": [world.month],
        "action": ["accept", "reject", "resolve", "request_info", "note", "reassign"],
        "key": [world.photo.display_key, world.photo.thumb_key, world.photo.original_key],
    }


def _draw(case: Any) -> int:
    """A number fixed by the generated request, so that a replay (or a shrink) of the same
    request goes in as the same caller, aimed the same way."""
    seen = (case.operation.label, case.path_parameters, case.query, case.headers, case.body)
    return zlib.crc32(repr(seen).encode())


def _invalid(case: Any, location: str) -> bool:
    """Whether schemathesis made this part of the request invalid on purpose (then it is sent
    as generated: replacing it would make the request valid and its acceptance a false alarm)."""
    meta = case.meta
    return meta is not None and any(
        where.value == location and info.mode.is_negative
        for where, info in meta.components.items())


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate], database=None,
          suppress_health_check=list(HealthCheck))
def test_no_operation_answers_an_error_of_ours_or_off_its_document(
        case: Any, world: World, request: pytest.FixtureRequest) -> None:
    draw = _draw(case)
    role = ROLES[draw % len(ROLES)]
    if draw // len(ROLES) % 2 and case.path_parameters and not _invalid(case, "path"):
        real = request.node.stash.setdefault(_REAL, _real_values(world))
        for name in list(case.path_parameters):
            if name in real:
                case.path_parameters[name] = real[name][draw % len(real[name])]
    token = {} if _invalid(case, "header") else world.token(role)
    SENT[case.operation.label] = SENT.get(case.operation.label, 0) + 1
    request.node.user_properties[:] = [("fuzz_requests", SENT[case.operation.label])]
    case.call_and_validate(headers=token, excluded_checks=NOT_CHECKED)


_REAL = pytest.StashKey[dict[str, list[Any]]]()
SENT: dict[str, int] = {}
"""Requests sent per operation in this process (reported at the end of the run)."""
