"""The audit trail: every change made in the application, listed per object.

Callers snapshot an object before editing it, apply the change, then call `record` with
the same fields: only the fields that actually changed are written, and an update that
changed nothing writes no entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select

from proxiservices.extensions import db
from proxiservices.models.accounts import User
from proxiservices.models.upkeep import AuditEntry

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
IMPORT = "import"
# The resident's personal data (services/privacy.py): what was done, never the data itself.
EXPORT = "export"
ERASE = "erase"

ACTION_LABELS = {
    CREATE: "création",
    UPDATE: "modification",
    DELETE: "suppression",
    IMPORT: "import",
    EXPORT: "export des données",
    ERASE: "effacement des données",
}


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a column value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` on `obj`, as they would be written in an audit entry."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def differences(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        name: [before.get(name), value]
        for name, value in after.items()
        if before.get(name) != value
    }


def record(
    actor: User | None,
    object_type: str,
    object_id: Any,
    object_label: str,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry | None:
    """Add an audit entry to the session (the caller commits with its change)."""
    changes = differences(before or {}, after or {})
    if action == DELETE:
        changes = {name: [value, None] for name, value in (before or {}).items()}
    if action == UPDATE and not changes:
        return None
    entry = AuditEntry(
        at=at or datetime.now(UTC),
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.email if actor is not None else "commande",
        object_type=object_type,
        object_id=str(object_id),
        object_label=object_label[:300],
        action=action,
        changes=changes,
    )
    db.session.add(entry)
    return entry


def history(object_type: str, object_id: Any, limit: int = 200) -> list[AuditEntry]:
    """An object's changes, newest first."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.object_type == object_type, AuditEntry.object_id == str(object_id))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def recent(limit: int = 100) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))
