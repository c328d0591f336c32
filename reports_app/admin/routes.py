"""Admin API for reference data: list, create, read, update, deactivate."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from flask import current_app
from flask.views import MethodView
from sqlalchemy.orm import selectinload

from reports_app.admin import schemas as s
from reports_app.admin.service import (
    AGENCIES,
    AREAS,
    CATEGORIES,
    ROUTING_RULES,
    SLA_POLICIES,
    Resource,
    create_row,
    import_areas,
    update_row,
)
from reports_app.auth.service import create_user, update_user
from reports_app.common.blueprint import Blueprint
from reports_app.common.pagination import paginate
from reports_app.common.schemas import page_of
from reports_app.errors import abort
from reports_app.extensions import db
from reports_app.models import AuditEntry, User
from reports_app.permissions import require_roles
from workflows.roles import Role

blp = Blueprint("admin", __name__, url_prefix="/api/v1/admin",
                description="Reference data (admins only)")

ADMIN = require_roles(Role.ADMIN, audited=True)


DUPLICATE = ("duplicate_code / duplicate_rule / account_exists: another row already has this "
             "code, rule, phone or e-mail")


def _get_or_404(model: type, item_id: int) -> Any:
    obj = db.session.get(model, item_id)
    if obj is None:
        abort(404, "not_found")
    return obj


def _filtered(resource: Resource, args: dict[str, Any]) -> sa.Select[Any]:
    model = resource.model
    stmt = sa.select(model).order_by(model.id)
    if "active" in args:
        stmt = stmt.where(model.is_active.is_(args["active"]))
    if args.get("q") and resource.search:
        like = f"%{args['q'].lower()}%"
        stmt = stmt.where(sa.or_(*(sa.func.lower(getattr(model, c)).like(like)
                                   for c in resource.search)))
    return stmt


def register_crud(path: str, name: str, resource: Resource, out_schema: type[ma.Schema],
                  in_schema: type[ma.Schema], patch_schema: ma.Schema,
                  list_args: type[ma.Schema] = s.ListArgs,
                  create: Any = None, update: Any = None,
                  extra_filters: Any = None) -> None:
    """Add list/create and read/update/deactivate endpoints for one reference resource."""
    label = name.replace("_", " ")
    page_schema = page_of(out_schema, f"{out_schema.__name__[:-6]}Page")
    do_create = create or (lambda data: create_row(resource, data))
    do_update = update or (lambda obj, data: update_row(resource, obj, data))

    class Collection(MethodView):
        @ADMIN
        @blp.arguments(list_args, location="query")
        @blp.response(200, page_schema)
        def get(self, args: dict[str, Any]) -> dict[str, Any]:
            stmt = _filtered(resource, args)
            if extra_filters:
                stmt = extra_filters(stmt, args)
            return paginate(stmt, args["page"], args["page_size"])

        @ADMIN
        @blp.arguments(in_schema)
        @blp.response(201, out_schema)
        @blp.alt_response(409, description=DUPLICATE)
        def post(self, data: dict[str, Any]) -> Any:
            obj = do_create(data)
            db.session.commit()
            current_app.logger.info("admin created %s %s", name, obj.id)
            return obj

    class Item(MethodView):
        @ADMIN
        @blp.response(200, out_schema)
        def get(self, item_id: int) -> Any:
            return _get_or_404(resource.model, item_id)

        @ADMIN
        @blp.arguments(patch_schema)
        @blp.response(200, out_schema)
        @blp.alt_response(409, description=DUPLICATE)
        def patch(self, data: dict[str, Any], item_id: int) -> Any:
            obj = do_update(_get_or_404(resource.model, item_id), data)
            db.session.commit()
            current_app.logger.info("admin updated %s %s", name, item_id)
            return obj

        @ADMIN
        @blp.response(200, out_schema)
        def delete(self, item_id: int) -> Any:
            obj = do_update(_get_or_404(resource.model, item_id), {"is_active": False})
            db.session.commit()
            current_app.logger.info("admin deactivated %s %s", name, item_id)
            return obj

    Collection.get.__doc__ = f"List {label}s."
    Collection.post.__doc__ = f"Create a {label}."
    Item.get.__doc__ = f"Read one {label}."
    Item.patch.__doc__ = f"Change a {label}."
    Item.delete.__doc__ = f"Deactivate a {label} (rows are kept for history)."
    blp.route(path, endpoint=f"{name}_list")(Collection)
    blp.route(f"{path}/<int:item_id>", endpoint=f"{name}_item")(Item)


def _create_user(data: dict[str, Any]) -> User:
    if not data.get("password"):
        abort(422, "validation_error", errors={"password": ["Missing data for required field."]})
    return create_user(region=current_app.config["PHONE_REGION"], **data)


def _update_user(user: User, data: dict[str, Any]) -> User:
    return update_user(user, data, current_app.config["PHONE_REGION"])


def _user_filters(stmt: sa.Select[Any], args: dict[str, Any]) -> sa.Select[Any]:
    if "role" in args:
        stmt = stmt.where(User.role == args["role"])
    if "agency_id" in args:
        stmt = stmt.where(User.agency_id == args["agency_id"])
    return stmt


USERS = Resource(User, search=("email", "phone", "full_name"))

register_crud("/agencies", "agency", AGENCIES, s.AgencySchema, s.AgencyInSchema, s.agency_patch)
register_crud("/areas", "area", AREAS, s.AreaSchema, s.AreaInSchema, s.area_patch)
register_crud("/categories", "category", CATEGORIES, s.CategorySchema, s.CategoryInSchema,
              s.category_patch)
register_crud("/routing-rules", "routing_rule", ROUTING_RULES, s.RoutingRuleSchema,
              s.RoutingRuleInSchema, s.routing_rule_patch)
register_crud("/sla-policies", "sla_policy", SLA_POLICIES, s.SlaPolicySchema,
              s.SlaPolicyInSchema, s.sla_policy_patch)
register_crud("/users", "user", USERS, s.AdminUserSchema, s.AdminUserInSchema,
              s.admin_user_patch, list_args=s.UserListArgs, create=_create_user,
              update=_update_user, extra_filters=_user_filters)


@blp.route("/areas/import")
class AreaImport(MethodView):
    @ADMIN
    @blp.arguments(s.GeoJsonImport)
    @blp.response(200, s.AreaSchema(many=True))
    def post(self, data: dict[str, Any]) -> Any:
        """Create or update areas from a GeoJSON FeatureCollection, matched by code."""
        areas = import_areas(data)
        db.session.commit()
        return areas


@blp.route("/areas.geojson")
class AreaGeoJson(MethodView):
    @ADMIN
    @blp.response(200, ma.Schema.from_dict({"type": ma.fields.String(),
                                            "features": ma.fields.List(ma.fields.Dict())},
                                           name="FeatureCollection"))
    def get(self) -> dict[str, Any]:
        """All areas as one GeoJSON FeatureCollection."""
        from reports_app.models import Area

        areas = db.session.scalars(sa.select(Area).order_by(Area.id)).all()
        codes = {a.id: a.code for a in areas}
        return {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": a.code, "geometry": a.boundary, "properties": {
                "code": a.code, "name_vi": a.name_vi, "name_en": a.name_en, "level": a.level,
                "parent_code": codes.get(a.parent_id), "is_active": a.is_active}}
            for a in areas]}


@blp.route("/audit-log")
class AuditLog(MethodView):
    @ADMIN
    @blp.arguments(s.AuditLogArgs, location="query")
    @blp.response(200, page_of(s.AuditEntrySchema, "AuditEntryPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Changes to reference data (who, when, old → new), newest first; read-only."""
        stmt = (sa.select(AuditEntry).options(selectinload(AuditEntry.actor))
                .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc()))
        if "entity" in args:
            stmt = stmt.where(AuditEntry.entity == args["entity"])
        if "entity_id" in args:
            stmt = stmt.where(AuditEntry.entity_id == args["entity_id"])
        if "actor" in args:
            stmt = stmt.where(AuditEntry.actor_id == args["actor"])
        if "from_" in args:
            stmt = stmt.where(AuditEntry.created_at >= args["from_"])
        if "to" in args:
            stmt = stmt.where(AuditEntry.created_at < args["to"])
        return paginate(stmt, args["page"], args["page_size"])
