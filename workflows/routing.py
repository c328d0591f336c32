"""Which agency a case goes to: the most specific (category, area) rule wins."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from reports_app.models import Agency, Area, RoutingRule


@dataclass(frozen=True)
class RuleView:
    """The parts of a rule that decide whether and how well it matches."""

    id: int
    category_id: int | None
    area_id: int | None
    agency_id: int


def rule_rank(rule: RuleView, category_id: int, area_chain: Sequence[int]) -> tuple[int, int] | None:
    """How specific a matching rule is (higher wins), or None if it does not match.

    A category match outranks any area match; a nearer area outranks its ancestors.
    """
    if rule.category_id is not None and rule.category_id != category_id:
        return None
    if rule.area_id is None:
        area_rank = 0
    elif rule.area_id in area_chain:
        area_rank = len(area_chain) - area_chain.index(rule.area_id)
    else:
        return None
    return (1 if rule.category_id is not None else 0, area_rank)


def choose_rule(rules: Sequence[RuleView], category_id: int,
                area_chain: Sequence[int]) -> RuleView | None:
    """The most specific matching rule; ties go to the oldest rule (lowest id)."""
    ranked = [(rank, -r.id, r) for r in rules
              if (rank := rule_rank(r, category_id, area_chain)) is not None]
    if not ranked:
        return None
    return max(ranked, key=lambda item: (item[0], item[1]))[2]


def area_chain(session: Session, area_id: int | None) -> list[int]:
    """The area and its ancestors, nearest first."""
    chain: list[int] = []
    while area_id is not None and area_id not in chain:
        chain.append(area_id)
        area_id = session.scalar(sa.select(Area.parent_id).where(Area.id == area_id))
    return chain


def route(session: Session, category_id: int, area_id: int | None) -> RuleView | None:
    """The active rule that routes this category and place to an active agency, if any."""
    chain = area_chain(session, area_id)
    stmt = (
        sa.select(RoutingRule.id, RoutingRule.category_id, RoutingRule.area_id,
                  RoutingRule.agency_id)
        .join(Agency, Agency.id == RoutingRule.agency_id)
        .where(RoutingRule.is_active.is_(True), Agency.is_active.is_(True),
               sa.or_(RoutingRule.category_id.is_(None), RoutingRule.category_id == category_id),
               sa.or_(RoutingRule.area_id.is_(None), RoutingRule.area_id.in_(chain or [-1])))
    )
    rules = [RuleView(*row) for row in session.execute(stmt)]
    return choose_rule(rules, category_id, chain)
