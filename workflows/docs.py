"""The README's workflow section, generated from the table so the docs cannot drift from it."""

from __future__ import annotations

from workflows.machine import (
    CLOCK_EFFECT_TEXT,
    TRANSITIONS,
    Condition,
    FieldName,
    Outcome,
    Party,
    Recipient,
    Transition,
)
from workflows.states import OPEN_STATES, STATE_LABELS, CaseState

START_MARKER = "<!-- workflow:start -->"
END_MARKER = "<!-- workflow:end -->"

_WHEN_TEXT: dict[Condition, str] = {
    Condition.AGENCY_ID_GIVEN: "with `agency_id`",
    Condition.DECISION_IS_GRANT: "if granted",
    Condition.REASON_IS_DUPLICATE: "if `reason` is `duplicate`",
    Condition.CATEGORY_REQUIRES_AFTER_PHOTO: "unless the category says otherwise",
}


def _sources(t: Transition) -> str:
    """The "from" side of an action."""
    if not t.sources:
        return "—"
    if t.sources == frozenset(CaseState):
        return "any state"
    if t.sources == OPEN_STATES:
        return "any open state"
    return ", ".join(s.value for s in CaseState if s in t.sources)


def _target(o: Outcome) -> str:
    """One outcome's "to" side."""
    target = "(unchanged)" if o.target is None else o.target.value
    return target if o.when is None else f"{target} ({_WHEN_TEXT[o.when]})"


def _from_to(t: Transition) -> str:
    """The "from → to" cell."""
    if t.keeps_state:
        return f"{_sources(t)} → (unchanged)"
    return f"{_sources(t)} → " + " or ".join(_target(o) for o in t.outcomes)


def _who(t: Transition) -> str:
    """Parties, with the guards that bind only some of them in brackets."""
    cells = []
    for party in Party:
        if party not in t.parties:
            continue
        own = [g.guard.value for g in t.guards if g.parties and party in g.parties]
        cells.append(f"{party.value} ({', '.join(own)})" if own else party.value)
    return ", ".join(cells)


def _fields(t: Transition) -> str:
    """Required fields, then those required only under a condition."""
    parts = [f"`{f.value}`" for f in FieldName if f in t.required_fields]
    parts += [f"`{r.field.value}` ({_WHEN_TEXT[r.condition]})"
              for r in t.conditionally_required]
    return ", ".join(parts) or "—"


def _effect(t: Transition) -> str:
    """Clock effects per outcome, guards that bind everyone, and who is notified."""
    parts = []
    for o in t.outcomes:
        if not o.clock_effects:
            continue
        text = ", ".join(CLOCK_EFFECT_TEXT[e] for e in o.clock_effects)
        if o.when is not None:
            text = f"{_WHEN_TEXT[o.when]}: {text}"
        elif len(t.outcomes) > 1:
            text = f"otherwise: {text}"
        parts.append(text)
    common = [g.guard.value for g in t.guards if not g.parties]
    if common:
        parts.append("guard: " + ", ".join(common))
    if t.notify:
        parts.append("notifies " + ", ".join(r.value for r in Recipient if r in t.notify))
    return "; ".join(parts) or "—"


def render_markdown() -> str:
    """The workflow section of README.md, between its two marker lines."""
    lines = [
        START_MARKER,
        "",
        "_Generated from `workflows/machine.py`; do not edit by hand._",
        "",
        "| state | Vietnamese | English | open? |",
        "|---|---|---|---|",
    ]
    for state in CaseState:
        labels = STATE_LABELS[state]
        is_open = "yes" if state in OPEN_STATES else "no"
        lines.append(f"| `{state.value}` | {labels['vi']} | {labels['en']} | {is_open} |")
    lines += [
        "",
        "Supervisor and admin may take any staff action. Guards in brackets bind only that "
        "party.",
        "",
        "| action | from → to | who | required fields | public? | effect |",
        "|---|---|---|---|---|---|",
    ]
    for t in TRANSITIONS:
        public = "yes" if t.public else "no"
        lines.append(
            f"| `{t.action.value}` | {_from_to(t)} | {_who(t)} | {_fields(t)} | {public} "
            f"| {_effect(t)} |"
        )
    lines += ["", END_MARKER]
    return "\n".join(lines)


def replace_section(readme_text: str, rendered: str) -> str:
    """Swap the marked workflow section of a README for `rendered`; ValueError without markers."""
    start = readme_text.find(START_MARKER)
    end = readme_text.find(END_MARKER, start + len(START_MARKER)) if start >= 0 else -1
    if start < 0 or end < 0:
        raise ValueError(f"README has no {START_MARKER} … {END_MARKER} section")
    if not (rendered.startswith(START_MARKER) and rendered.endswith(END_MARKER)):
        raise ValueError("rendered section must start and end with the workflow markers")
    return readme_text[:start] + rendered + readme_text[end + len(END_MARKER):]
