"""Row helpers shared by the services: finding a row by an id that came from outside, and
bringing a row in line with its seed values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from proxiservices.domain.ids import is_row_id
from proxiservices.extensions import db

Row = TypeVar("Row")


def get_by_id(model: type[Row], row_id: object) -> Row | None:
    """The row, or None, also for anything that is no row id. For ids read from forms,
    sessions or the command line; ids in URLs are already bounded by `RowIdConverter`."""
    return db.session.get(model, row_id) if is_row_id(row_id) else None


def assign(row: Any, values: Mapping[str, Any]) -> bool:
    """Set the fields that differ; True when something changed."""
    changed = False
    for field, value in values.items():
        if getattr(row, field) != value:
            setattr(row, field, value)
            changed = True
    return changed
