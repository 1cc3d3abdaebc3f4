"""Bringing a row in line with its seed values: shared by the seed loaders."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def assign(row: Any, values: Mapping[str, Any]) -> bool:
    """Set the fields that differ; True when something changed."""
    changed = False
    for field, value in values.items():
        if getattr(row, field) != value:
            setattr(row, field, value)
            changed = True
    return changed
