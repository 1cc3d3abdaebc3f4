"""Roles and what each may do: one table, read by the views and the tests."""

from __future__ import annotations

RECEPTIONIST = "receptionist"
PARTNER = "partner"
ELECTED = "elected"
ADMIN = "admin"

ROLES = (RECEPTIONIST, PARTNER, ELECTED, ADMIN)
ROLE_LABELS = {
    RECEPTIONIST: "agent d'accueil",
    PARTNER: "agent partenaire",
    ELECTED: "élu",
    ADMIN: "administrateur",
}

SEND_REQUESTS = "send_requests"
ANSWER_REQUESTS = "answer_requests"
STAFF_DIRECTORY = "staff_directory"
STATISTICS = "statistics"
ADMINISTER = "administer"

PERMISSIONS: dict[str, frozenset[str]] = {
    RECEPTIONIST: frozenset({SEND_REQUESTS, STAFF_DIRECTORY}),
    PARTNER: frozenset({ANSWER_REQUESTS, STAFF_DIRECTORY}),
    ELECTED: frozenset({STATISTICS}),
    ADMIN: frozenset({SEND_REQUESTS, ANSWER_REQUESTS, STAFF_DIRECTORY, STATISTICS, ADMINISTER}),
}


def may(role: str | None, permission: str) -> bool:
    return permission in PERMISSIONS.get(role or "", frozenset())
