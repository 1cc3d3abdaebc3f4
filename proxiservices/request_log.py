"""One JSON line per request on stderr (logger "proxiservices.requests"), with nothing personal.

Paths and query strings carry secrets and residents' data (reset and share tokens, commune,
search text), so a line names the matched route rule (`/mot-de-passe/<token>`), never the
path; never the query string, the form, the client address, the user agent, the user's id or
e-mail. What it says: when (UTC), which route, how it ended, how long it took, how big the
answer was, the role of the signed-in person if the page already loaded it, the worker pid
and a request id, echoed in the `X-Request-ID` response header to match a complaint with
its line. The client address stays in the reverse proxy's own logs, if kept there at all.

PROXISERVICES_REQUEST_LOG: `auto` (default: on, except when TESTING), `true`, `false`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import types
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, request

LOGGER_NAME = "proxiservices.requests"
REQUEST_ID_HEADER = "X-Request-ID"
# A request id from the proxy (nginx's $request_id, a UUID) is kept only if it is hex with
# dashes: anything else (a name, an address, a HAProxy id holding the client IP) is replaced.
SANE_REQUEST_ID = re.compile(r"[0-9A-Fa-f-]{16,64}")
# A made-up method is logged as OTHER, so the line never carries text chosen by the client.
KNOWN_METHODS = frozenset(
    ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
)
TRUE_WORDS = {"1", "true", "yes", "on", "oui"}
FALSE_WORDS = {"0", "false", "no", "off", "non", ""}

log = logging.getLogger(LOGGER_NAME)
_FORMATTER = logging.Formatter("%(message)s")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at emit time (gunicorn workers, test capture)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _configure_logger() -> None:
    """INFO lines, message only, straight to stderr; not propagated, so Flask's own handler
    (on the "proxiservices" logger) does not print them a second time. Idempotent."""
    if not any(isinstance(handler, _StderrHandler) for handler in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_FORMATTER)
        log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def enabled(app: Flask) -> bool:
    value = app.config.get("REQUEST_LOG", "auto")
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    if word == "auto":
        return not app.testing
    raise RuntimeError(
        "PROXISERVICES_REQUEST_LOG doit valoir auto, true ou false / must be auto, true or false."
    )


def request_id_from(header: str | None) -> str:
    """The proxy's id when it looks like one, else a new one (same shape as nginx's)."""
    if header and SANE_REQUEST_ID.fullmatch(header):
        return header
    return os.urandom(16).hex()  # 32 random hex digits, as nginx's $request_id


def utc_timestamp(at: float) -> str:
    """ISO 8601 in UTC with milliseconds: `2026-11-23T09:15:02.123Z`."""
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def loaded_role(user: Any) -> str | None:
    """The signed-in person's role if the page already loaded it: reading it here must not
    cost a query (nor fail while the database is down), so an expired attribute is skipped."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        role = sa.inspect(user).dict.get("role")
    except sa.exc.NoInspectionAvailable:
        return None
    return role if isinstance(role, str) else None


def record(
    *,
    at: float,
    method: str,
    rule: str | None,
    status: int,
    duration_ms: float | None,
    size: int | None,
    role: str | None,
    request_id: str,
) -> dict[str, Any]:
    """The fields of one line, in a fixed order (`at`: a Unix time, the end of the request)."""
    return {
        "time": utc_timestamp(at),
        "request_id": request_id,
        "method": method if method in KNOWN_METHODS else "OTHER",
        "route": rule,
        "status": status,
        "duration_ms": duration_ms,
        "size": size,
        "role": role,
        "pid": os.getpid(),
    }


# One encoder for every line (json.dumps with options builds one per call).
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _emit(line: str) -> None:
    """log.info(line), written straight to stderr while the logger is as _configure_logger
    left it (its one handler and formatter, no filter): the logging module's record, lock
    and formatter were 3 % of a result page's CPU. Any other set-up (a handler, filter or
    formatter added, a level changed) goes through logging as usual."""
    handlers = log.handlers
    if (
        len(handlers) == 1
        and type(handlers[0]) is _StderrHandler
        and handlers[0].formatter is _FORMATTER
        and not handlers[0].filters
        and not log.filters
        and handlers[0].level <= logging.INFO
        and log.isEnabledFor(logging.INFO)
    ):
        try:
            stream = sys.stderr
            stream.write(line + "\n")
            stream.flush()
            return
        except Exception:  # a log line never fails a page
            pass  # logging reports it its own way (Handler.handleError) and goes on
    log.info(line)


def _start() -> None:
    if not enabled(current_app):
        return
    kept = g._get_current_object()  # type: ignore[attr-defined]  (one proxy lookup, not two)
    kept.request_log_started = time.perf_counter()
    kept.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))


def _finish(response: Response) -> Response:
    if not enabled(current_app):
        return response
    kept = g._get_current_object()  # type: ignore[attr-defined]
    asked = request._get_current_object()  # type: ignore[attr-defined]
    # Without _start (a hook placed before it failed, or the setting changed): no duration.
    started = kept.get("request_log_started")
    request_id = kept.get("request_id") or request_id_from(None)
    line = record(
        at=time.time(),
        method=asked.method,
        rule=asked.url_rule.rule if asked.url_rule is not None else None,
        status=response.status_code,
        duration_ms=None if started is None else round((time.perf_counter() - started) * 1000, 1),
        size=response.content_length,
        role=loaded_role(kept.get("_login_user")),
        request_id=request_id,
    )
    _emit(_encode(line))
    response.headers[REQUEST_ID_HEADER] = request_id
    return response


def _log_exception(self: Flask, exc_info) -> None:
    """Flask's own 500 line names the raw path ("Exception on /mot-de-passe/<the token>");
    this one names the route rule and the request id instead, traceback kept."""
    rule = request.url_rule.rule if request.url_rule is not None else None
    self.logger.error(
        "Exception on %s [%s] request_id=%s",
        rule,
        request.method if request.method in KNOWN_METHODS else "OTHER",
        g.get("request_id"),
        exc_info=exc_info,
    )


def install_request_log(app: Flask) -> None:
    """Runs first among before_request hooks (duration counts the others) and last among
    after_request hooks (the status and size are final)."""
    enabled(app)  # a wrong value fails at start-up, not on the first request
    _configure_logger()
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    # after_request hooks run in reverse registration order: the first registered runs last.
    app.after_request_funcs.setdefault(None, []).insert(0, _finish)
    app.log_exception = types.MethodType(_log_exception, app)  # type: ignore[method-assign]
