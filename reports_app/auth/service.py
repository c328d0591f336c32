"""Account rules: registration, sign-in, account creation by admins."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from reports_app.auth.identifiers import (
    InvalidIdentifier,
    normalise_email,
    normalise_phone,
    split_login,
)
from reports_app.auth.passwords import hash_password, verify_password
from reports_app.extensions import db
from reports_app.models import Agency, User
from workflows.roles import Role


class AccountError(Exception):
    """An account request that cannot be honoured; `code` is the machine-readable reason."""

    def __init__(self, code: str, text: str, errors: dict[str, list[str]] | None = None):
        super().__init__(text)
        self.code = code
        self.errors = errors


def _identifiers(phone: str | None, email: str | None, region: str) -> tuple[str | None, str | None]:
    errors: dict[str, list[str]] = {}
    norm_phone = norm_email = None
    if phone:
        try:
            norm_phone = normalise_phone(phone, region)
        except InvalidIdentifier:
            errors["phone"] = ["Not a valid phone number."]
    if email:
        try:
            norm_email = normalise_email(email)
        except InvalidIdentifier:
            errors["email"] = ["Not a valid e-mail address."]
    if errors:
        raise AccountError("validation_error", "Some fields are invalid.", errors)
    return norm_phone, norm_email


def create_user(*, password: str, role: Role = Role.CITIZEN, phone: str | None = None,
                email: str | None = None, full_name: str = "", agency_id: int | None = None,
                language: str = "vi", region: str = "VN", is_active: bool = True) -> User:
    """Create an account after normalising its identifiers; flushes, the caller commits."""
    norm_phone, norm_email = _identifiers(phone, email, region)
    if norm_phone is None and norm_email is None:
        raise AccountError("validation_error", "A phone or an e-mail is required.",
                           {"phone": ["A phone number or an e-mail is required."]})
    if role == Role.STAFF and agency_id is None:
        raise AccountError("validation_error", "Staff accounts belong to an agency.",
                           {"agency_id": ["Required for staff."]})
    if agency_id is not None and db.session.get(Agency, agency_id) is None:
        raise AccountError("validation_error", "Unknown agency.", {"agency_id": ["Unknown agency."]})
    clash = []
    if norm_phone:
        clash.append(User.phone == norm_phone)
    if norm_email:
        clash.append(User.email == norm_email)
    if db.session.scalar(sa.select(User.id).where(sa.or_(*clash))) is not None:
        raise AccountError("account_exists", "An account with this phone or e-mail exists.")
    user = User(phone=norm_phone, email=norm_email, full_name=full_name.strip(),
                password_hash=hash_password(password), role=role,
                agency_id=agency_id, language=language, is_active=is_active)
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str, region: str = "VN") -> User:
    """The active account for these credentials, or AccountError('invalid_credentials')."""
    try:
        kind, value = split_login(username, region)
    except InvalidIdentifier:
        verify_password(None, password)
        raise AccountError("invalid_credentials", "Wrong username or password.") from None
    column = User.email if kind == "email" else User.phone
    user = db.session.scalar(sa.select(User).where(column == value))
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise AccountError("invalid_credentials", "Wrong username or password.")
    if not user.is_active:
        raise AccountError("account_inactive", "This account is deactivated.")
    return user


def update_user(user: User, changes: dict[str, Any], region: str = "VN") -> User:
    """Apply admin edits to an account, re-normalising identifiers and re-hashing passwords."""
    if "phone" in changes or "email" in changes:
        phone, email = _identifiers(changes.get("phone", user.phone),
                                    changes.get("email", user.email), region)
        for column, value in ((User.phone, phone), (User.email, email)):
            if value is not None:
                other = db.session.scalar(sa.select(User.id).where(column == value,
                                                                   User.id != user.id))
                if other is not None:
                    raise AccountError("account_exists", "An account with this phone or e-mail exists.")
        user.phone, user.email = phone, email
    if "password" in changes:
        user.password_hash = hash_password(changes["password"])
    for key in ("full_name", "role", "agency_id", "language", "is_active"):
        if key in changes:
            setattr(user, key, changes[key])
    if user.role == Role.STAFF and user.agency_id is None:
        raise AccountError("validation_error", "Staff accounts belong to an agency.",
                           {"agency_id": ["Required for staff."]})
    if user.agency_id is not None and db.session.get(Agency, user.agency_id) is None:
        raise AccountError("validation_error", "Unknown agency.", {"agency_id": ["Unknown agency."]})
    db.session.flush()
    return user
