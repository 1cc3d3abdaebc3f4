"""The database is down (stopped, restarting, unreachable, out of connections): every request
gets a clean 503 in French, with Retry-After, instead of a 500 and a stack trace; and the app
needs nobody to restart it when the database comes back.

Recovery: the pool pings a connection before lending it (`pool_pre_ping`), so the connections
that died with the server are replaced on the first request after its return; the failed
request's session is rolled back so the next one starts clean.

Only failures of the database itself become 503: a bad query, a missing table or a constraint
violation stays a programming error (500, logged with its traceback).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy.exc as sa_exc
from flask import Flask, current_app, g, jsonify, request

from proxiservices.extensions import db, login_manager
from proxiservices.request_log import KNOWN_METHODS

log = logging.getLogger(__name__)

TITLE = "Service momentanément indisponible"
MESSAGE = (
    "La base de données de Proxiservices ne répond pas pour le moment. "
    "Réessayez dans quelques instants."
)
# A form sent during the outage may or may not have been saved (the commit itself may fail).
WRITE_MESSAGE = (
    " Votre dernière action n'a peut-être pas été enregistrée : "
    "vérifiez-la une fois le service revenu avant de la refaire."
)

# PostgreSQL SQLSTATE classes of an unavailable server: connection exception (08),
# insufficient resources (53: too many connections, disk full, out of memory),
# operator intervention except a cancelled query (57P: shutting down, starting up),
# system error (58). Class 57014 (statement timeout) stays a 500: a slow query is a bug.
UNAVAILABLE_SQLSTATES = ("08", "53", "57P", "58")
# SQLite primary result codes of a database that cannot be used right now (file missing or
# unreadable, locked by another writer, disk full); SQLITE_ERROR ("no such table",
# syntax errors) is not among them.
UNAVAILABLE_SQLITE = (
    "SQLITE_CANTOPEN",
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_IOERR",
    "SQLITE_FULL",
)


def database_unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached or used, as opposed to a fault
    of the query or the data."""
    if isinstance(error, sa_exc.TimeoutError):
        return True  # no connection free in the pool in time: the server is saturated
    if not isinstance(error, sa_exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, sa_exc.InterfaceError):
        return True
    if not isinstance(error, sa_exc.OperationalError):
        return False
    original = error.orig
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate:
        return str(sqlstate).startswith(UNAVAILABLE_SQLSTATES)
    sqlite_name = getattr(original, "sqlite_errorname", None)
    if sqlite_name is not None:
        return str(sqlite_name).startswith(UNAVAILABLE_SQLITE)
    # An operational error with no server code: the driver lost, or never got, its
    # connection (refused, closed unexpectedly, timed out).
    return True


def engine_options(config: dict[str, Any]) -> dict[str, Any]:
    """SQLALCHEMY_ENGINE_OPTIONS with a ping before each checkout and, on PostgreSQL,
    a bounded connection wait; options already given by the configuration win."""
    options = dict(config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("pool_pre_ping", True)
    # Error messages and tracebacks must not carry the bound values: they are residents'
    # names, e-mails and tokens, and they would end up in the logs.
    options.setdefault("hide_parameters", True)
    uri = str(config.get("SQLALCHEMY_DATABASE_URI", ""))
    timeout = int(config.get("DATABASE_CONNECT_TIMEOUT") or 0)
    if uri.startswith("postgresql") and timeout > 0 and "connect_timeout=" not in uri:
        connect_args = dict(options.get("connect_args") or {})
        connect_args.setdefault("connect_timeout", timeout)
        options["connect_args"] = connect_args
    return options


def discard_session() -> None:
    """Give the failed transaction back: the next request must not inherit it. When the
    connection is gone the rollback cannot reach the server: the connection is thrown away
    (never returned to the pool) instead."""
    try:
        db.session.rollback()
    except Exception:
        with contextlib.suppress(Exception):
            db.session.invalidate()
    with contextlib.suppress(Exception):
        db.session.remove()


def release_session(_error: BaseException | None = None) -> None:
    """App-context teardown, run just before Flask-SQLAlchemy's own: closing the session
    rolls back its transaction, which fails if the database died after the page was
    computed; that must not turn the finished page into a crash."""
    try:
        db.session.remove()
    except Exception as failure:
        if not database_unavailable(failure):
            raise
        log.warning("Database lost before the session was closed; connection discarded")
        discard_session()


def unavailable_response(error: BaseException):
    """The 503 itself: JSON for the API, a fragment for htmx, a page otherwise; rendering it
    touches no table (the visitor is shown as not logged in: loading the account would need
    the database)."""
    from proxiservices.blueprints.common import render_page

    discard_session()
    # Flask-Login reads g._login_user before calling the user loader: an anonymous visitor
    # here keeps the base template's menu from querying the account.
    g._login_user = login_manager.anonymous_user()
    message = MESSAGE if request.method in ("GET", "HEAD") else MESSAGE + WRITE_MESSAGE
    if request.path.startswith("/api/"):
        response = jsonify(error=message)
    else:
        response = render_page("error.html", "_error.html", title=TITLE, message=message)
    retry_after = int(current_app.config.get("DATABASE_RETRY_AFTER") or 30)
    return response, 503, {"Retry-After": str(retry_after), "Cache-Control": "no-store"}


def render_error_page(render: Callable[[], Any]) -> Any:
    """Draw another error page (404, 400...) even with the database away: if loading the
    signed-in account for the menu fails for that reason, draw it for an anonymous visitor."""
    try:
        return render()
    except Exception as failure:
        if not database_unavailable(failure):
            raise
        discard_session()
        g._login_user = login_manager.anonymous_user()
        return render()


def configure_engine(app: Flask) -> None:
    """Before `db.init_app`, which builds the engine from these options."""
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)


def install_outage_handling(app: Flask) -> None:
    """After `db.init_app`: the 503 for database failures, and a session teardown that runs
    before Flask-SQLAlchemy's (teardowns run in reverse order of registration)."""

    def database_error(error: Exception):
        if not database_unavailable(error):
            raise error  # a real fault: Flask's 500 handling, with its traceback in the log
        cause = type(getattr(error, "orig", None) or error)
        log.warning(
            "Database unavailable: %s %s answered 503 (%s.%s)",
            request.method if request.method in KNOWN_METHODS else "OTHER",
            request.url_rule.rule if request.url_rule else None,  # paths may carry tokens
            cause.__module__,
            cause.__qualname__,
        )
        return unavailable_response(error)

    app.teardown_appcontext(release_session)
    app.register_error_handler(sa_exc.DBAPIError, database_error)
    app.register_error_handler(sa_exc.TimeoutError, database_error)
