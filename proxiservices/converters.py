"""URL converters: `<int:...>` in a route is always a row id, bounded once for all routes."""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

from proxiservices.domain.ids import ROW_ID_MAX


class RowIdConverter(IntegerConverter):
    """ASCII digits from 1 to PostgreSQL's largest integer; anything else matches no route,
    so it is a 404 before any view or query runs (`/demandes/99999999999`, `/demandes/0`)."""

    regex = r"[0-9]+"  # \d would also take "٣", which int() reads as 3

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 1,
        max: int | None = ROW_ID_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def register_converters(app: Flask) -> None:
    """Before the blueprints: a rule takes its converter when it is added."""
    app.url_map.converters["int"] = RowIdConverter
