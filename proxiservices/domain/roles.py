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
# A partner edits its own body's sites, hours, closures, permanences and ateliers only.
EDIT_DIRECTORY = "edit_directory"
# A desk posts local alerts for its own commune only.
PUBLISH_ALERTS = "publish_alerts"

PERMISSIONS: dict[str, frozenset[str]] = {
    RECEPTIONIST: frozenset({SEND_REQUESTS, STAFF_DIRECTORY, PUBLISH_ALERTS}),
    PARTNER: frozenset({ANSWER_REQUESTS, STAFF_DIRECTORY, EDIT_DIRECTORY}),
    ELECTED: frozenset({STATISTICS}),
    ADMIN: frozenset(
        {
            SEND_REQUESTS,
            ANSWER_REQUESTS,
            STAFF_DIRECTORY,
            STATISTICS,
            ADMINISTER,
            EDIT_DIRECTORY,
            PUBLISH_ALERTS,
        }
    ),
}


def may(role: str | None, permission: str) -> bool:
    return permission in PERMISSIONS.get(role or "", frozenset())
