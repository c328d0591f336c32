"""All models, imported together so Alembic and the mappers see every table."""

from reports_app.models.accounts import RevokedToken, User
from reports_app.models.reference import Agency, Area, Category, RoutingRule, SlaPolicy

__all__ = ["Agency", "Area", "Category", "RevokedToken", "RoutingRule", "SlaPolicy", "User"]
