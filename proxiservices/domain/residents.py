"""Checking and comparing how a resident can be reached."""

from __future__ import annotations

import re

from proxiservices.domain.text import fold

EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>.]{2,}$")


def normalise_phone(value: str) -> str | None:
    """A French phone number as 10 digits ("06 12 34 56 78" -> "0612345678"); +33 and
    0033 prefixes are accepted; anything else that is not 10 digits is None."""
    digits = re.sub(r"[\s.\-/()]", "", value or "")
    if digits.startswith("+33"):
        digits = "0" + digits[3:]
    elif digits.startswith("0033"):
        digits = "0" + digits[4:]
    if re.fullmatch(r"0[1-9]\d{8}", digits):
        return digits
    return None


def format_phone(digits: str | None) -> str:
    """ "0612345678" -> "06 12 34 56 78" (other values are shown unchanged)."""
    if not digits:
        return ""
    if re.fullmatch(r"\d{10}", digits):
        return " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    return digits


def normalise_email(value: str) -> str | None:
    value = (value or "").strip()
    if len(value) > 254 or not EMAIL.match(value):
        return None
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def same_resident(
    name_a: str,
    phone_a: str | None,
    email_a: str | None,
    name_b: str,
    phone_b: str | None,
    email_b: str | None,
) -> bool:
    """Same phone, same e-mail, or same name: enough to warn of a likely duplicate."""
    if phone_a and phone_a == phone_b:
        return True
    if email_a and email_b and email_a.lower() == email_b.lower():
        return True
    return bool(fold(name_a)) and fold(name_a) == fold(name_b)


CHANNELS = {"phone": "par téléphone", "email": "par e-mail"}
TIME_SLOTS = {
    "morning": "le matin",
    "midday": "entre midi et 14 h",
    "afternoon": "l'après-midi",
    "evening": "après 17 h",
}


def describe_slots(codes: str) -> str:
    """ "morning,afternoon" -> "le matin, l'après-midi" (unknown codes are skipped)."""
    labels = [TIME_SLOTS[c] for c in codes.split(",") if c in TIME_SLOTS]
    return ", ".join(labels) if labels else "indifférent"
