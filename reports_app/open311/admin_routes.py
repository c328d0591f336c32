"""Admin API for Open311 client keys: list, issue (the key is shown once), read, revoke."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.views import MethodView
from flask_jwt_extended import current_user

from reports_app.common.blueprint import Blueprint
from reports_app.common.pagination import paginate
from reports_app.common.schemas import page_of
from reports_app.errors import abort
from reports_app.extensions import db
from reports_app.models import ApiKey
from reports_app.open311 import schemas as s
from reports_app.open311.keys import issue_key, revoke_key
from reports_app.permissions import require_roles
from workflows.roles import Role

blp = Blueprint("open311_keys", __name__, url_prefix="/api/v1/admin",
                description="Open311 client API keys (admins only)")

ADMIN = require_roles(Role.ADMIN, audited=True)


def _key_or_404(key_id: int) -> ApiKey:
    key = db.session.get(ApiKey, key_id)
    if key is None:
        abort(404, "not_found")
    return key


@blp.route("/api-keys")
class ApiKeys(MethodView):
    @ADMIN
    @blp.arguments(s.ApiKeyListArgs, location="query")
    @blp.response(200, page_of(s.ApiKeySchema, "ApiKeyPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List Open311 client keys (their records; the keys themselves are not kept)."""
        stmt = sa.select(ApiKey).order_by(ApiKey.id)
        if "active" in args:
            stmt = stmt.where(ApiKey.is_active.is_(args["active"]))
        return paginate(stmt, args["page"], args["page_size"])

    @ADMIN
    @blp.arguments(s.ApiKeyInSchema)
    @blp.response(201, s.IssuedApiKeySchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Issue a key for one client application; the response is the only time it is shown."""
        key, plain = issue_key(data["name"], contact_email=data["contact_email"],
                               rate_limit_per_minute=data["rate_limit_per_minute"],
                               created_by=current_user)
        db.session.commit()
        return {**{name: getattr(key, name) for name in s.ApiKeySchema().fields}, "key": plain}


@blp.route("/api-keys/<int:key_id>")
class ApiKeyItem(MethodView):
    @ADMIN
    @blp.response(200, s.ApiKeySchema)
    def get(self, key_id: int) -> ApiKey:
        """Read one client key's record."""
        return _key_or_404(key_id)

    @ADMIN
    @blp.response(200, s.ApiKeySchema)
    def delete(self, key_id: int) -> ApiKey:
        """Revoke a key: requests carrying it are refused (403) from now on."""
        key = revoke_key(_key_or_404(key_id))
        db.session.commit()
        return key
