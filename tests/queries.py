"""Counting the SQL statements a page runs: pages must not grow queries with their rows."""

from __future__ import annotations

from sqlalchemy import event

from proxiservices.extensions import db


def count_queries(app, client, url: str) -> int:
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(url)
        assert response.status_code == 200, response.status_code
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return len(statements)
