"""JWT wiring: who a token names, which tokens are revoked, and JWT errors in our shape."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import jsonify, request
from flask_jwt_extended import JWTManager, create_access_token, create_refresh_token
from werkzeug.http import HTTP_STATUS_CODES

from reports_app.common.input import INT32_MAX
from reports_app.errors import error_payload
from reports_app.extensions import db
from reports_app.i18n import message
from reports_app.models import RevokedToken, User


def _error(status: int, code: str) -> Any:
    body = error_payload(status, HTTP_STATUS_CODES[status], code, message(code))
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="reports_app"'
    return response


def issue_tokens(user: User) -> dict[str, Any]:
    """A fresh access and refresh token pair for an account."""
    claims = {"role": str(user.role), "agency_id": user.agency_id}
    return {
        "access_token": create_access_token(identity=user, additional_claims=claims),
        "refresh_token": create_refresh_token(identity=user),
        "token_type": "Bearer",
    }


def revoke_token(decoded: dict[str, Any]) -> None:
    """Record a token as revoked (idempotent); the caller commits."""
    jti = decoded["jti"]
    if db.session.scalar(db.select(RevokedToken.id).where(RevokedToken.jti == jti)) is not None:
        return
    db.session.add(RevokedToken(
        jti=jti,
        user_id=int(decoded["sub"]) if str(decoded.get("sub", "")).isdigit() else None,
        token_type=decoded.get("type", "access"),
        expires_at=datetime.fromtimestamp(decoded["exp"], UTC),
    ))


_ASKED = "reports_app.token_account"
"""Where this request keeps its token's answer (the request's own, unlike `g`)."""


def _account_and_revocation(payload: dict[str, Any]) -> tuple[User | None, bool]:
    """The token's account and whether the token is revoked, asked in one query per request.

    flask-jwt-extended asks the two questions separately (revoked first); every authenticated
    request asks both, so the first answer keeps the account for the second.
    """
    jti = payload.get("jti")
    known = request.environ.get(_ASKED)
    if known is not None and known[0] == jti:
        return known[1], known[2]
    revoked = sa.exists().where(RevokedToken.jti == jti)
    subject = str(payload.get("sub", ""))
    row = None
    if subject.isdecimal() and int(subject) <= INT32_MAX:
        row = db.session.execute(sa.select(User, revoked).where(User.id == int(subject))).first()
    answer = (row[0], bool(row[1])) if row is not None else (
        None, bool(db.session.scalar(sa.select(revoked))))
    request.environ[_ASKED] = (jti, *answer)
    return answer


def init_jwt(jwt: JWTManager) -> None:
    """Register the loaders on the JWT manager."""

    @jwt.user_identity_loader
    def _identity(user: User | int) -> str:
        return str(user.id if isinstance(user, User) else user)

    @jwt.token_in_blocklist_loader
    def _is_revoked(_header: dict, payload: dict) -> bool:
        return _account_and_revocation(payload)[1]

    @jwt.user_lookup_loader
    def _lookup(_header: dict, payload: dict) -> User | None:
        user = _account_and_revocation(payload)[0]
        return user if user is not None and user.is_active else None

    jwt.unauthorized_loader(lambda _reason: _error(401, "unauthorized"))
    jwt.invalid_token_loader(lambda _reason: _error(401, "invalid_token"))
    jwt.expired_token_loader(lambda _h, _p: _error(401, "token_expired"))
    jwt.revoked_token_loader(lambda _h, _p: _error(401, "token_revoked"))
    jwt.user_lookup_error_loader(lambda _h, _p: _error(401, "account_inactive"))
    jwt.needs_fresh_token_loader(lambda _h, _p: _error(401, "fresh_token_required"))
    jwt.token_verification_failed_loader(lambda _h, _p: _error(401, "invalid_token"))
