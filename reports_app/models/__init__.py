"""All models, imported together so Alembic and the mappers see every table."""

from reports_app.models.accounts import RevokedToken, User
from reports_app.models.cases import (
    Case,
    CaseClock,
    CaseEvent,
    CaseFollower,
    CasePhoto,
    Feedback,
    SlaEvent,
)
from reports_app.models.delivery import IdempotencyKey, OutboxMessage
from reports_app.models.records import ApiKey, AuditEntry, MonthlySummary
from reports_app.models.reference import Agency, Area, Category, RoutingRule, SlaPolicy
from reports_app.models.tallies import CaseTally, CaseTallyDelta

__all__ = [
    "Agency",
    "ApiKey",
    "AuditEntry",
    "Area",
    "Case",
    "CaseClock",
    "CaseEvent",
    "CaseFollower",
    "CasePhoto",
    "CaseTally",
    "CaseTallyDelta",
    "Category",
    "Feedback",
    "IdempotencyKey",
    "MonthlySummary",
    "OutboxMessage",
    "RevokedToken",
    "RoutingRule",
    "SlaEvent",
    "SlaPolicy",
    "User",
]
