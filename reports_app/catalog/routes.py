"""Public reference data for the apps: the categories a citizen can report under."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask.views import MethodView
from marshmallow import fields

from reports_app.common.blueprint import Blueprint
from reports_app.extensions import db
from reports_app.models import Category

blp = Blueprint("catalog", __name__, url_prefix="/api/v1", description="Public reference data")


class PublicCategorySchema(ma.Schema):
    """A category in both languages, with the extra fields the app must ask for."""

    code = fields.String()
    service_code = fields.String()
    name = fields.Function(lambda c: {"vi": c.name_vi, "en": c.name_en})
    description = fields.Function(lambda c: {"vi": c.description_vi, "en": c.description_en})
    group = fields.Function(lambda c: {"vi": c.group_vi, "en": c.group_en})
    keywords = fields.List(fields.String())
    default_priority = fields.String()
    track = fields.String()
    requires_after_photo = fields.Boolean()
    fields_ = fields.List(fields.Dict(), data_key="fields", attribute="fields")


@blp.route("/categories")
class Categories(MethodView):
    @blp.response(200, PublicCategorySchema(many=True))
    def get(self) -> Any:
        """Active categories, Vietnamese and English, in display order."""
        stmt = (sa.select(Category).where(Category.is_active.is_(True))
                .order_by(Category.sort_order, Category.id))
        return db.session.scalars(stmt).all()
