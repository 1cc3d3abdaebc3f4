"""Gunicorn settings for Proxiservices: `gunicorn -c gunicorn.conf.py wsgi:app`.

Every value can be changed from the environment (names below), so the same file serves
every installation; a command-line option (`--workers 4`) still wins over this file.

| variable                          | setting            | default                        |
|-----------------------------------|--------------------|--------------------------------|
| PROXISERVICES_BIND                | bind               | 127.0.0.1:8000 (behind nginx)  |
| PROXISERVICES_WORKERS             | workers            | cores + 1, at most 8           |
| PROXISERVICES_TIMEOUT             | timeout (s)        | 30                             |
| PROXISERVICES_GRACEFUL_TIMEOUT    | graceful_timeout   | 30                             |
| PROXISERVICES_LOG_LEVEL           | loglevel           | info                           |

Choices:
- sync workers (the default class): nginx buffers slow clients, and a request is CPU and
  database work of a few milliseconds; one request per worker also means one database
  connection per worker.
- one worker per core, plus one to use a core while another worker waits on the database
  (gunicorn's "2 x cores + 1" assumes workers that wait on their clients, which nginx's
  buffering spares them): a result page is CPU work in memory (no query once the directory
  snapshot is warm), and each extra worker on a core only adds process switches and its own
  copy of the pages it touches (~120 MB of directory at national scale). Measured on one
  reserved core (benchmarks/load.py, alternated runs): 2 workers against 3, CPU per result
  page -10 %, pages per second +16 %, p99 at 10 clients -18 %; the one-query reference
  unchanged. A deployment where requests wait longer (a remote database, a slow mail
  server: sends happen after the response, in the worker) can raise PROXISERVICES_WORKERS.
- the worker count is capped at 8 so that a big machine does not open more PostgreSQL
  connections than the server allows (each worker keeps its own pool).
- X-Forwarded-* are read by the application only (ProxyFix, PROXISERVICES_PROXY_COUNT):
  gunicorn trusts no forwarding header from anyone, so the two can never disagree about
  which proxy to believe (gunicorn's default would trust X-Forwarded-Proto from 127.0.0.1
  even with PROXISERVICES_PROXY_COUNT=0).
- no access log: the application writes its own, one JSON line per request without the
  path, query string or client address (proxiservices/request_log.py). Gunicorn's error
  log (start, stop, worker crashes) goes to stderr, with the client address and request line
  of malformed requests removed (see _Redact).
- preload_app: the application is built once in the master before forking. A bad setting
  (no SECRET_KEY in production) stops gunicorn at once with one clear error instead of every
  worker failing in turn; the workers share the loaded code and data read-only (less memory)
  and start faster. The price: `kill -HUP` restarts workers without reloading the code, so
  after an upgrade restart the service. post_fork drops any database connection inherited
  from the master, so no two processes ever share one; when_ready builds the search index,
  the directory snapshot (services/directory_memory.py: warm) and the compiled templates
  once, then freezes the loaded objects (gc.freeze) so that workers share their memory for
  good and stop quickly. A directory edit later makes each worker build its own new snapshot.
- no control socket (gunicorn >= 25 opens one in $HOME by default): nothing to manage at
  run time that systemd and signals do not already cover.
"""

from __future__ import annotations

import gc
import logging
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise SystemExit(f"{name} doit être un entier / must be an integer: {value!r}") from None
    if number < 0:
        raise SystemExit(f"{name} doit être positif / must not be negative: {value!r}")
    return number


def _cores() -> int:
    """Cores this process may use (a container's CPU set), not the whole machine's."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


MAX_WORKERS = 8

bind = [os.environ.get("PROXISERVICES_BIND", "127.0.0.1:8000")]
workers = _int("PROXISERVICES_WORKERS", min(_cores() + 1, MAX_WORKERS)) or 1
worker_class = "sync"
timeout = _int("PROXISERVICES_TIMEOUT", 30)
graceful_timeout = _int("PROXISERVICES_GRACEFUL_TIMEOUT", 30)

# Forwarding headers: the application's ProxyFix is the only reader (see above).
forwarded_allow_ips = ""
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""

accesslog = None
errorlog = "-"
loglevel = os.environ.get("PROXISERVICES_LOG_LEVEL", "info")

preload_app = True
control_socket_disable = True
proc_name = "proxiservices"


# Start of a gunicorn error-log message -> what is kept of it.
_REDACTED = {
    "Invalid request from ip=": "Invalid request (client address and details removed)",
    "Error handling request": "Error handling request (request line removed)",
}


class _Redact(logging.Filter):
    """Gunicorn's error log names the client address and the raw request line (with its
    query string) for malformed or failing requests; keep the event, drop the details."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        for start, replacement in _REDACTED.items():
            if message.startswith(start):
                record.msg, record.args = replacement, ()
        return True


def on_starting(server) -> None:
    logging.getLogger("gunicorn.error").addFilter(_Redact())


def when_ready(server) -> None:
    """Built once here, before forking, the search index, the directory snapshot (with
    today's weekly hours of its sites) and the compiled templates are in every worker from
    the start: seconds of work at national scale that each worker's first searches and
    answers paid otherwise. Then the preloaded app lives as long as the processes: move it
    out of the garbage collector's reach. Workers then neither copy its memory pages when the
    collector runs nor walk it when they exit (a stop took seconds per process without
    this)."""
    from proxiservices.services import directory_memory
    from proxiservices.services.search import warm_search_index

    _warm(server, "Search index", warm_search_index)
    _warm(server, "Directory snapshot", directory_memory.warm)
    _warm(server, "Templates", _compile_templates)
    _warm(server, "Site cards", _warm_card_parts)
    gc.freeze()


def _compile_templates() -> None:
    """Jinja compiles a template on its first use: 0.2 s of a worker's first result page
    (five templates), 0.75 s for all 150, paid by every worker without this."""
    from flask import current_app

    env = current_app.jinja_env
    for name in env.list_templates():
        env.get_template(name)


def _warm_card_parts() -> None:
    from proxiservices.web import warm_card_parts

    warm_card_parts()


def _warm(server, what: str, build) -> None:
    """Run `build` in the master. A database not reachable yet only leaves the workers to
    build it themselves; the master keeps no connection either way."""
    from proxiservices.extensions import db

    app = server.app.wsgi()
    try:
        with app.app_context():
            try:
                build()
            finally:
                db.session.remove()
                db.engine.dispose()
    except Exception:
        server.log.warning("%s not built at start; workers will build it", what)


def post_fork(server, worker) -> None:
    """A connection opened in the master while loading the app must not be shared."""
    from proxiservices.extensions import db

    app = server.app.wsgi()  # the Flask app preloaded in the master
    with app.app_context():
        db.engine.dispose(close=False)
