"""`/healthz`: for the load balancer and monitoring, whether this worker can reach the database.

Open to all, no session, no template, nothing recorded; the failure answer says which part
is down and nothing more (no error text, no stack trace).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, current_app, jsonify

from proxiservices.extensions import db
from proxiservices.outage import discard_session, release_session

log = logging.getLogger(__name__)


def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except Exception as error:  # any failure of the database means "not healthy"
        discard_session()  # its rollback may fail too: the connection is gone
        log.warning("Health check: database unreachable (%s)", type(error).__name__)
        response = jsonify(status="error", database="injoignable")
        response.status_code = 503
        # Like the pages' 503 while the database is away (proxiservices/outage.py).
        response.headers["Retry-After"] = str(current_app.config.get("DATABASE_RETRY_AFTER", 30))
    else:
        response = jsonify(status="ok", database="ok")
    finally:
        release_session()  # the database may die between SELECT 1 and here
    response.headers["Cache-Control"] = "no-store"
    return response


def install_healthz(app: Flask) -> None:
    app.add_url_rule("/healthz", endpoint="healthz", view_func=healthz, methods=["GET"])
