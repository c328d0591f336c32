"""How one case counts in the published figures: its *figure class*, the one rule.

Every count of workflows/stats.py is a sum over cases of a few base counters, and which base
counters a case adds depends on a handful of its columns only (state, reject reason, latest
resolution against the latest resolve round's deadlines, latest rating). That dependency is
named here once, as a short string stored on the case (`cases.figure_class`, set whenever
the case is flushed): the statistics count classes in SQL, the tallies (workflows/tallies.py)
add up the counters of classes, and neither restates the rule.

Classes:

* ``open``: submitted, assigned, in_progress or need_info (someone owes an action);
* ``rejected``: rejected as out of scope, outside every jurisdiction, not enough information;
* ``excluded``: rejected as spam, abusive or a duplicate (merged): not received at all;
* ``<outcome>`` or ``<outcome>:<rating>`` for a resolved or closed case, where the outcome is
  `workflows.sla_clock.classify_handling` of its latest resolution (``on_time``,
  ``late_with_extension``, ``late``; no resolve deadline counts as on time) and the rating
  is its latest one (``satisfied``, ``accepted``, ``dissatisfied``), if any.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Protocol

from workflows.sla_clock import HandlingOutcome, classify_handling
from workflows.states import DONE_STATES, OPEN_STATES, CaseState, Rating, RejectReason

EXCLUDED_REASONS = frozenset({RejectReason.SPAM, RejectReason.ABUSIVE, RejectReason.DUPLICATE})
"""Rejections that are not counted as received: nobody owes the sender an answer."""

OPEN = "open"
REJECTED = "rejected"
EXCLUDED = "excluded"

TALLIED = ("handled", "handled_on_time", "handled_late_with_extension", "in_progress",
           "rejected", "excluded", "satisfied", "accepted", "dissatisfied")
"""The base counters a case adds by its class alone (open_overdue also needs the clock);
also the counter columns of the tallies (reports_app/models/tallies.py)."""

_OUTCOME_COUNTER = {HandlingOutcome.ON_TIME: "handled_on_time",
                    HandlingOutcome.LATE_WITH_EXTENSION: "handled_late_with_extension",
                    HandlingOutcome.LATE: None}


def _build_counters() -> dict[str, Mapping[str, int]]:
    table: dict[str, dict[str, int]] = {OPEN: {"in_progress": 1}, REJECTED: {"rejected": 1},
                                        EXCLUDED: {"excluded": 1}}
    for outcome, counter in _OUTCOME_COUNTER.items():
        base = {"handled": 1} | ({counter: 1} if counter else {})
        table[outcome.value] = base
        for rating in Rating:
            table[f"{outcome.value}:{rating.value}"] = base | {rating.value: 1}
    return {name: MappingProxyType({c: counts.get(c, 0) for c in TALLIED})
            for name, counts in table.items()}


CLASS_COUNTERS: Mapping[str, Mapping[str, int]] = MappingProxyType(_build_counters())
"""Each figure class and the base counters (0 or 1) one case of that class adds."""

HANDLED_CLASSES = frozenset(name for name, c in CLASS_COUNTERS.items() if c["handled"])


def classes_counting(counter: str) -> list[str]:
    """The classes whose cases add one to `counter` (sorted, for stable SQL)."""
    return sorted(name for name, counts in CLASS_COUNTERS.items() if counts[counter])


def figure_class(state: CaseState | str, reject_reason: str | None, resolved_at: datetime | None,
                 original_due: datetime | None, current_due: datetime | None,
                 rating: str | None) -> str:
    """The class of a case with these column values."""
    state = CaseState(state)
    if state in OPEN_STATES:
        return OPEN
    if state is CaseState.REJECTED:
        return EXCLUDED if reject_reason in EXCLUDED_REASONS else REJECTED
    assert state in DONE_STATES
    if original_due is None:
        outcome = HandlingOutcome.ON_TIME
    elif resolved_at is None:
        # Not reachable through the workflow (resolving sets resolved_at); never "on time".
        outcome = HandlingOutcome.LATE
    else:
        outcome = classify_handling(resolved_at, original_due, current_due or original_due)
    if rating in {r.value for r in Rating}:
        return f"{outcome.value}:{rating}"
    return outcome.value


class CaseColumns(Protocol):
    """The columns of a case its class depends on (a Case row, or any look-alike)."""

    state: CaseState | str
    reject_reason: str | None
    resolved_at: datetime | None
    resolve_original_due_at: datetime | None
    resolve_due_at: datetime | None
    latest_rating: str | None


def class_of_case(case: CaseColumns) -> str:
    """The class of a case as its columns stand now."""
    return figure_class(case.state, case.reject_reason, case.resolved_at,
                        case.resolve_original_due_at, case.resolve_due_at, case.latest_rating)
