"""The workflow table against DESIGN.md: expected outcomes are written out here, not computed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from workflows import machine
from workflows.docs import END_MARKER, START_MARKER, render_markdown, replace_section
from workflows.machine import (
    Action,
    ClockEffect,
    Guard,
    InvalidTransition,
    MissingFields,
    NotPermitted,
    Party,
    UnknownAction,
    allowed_actions,
    as_dict,
    check,
    guards_for,
    missing_fields,
    outcome_for,
    parties_for_role,
    require_fields,
    resolve_target,
    transition_for,
    with_overseers,
)
from workflows.roles import Role
from workflows.states import CaseState, RejectReason

# ------------------------------------------------------------------ DESIGN.md, written out by hand

NO_CASE = None  # before a case exists: only submit
STATES = [NO_CASE, "submitted", "assigned", "in_progress", "need_info", "resolved", "closed",
          "rejected"]
OPEN = {"submitted", "assigned", "in_progress", "need_info"}
ALL = OPEN | {"resolved", "closed", "rejected"}
PARTIES = ["reporter", "agency_staff", "operator", "supervisor", "admin", "system",
           "open311_client"]

# action: (states it may be taken from, parties who may take it) — supervisor and admin
# listed wherever a staff party (agency staff, operator, supervisor) is.
EXPECTED: dict[str, tuple[set[str | None], set[str]]] = {
    "submit": ({NO_CASE}, {"reporter", "open311_client", "operator", "supervisor", "admin"}),
    "assign": ({"submitted"}, {"operator", "supervisor", "admin"}),
    "accept": ({"assigned"}, {"agency_staff", "supervisor", "admin"}),
    "transfer": ({"assigned", "in_progress"},
                 {"agency_staff", "operator", "supervisor", "admin"}),
    "request_info": ({"in_progress"}, {"agency_staff", "supervisor", "admin"}),
    "provide_info": ({"need_info"}, {"reporter"}),
    "resume": ({"need_info"}, {"agency_staff", "supervisor", "admin"}),
    "resolve": ({"in_progress"}, {"agency_staff", "supervisor", "admin"}),
    "reopen": ({"resolved", "closed"}, {"reporter", "supervisor", "admin"}),
    "close": ({"resolved"}, {"system", "supervisor", "admin"}),
    "reject": ({"submitted", "assigned"}, {"operator", "supervisor", "admin"}),
    "request_extension": (set(OPEN), {"agency_staff", "supervisor", "admin"}),
    "extend": (set(OPEN), {"supervisor", "admin"}),
    "prioritize": (set(OPEN), {"operator", "supervisor", "admin"}),
    "comment": (set(ALL), {"agency_staff", "operator", "supervisor", "admin"}),
}

# action: (targets, required fields, public timeline event?, clock effects of any outcome)
EXPECTED_SHAPE: dict[str, tuple[set[str], set[str], bool, set[str]]] = {
    "submit": ({"submitted", "assigned"}, set(), True,
               {"start_triage", "start_accept", "start_resolve"}),
    "assign": ({"assigned"}, {"agency_id"}, True,
               {"stop_triage", "start_accept", "start_resolve"}),
    "accept": ({"in_progress"}, set(), True, {"stop_accept"}),
    "transfer": ({"submitted", "assigned"}, {"reason"}, True,
                 {"start_triage", "start_accept", "stop_accept", "start_resolve",
                  "stop_resolve"}),
    "request_info": ({"need_info"}, {"note"}, True, {"pause"}),
    "provide_info": ({"in_progress"}, {"note"}, True, {"resume"}),
    "resume": ({"in_progress"}, {"note"}, True, {"resume"}),
    "resolve": ({"resolved"}, {"note"}, True, {"stop_resolve"}),
    "reopen": ({"in_progress"}, {"note"}, True, {"restart_resolve"}),
    "close": ({"closed"}, set(), True, set()),
    "reject": ({"rejected"}, {"reason"}, True, {"stop_triage", "stop_accept", "stop_resolve"}),
    "request_extension": (set(), {"reason", "due_at"}, False, set()),
    "extend": (set(), {"decision"}, False, {"move_deadline"}),
    "prioritize": (set(), {"priority"}, False, {"reapply_policy"}),
    "comment": (set(), {"note"}, False, set()),
}


def _expected(state: str | None, action: str, party: str) -> str:
    """What DESIGN.md says happens."""
    sources, parties = EXPECTED[action]
    if state not in sources:
        return "invalid"
    return "allowed" if party in parties else "not_permitted"


GRID = [(s, a, p) for s in STATES for a in EXPECTED for p in PARTIES]


@pytest.mark.parametrize(("state", "action", "party"), GRID)
def test_every_state_action_party(state: str | None, action: str, party: str) -> None:
    case_state = None if state is None else CaseState(state)
    expected = _expected(state, action, party)
    if expected == "allowed":
        assert check(action, case_state, [Party(party)]).action == action
        assert action in allowed_actions(case_state, [Party(party)])
    elif expected == "invalid":
        with pytest.raises(InvalidTransition) as err:
            check(action, case_state, [Party(party)])
        assert (err.value.state, err.value.action) == (case_state, action)
        assert action not in allowed_actions(case_state, [Party(party)])
    else:
        with pytest.raises(NotPermitted):
            check(action, case_state, [Party(party)])
        assert action not in allowed_actions(case_state, [Party(party)])


def test_table_has_exactly_the_designed_actions_in_order() -> None:
    assert [t.action.value for t in machine.TRANSITIONS] == list(EXPECTED)
    assert [a.value for a in Action] == list(EXPECTED)


@pytest.mark.parametrize("action", list(EXPECTED_SHAPE))
def test_targets_fields_public_and_clocks(action: str) -> None:
    targets, required, public, clocks = EXPECTED_SHAPE[action]
    t = transition_for(action)
    assert {s.value for s in t.targets} == targets
    assert t.keeps_state == (not targets)
    assert {f.value for f in t.required_fields} == required
    assert t.public is public
    assert {e.value for e in t.clock_effects} == clocks


# ------------------------------------------------------------------ parties


def test_supervisor_and_admin_take_every_staff_action() -> None:
    staff = {Party.AGENCY_STAFF, Party.OPERATOR}
    for t in machine.TRANSITIONS:
        if t.parties & staff:
            assert {Party.SUPERVISOR, Party.ADMIN} <= t.parties, t.action


def test_with_overseers_expands_only_staff_rows() -> None:
    assert with_overseers([Party.OPERATOR]) == {Party.OPERATOR, Party.SUPERVISOR, Party.ADMIN}
    assert with_overseers([Party.SUPERVISOR]) == {Party.SUPERVISOR, Party.ADMIN}
    assert with_overseers([Party.REPORTER]) == {Party.REPORTER}
    assert with_overseers([Party.SYSTEM, Party.OPEN311_CLIENT]) == {
        Party.SYSTEM, Party.OPEN311_CLIENT}


@pytest.mark.parametrize(
    ("role", "is_reporter", "in_agency", "expected"),
    [
        (Role.CITIZEN, True, False, {"reporter"}),
        (Role.CITIZEN, False, False, set()),
        (Role.STAFF, False, True, {"agency_staff"}),
        (Role.STAFF, False, False, set()),
        (Role.OPERATOR, False, False, {"operator"}),
        (Role.OPERATOR, True, False, {"operator", "reporter"}),
        (Role.SUPERVISOR, False, False, {"supervisor"}),
        (Role.ADMIN, False, True, {"admin"}),
    ],
)
def test_parties_for_role(role: Role, is_reporter: bool, in_agency: bool,
                          expected: set[str]) -> None:
    assert parties_for_role(role, is_reporter=is_reporter, in_case_agency=in_agency) == expected


def test_several_parties_union_in_table_order() -> None:
    # an operator who also sent the report, on a case waiting for information
    got = allowed_actions(CaseState.NEED_INFO, [Party.OPERATOR, Party.REPORTER])
    assert got == [Action.PROVIDE_INFO, Action.PRIORITIZE, Action.COMMENT]
    got = allowed_actions(CaseState.IN_PROGRESS, [Party.SUPERVISOR])
    assert got == ["transfer", "request_info", "resolve", "request_extension", "extend",
                   "prioritize", "comment"]


def test_check_accepts_plain_strings() -> None:
    assert check("resolve", CaseState.IN_PROGRESS, ["agency_staff"]).action is Action.RESOLVE
    assert allowed_actions(CaseState.RESOLVED, ["system"]) == [Action.CLOSE]


def test_guards_bind_the_named_parties_only() -> None:
    reopen = transition_for(Action.REOPEN)
    assert guards_for(reopen, Party.REPORTER) == (Guard.WITHIN_FEEDBACK_WINDOW,)
    assert guards_for(reopen, Party.SUPERVISOR) == ()
    transfer = transition_for(Action.TRANSFER)
    assert Guard.BACK_TO_TRIAGE_ONLY in guards_for(transfer, Party.AGENCY_STAFF)
    assert Guard.BACK_TO_TRIAGE_ONLY not in guards_for(transfer, Party.OPERATOR)
    assert guards_for(transition_for("extend"), "admin") == (
        Guard.HAS_PENDING_EXTENSION_REQUEST,)
    assert machine.PARTY_TESTS[Party.AGENCY_STAFF] is Guard.CASE_ASSIGNED_TO_ACTOR_AGENCY


# ------------------------------------------------------------------ errors


def test_submit_has_no_source_state() -> None:
    submit = transition_for(Action.SUBMIT)
    assert submit.sources == frozenset()
    assert allowed_actions(None, [Party.REPORTER]) == [Action.SUBMIT]
    with pytest.raises(InvalidTransition) as err:
        check(Action.SUBMIT, CaseState.SUBMITTED, [Party.REPORTER])
    assert err.value.details == {"action": "submit", "state": "submitted"}
    with pytest.raises(InvalidTransition) as err:
        check(Action.ASSIGN, None, [Party.OPERATOR])
    assert err.value.details == {"action": "assign", "state": None}


@pytest.mark.parametrize("name", ["fly", "", "SUBMIT", "reroute"])
def test_unknown_action(name: str) -> None:
    with pytest.raises(UnknownAction) as err:
        transition_for(name)
    assert err.value.code == "unknown_action"
    assert isinstance(err.value, LookupError)
    with pytest.raises(UnknownAction):
        check(name, CaseState.SUBMITTED, [Party.ADMIN])


def test_error_codes_are_stable() -> None:
    assert InvalidTransition.code == "invalid_transition"
    assert NotPermitted.code == "not_permitted"
    assert UnknownAction.code == "unknown_action"
    assert MissingFields.code == "missing_fields"
    with pytest.raises(NotPermitted) as err:
        check(Action.CLOSE, CaseState.RESOLVED, [Party.REPORTER])
    assert err.value.state is CaseState.RESOLVED
    assert err.value.details == {"action": "close"}


# ------------------------------------------------------------------ fields and targets


@pytest.mark.parametrize(
    ("requires_photo", "fields", "missing"),
    [
        (True, {}, ["note", "photos"]),
        (True, {"note": "Đã vá ổ gà"}, ["photos"]),
        (True, {"note": "Đã vá ổ gà", "photos": []}, ["photos"]),
        (True, {"note": "Đã vá ổ gà", "photos": ["after.jpg"]}, []),
        (False, {"note": "Đã vá ổ gà"}, []),
        (False, {"note": "   "}, ["note"]),
        (False, {}, ["note"]),
    ],
)
def test_resolve_photos_only_when_category_requires(
    requires_photo: bool, fields: dict, missing: list[str]
) -> None:
    resolve = transition_for(Action.RESOLVE)
    assert missing_fields(resolve, fields, requires_after_photo=requires_photo) == missing


def test_require_fields_raises_with_field_errors() -> None:
    with pytest.raises(MissingFields) as err:
        require_fields(transition_for("request_extension"), {}, requires_after_photo=False)
    assert err.value.fields == ["reason", "due_at"]
    assert set(err.value.errors) == {"reason", "due_at"}
    require_fields(transition_for("request_extension"),
                   {"reason": "mưa lớn", "due_at": "2025-08-01T17:00:00+07:00"},
                   requires_after_photo=False)


@pytest.mark.parametrize(
    ("fields", "missing"),
    [
        ({"reason": "duplicate"}, ["duplicate_of"]),
        ({"reason": "duplicate", "duplicate_of": 42}, []),
        ({"reason": "spam"}, []),
        ({}, ["reason"]),
    ],
)
def test_reject_duplicate_requires_duplicate_of(fields: dict, missing: list[str]) -> None:
    reject = transition_for(Action.REJECT)
    assert missing_fields(reject, fields, requires_after_photo=True) == missing


def test_reject_reason_is_a_reason_code() -> None:
    assert transition_for("reject").choices_for("reason") == tuple(r.value for r in RejectReason)
    assert transition_for("extend").choices_for("decision") == ("grant", "refuse")
    assert transition_for("comment").choices_for("note") is None


@pytest.mark.parametrize("action", ["transfer", "submit"])
@pytest.mark.parametrize(
    ("fields", "target"),
    [
        ({"agency_id": 7, "reason": "sai địa bàn"}, CaseState.ASSIGNED),
        ({"reason": "không thuộc thẩm quyền"}, CaseState.SUBMITTED),
        ({"agency_id": None}, CaseState.SUBMITTED),
        ({"agency_id": ""}, CaseState.SUBMITTED),
    ],
)
def test_target_depends_on_agency_id(action: str, fields: dict, target: CaseState) -> None:
    assert resolve_target(transition_for(action), fields) is target


def test_transfer_to_another_agency_restarts_its_clocks() -> None:
    transfer = transition_for(Action.TRANSFER)
    assert outcome_for(transfer, {"agency_id": 3}).clock_effects == (
        ClockEffect.START_ACCEPT, ClockEffect.START_RESOLVE)
    assert ClockEffect.START_TRIAGE in outcome_for(transfer, {}).clock_effects


@pytest.mark.parametrize(
    ("decision", "effects"),
    [("grant", (ClockEffect.MOVE_DEADLINE,)), ("refuse", ())],
)
def test_extend_moves_the_deadline_only_when_granted(decision: str, effects: tuple) -> None:
    extend = transition_for(Action.EXTEND)
    assert outcome_for(extend, {"decision": decision}).clock_effects == effects
    assert resolve_target(extend, {"decision": decision},
                          current=CaseState.NEED_INFO) is CaseState.NEED_INFO


def test_state_keeping_action_needs_the_current_state() -> None:
    with pytest.raises(ValueError, match="keeps the state"):
        resolve_target(transition_for(Action.COMMENT), {"note": "x"})


def test_rows_are_frozen() -> None:
    t = transition_for(Action.ACCEPT)
    with pytest.raises(dataclasses.FrozenInstanceError):
        t.public = False  # type: ignore[misc]
    assert hash(t) == hash(transition_for("accept"))


def test_a_contradictory_table_fails_validation() -> None:
    rows = list(machine.TRANSITIONS)
    rows[1] = dataclasses.replace(rows[1], sources=frozenset())
    with pytest.raises(RuntimeError, match="only submit has no source"):
        machine._validate(tuple(rows))
    with pytest.raises(RuntimeError, match="every Action once"):
        machine._validate(tuple(rows[:-1]))


# ------------------------------------------------------------------ export and docs


def test_as_dict_is_json_and_complete() -> None:
    data = json.loads(json.dumps(as_dict(), ensure_ascii=False))
    assert [s["name"] for s in data["states"]] == [s for s in STATES if s]
    assert {s["name"] for s in data["states"] if s["open"]} == OPEN
    assert data["states"][0]["label"] == {"vi": "Chờ tiếp nhận", "en": "Awaiting triage"}
    assert [a["name"] for a in data["actions"]] == list(EXPECTED)
    for row in data["actions"]:
        sources, parties = EXPECTED[row["name"]]
        assert set(row["parties"]) == parties  # expanded: clients need no logic
        assert set(row["sources"]) == {s for s in sources if s}
        assert row["label"]["vi"]
        assert row["label"]["en"]
    resolve = next(a for a in data["actions"] if a["name"] == "resolve")
    assert resolve["conditionally_required"] == [
        {"field": "photos", "condition": "category.requires_after_photo"}]
    assert as_dict() == as_dict()  # stable


def test_render_markdown_lists_every_action_between_markers() -> None:
    text = render_markdown()
    assert text.startswith(START_MARKER)
    assert text.endswith(END_MARKER)
    for action in EXPECTED:
        assert f"| `{action}` |" in text
    for state in STATES:
        if state:
            assert f"| `{state}` |" in text
    assert "Chờ bổ sung" in text


README = "# reports_app\n\nIntro.\n\n{section}\n\n## Running it\n\nflask run\n"


def test_replace_section_round_trips() -> None:
    rendered = render_markdown()
    old = README.format(section=f"{START_MARKER}\nstale table\n{END_MARKER}")
    new = replace_section(old, rendered)
    assert new == README.format(section=rendered)
    assert "stale table" not in new
    assert replace_section(new, rendered) == new


@pytest.mark.parametrize(
    "text",
    [
        "no markers at all",
        f"only {START_MARKER} here",
        f"only {END_MARKER} here",
        f"{END_MARKER} before {START_MARKER}",
    ],
)
def test_replace_section_needs_both_markers(text: str) -> None:
    with pytest.raises(ValueError, match="workflow"):
        replace_section(text, render_markdown())


def test_replace_section_refuses_an_unmarked_rendering() -> None:
    with pytest.raises(ValueError, match="markers"):
        replace_section(f"{START_MARKER}\n{END_MARKER}", "no markers")
