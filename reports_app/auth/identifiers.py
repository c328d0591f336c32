"""Turning what people type as a login into one canonical phone or e-mail."""

from __future__ import annotations

import phonenumbers


class InvalidIdentifier(ValueError):
    """Neither a valid phone number nor an e-mail address."""


def normalise_phone(raw: str, region: str = "VN") -> str:
    """E.164 form of a phone number typed in any common way ('0912 345 678', '+84912345678')."""
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidIdentifier("not a phone number") from exc
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise InvalidIdentifier("not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_email(raw: str) -> str:
    """Lower-cased e-mail with surrounding spaces removed; a light shape check only."""
    email = raw.strip().lower()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or " " in email or len(email) > 254:
        raise InvalidIdentifier("not an e-mail address")
    return email


def split_login(raw: str, region: str = "VN") -> tuple[str, str]:
    """Classify a login as ('email', value) or ('phone', E.164)."""
    raw = raw.strip()
    if "@" in raw:
        return "email", normalise_email(raw)
    return "phone", normalise_phone(raw, region)
