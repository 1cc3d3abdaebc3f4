"""Row ids: every primary key is a PostgreSQL `integer`, so an id is 1 to 2**31 - 1."""

from __future__ import annotations

ROW_ID_MAX = 2**31 - 1


def is_row_id(value: object) -> bool:
    """Whether a value may name a row. A larger number names none, and given to PostgreSQL
    it fails the query (a 500) instead of finding nothing: check before asking."""
    return type(value) is int and 1 <= value <= ROW_ID_MAX
