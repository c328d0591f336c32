"""Sign up, sign in, refresh, sign out, and who am I."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from flask_jwt_extended import (
    create_access_token,
    current_user,
    decode_token,
    get_jwt,
    jwt_required,
)
from jwt.exceptions import PyJWTError

from reports_app.api_errors import RATE_LIMITED
from reports_app.auth.schemas import (
    AccessTokenSchema,
    LoginSchema,
    LogoutResultSchema,
    LogoutSchema,
    RegisterSchema,
    TokensSchema,
    UserSchema,
)
from reports_app.auth.service import AccountError, authenticate, create_user
from reports_app.auth.tokens import issue_tokens, revoke_token
from reports_app.common.blueprint import Blueprint
from reports_app.errors import abort
from reports_app.extensions import db
from reports_app.permissions import BEARER, require_roles
from reports_app.ratelimits import (
    check_login_lockout,
    limit_from_config,
    limiter,
    login_username_key,
    record_login_failure,
)
from workflows.roles import Role

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Accounts and tokens")


@blp.route("/auth/register")
class Register(MethodView):
    decorators = [limiter.limit(lambda: limit_from_config("REGISTER_RATE_LIMIT"),
                                methods=["POST"])]

    @blp.arguments(RegisterSchema)
    @blp.response(201, TokensSchema)
    @blp.alt_response(409, description="account_exists: the phone or e-mail has an account")
    @blp.alt_response(429, description=RATE_LIMITED)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Sign up as a citizen and receive tokens."""
        user = create_user(role=Role.CITIZEN, region=current_app.config["PHONE_REGION"], **data)
        db.session.commit()
        return {**issue_tokens(user), "user": user}


@blp.route("/auth/login")
class Login(MethodView):
    decorators = [
        limiter.limit(lambda: limit_from_config("LOGIN_RATE_LIMIT"), methods=["POST"]),
        limiter.limit(lambda: limit_from_config("LOGIN_ACCOUNT_RATE_LIMIT"), methods=["POST"],
                      key_func=login_username_key),
    ]

    @blp.arguments(LoginSchema)
    @blp.response(200, TokensSchema)
    @blp.alt_response(401, description="invalid_credentials")
    @blp.alt_response(403, description="account_inactive")
    @blp.alt_response(429, description=RATE_LIMITED)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Sign in with a phone number or e-mail and a password (locked after repeated failures)."""
        check_login_lockout(data["username"])
        try:
            user = authenticate(data["username"], data["password"],
                                current_app.config["PHONE_REGION"])
        except AccountError as exc:
            if exc.code == "invalid_credentials":
                record_login_failure(data["username"])
            raise
        return {**issue_tokens(user), "user": user}


@blp.route("/auth/refresh")
class Refresh(MethodView):
    @jwt_required(refresh=True)
    @blp.response(200, AccessTokenSchema)
    @blp.doc(security=BEARER)
    def post(self) -> dict[str, Any]:
        """Exchange a refresh token for a new access token."""
        user = current_user
        claims = {"role": str(user.role), "agency_id": user.agency_id}
        return {"access_token": create_access_token(identity=user, additional_claims=claims),
                "token_type": "Bearer"}


@blp.route("/auth/logout")
class Logout(MethodView):
    @jwt_required(verify_type=False)
    @blp.arguments(LogoutSchema, required=False)
    @blp.response(200, LogoutResultSchema)
    @blp.doc(security=BEARER)
    def post(self, data: dict[str, Any] | None) -> dict[str, Any]:
        """Revoke the presented token and, if given, this session's refresh token."""
        presented = get_jwt()
        revoked = [presented]
        refresh = (data or {}).get("refresh_token")
        if refresh:
            try:
                other = decode_token(refresh, allow_expired=True)
            except PyJWTError:
                abort(422, "invalid_token", errors={"refresh_token": ["Not a valid token."]})
            if other.get("sub") != presented.get("sub"):
                abort(403, "forbidden", errors={"refresh_token": ["Not your token."]})
            revoked.append(other)
        for token in revoked:
            revoke_token(token)
        db.session.commit()
        return {"revoked": [t["type"] for t in revoked]}


@blp.route("/me")
class Me(MethodView):
    @require_roles()
    @blp.response(200, UserSchema)
    def get(self) -> Any:
        """The signed-in account."""
        return current_user
