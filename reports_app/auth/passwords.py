"""Password hashing with Argon2id (argon2-cffi's defaults follow RFC 9106)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

# Verified against when the account does not exist, so timing does not reveal which names exist.
# Made on first use, not at import: every process (gunicorn worker, CLI command) would otherwise
# spend a full hash (~0.6 s at the production cost) before doing anything.
_DUMMY_HASH: str | None = None


def configure_hasher(time_cost: int, memory_cost_kib: int) -> None:
    """Set the KDF cost; tests lower it, production keeps argon2-cffi's RFC 9106 profile."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib)
    _DUMMY_HASH = None


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-real-password")
    return _DUMMY_HASH


def hash_password(password: str) -> str:
    """Hash a password for storage."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; a missing account costs the same time as a wrong password."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False
