"""Account roles: shared by the workflow table and the API's permission checks."""

from enum import StrEnum


class Role(StrEnum):
    """Who an account is; staff are bound to one agency."""

    CITIZEN = "citizen"
    STAFF = "staff"
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.STAFF, Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
"""Roles that work cases from the console, as opposed to citizens."""

SEES_REPORTER = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.ADMIN})
"""Roles allowed to see who sent a report (DESIGN.md, Privacy)."""
