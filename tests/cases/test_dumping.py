"""The compiled dump of the queue and the case file says exactly what their schemas say."""

from __future__ import annotations

import marshmallow as ma
import pytest
from marshmallow import fields

from reports_app.cases import schemas as s
from reports_app.cases.schemas import CaseListArgs
from reports_app.cases.service import case_detail, list_cases
from reports_app.common.dumping import Dumper

STATES = ("submitted", "assigned", "in_progress", "need_info", "resolved", "closed",
          "rejected")


@pytest.mark.parametrize(("viewer", "schema"), [("staff", s.StaffCaseSchema),
                                                 ("operator", s.OperatorCaseSchema)])
def test_case_file_dump_matches_the_schema(app, case_in, people, viewer, schema):
    """Every state's case file, as staff and as an operator, dumps as marshmallow dumps it."""
    compiled = Dumper(schema())
    assert compiled._plan is not None  # the fast path is taken, not the fallback
    for state in STATES:
        case = case_in(state)
        with app.test_request_context():
            view = case_detail(case, people.by_role(viewer))
            assert compiled(view) == schema().dump(view), state


@pytest.mark.parametrize(("viewer", "schema"), [("staff", s.StaffCasePageSchema),
                                                 ("operator", s.OperatorCasePageSchema)])
def test_queue_page_dump_matches_the_schema(app, case_in, people, viewer, schema):
    """A queue page with cases in every state dumps as marshmallow dumps it."""
    for state in STATES:
        case_in(state)
    with app.test_request_context():
        page = list_cases(people.by_role(viewer), CaseListArgs().load({"page_size": "50"}))
        assert page["items"]
        assert Dumper(schema())(page) == schema().dump(page)


def test_schemas_it_cannot_mirror_are_dumped_by_marshmallow():
    """A method field (or a hook, a renamed key) makes the whole dump marshmallow's own."""

    class Odd(ma.Schema):
        code = fields.String(data_key="key")
        shout = fields.Method("loud")

        def loud(self, obj):  # noqa: ANN001, ANN201 - marshmallow's method signature
            return obj["code"].upper()

    compiled = Dumper(Odd())
    assert compiled._plan is None
    assert compiled({"code": "a"}) == {"key": "a", "shout": "A"}
