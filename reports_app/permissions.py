"""Who may call what: the one place every endpoint's access check lives."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from copy import deepcopy
from functools import wraps
from typing import Any, TypeVar

from flask_jwt_extended import current_user, verify_jwt_in_request

from reports_app.api_errors import ROLES
from reports_app.audit import audit_request_as
from reports_app.errors import abort
from reports_app.models import User
from workflows.roles import Role

F = TypeVar("F", bound=Callable[..., Any])

BEARER = [{"bearerAuth": []}]


def require_roles(*roles: Role, audited: bool = False) -> Callable[[F], F]:
    """Let the view run only for a signed-in, active account with one of `roles` (none: any).

    `audited`: the changes the view makes to reference data go to the audit log as this
    account's (reports_app.audit).
    """
    allowed = frozenset(roles)

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            verify_jwt_in_request()
            user: User = current_user
            if allowed and user.role not in allowed:
                abort(403, "forbidden")
            if audited:
                audit_request_as(user.id)
            return view(*args, **kwargs)

        doc = deepcopy(getattr(wrapper, "_apidoc", {}))
        manual = doc.setdefault("manual_doc", {})
        manual["security"] = BEARER
        manual[ROLES] = sorted(str(role) for role in allowed)
        wrapper._apidoc = doc  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def optional_user() -> User | None:
    """The signed-in account if a valid token came with the request, else None."""
    verify_jwt_in_request(optional=True)
    return current_user if current_user else None


def has_role(user: User | None, roles: Iterable[Role]) -> bool:
    """Whether the account holds one of the roles."""
    return user is not None and user.role in frozenset(roles)
