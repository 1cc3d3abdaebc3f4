"""Proxiservices: orientation of residents for town-hall reception desks."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask

from proxiservices import config as settings
from proxiservices.extensions import (
    SessionInterface,
    babel,
    csrf,
    db,
    htmx,
    login_manager,
    mail,
    migrate,
)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    # Every template kept once loaded (about 150): Jinja's default LRU of 400 moves a name
    # to the front of a list on every include and import, 10 µs each, six per result page.
    app.jinja_options = {**app.jinja_options, "cache_size": -1}
    from proxiservices.web import TemplateEnvironment

    app.jinja_environment = TemplateEnvironment  # before anything builds app.jinja_env
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(settings.load(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    app.json.ensure_ascii = False  # French labels stay readable in the JSON API

    from proxiservices.security import install_security

    install_security(app)  # refuses a production start without SECRET_KEY; headers; ProxyFix

    from proxiservices.request_log import install_request_log

    install_request_log(app)  # one JSON line per request on stderr, nothing personal

    from proxiservices import models  # noqa: F401  (register the tables)
    from proxiservices.outage import configure_engine, install_outage_handling

    configure_engine(app)  # pool_pre_ping: the pool survives a database restart
    db.init_app(app)
    install_outage_handling(app)  # after db.init_app: 503 while the database is down
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "..", "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    babel.init_app(app)
    mail.init_app(app)
    login_manager.init_app(app)
    app.session_interface = SessionInterface()  # signed cookie, serializer built once

    from proxiservices.blueprints import register_blueprints
    from proxiservices.cli import register_cli
    from proxiservices.health import install_healthz
    from proxiservices.limits import install_rate_limits
    from proxiservices.services.outbox import install_after_response_delivery
    from proxiservices.web import register_web

    register_web(app)
    register_blueprints(app)
    install_rate_limits(app)  # wraps the views of login, password reset, request submission
    register_cli(app)
    install_healthz(app)
    install_after_response_delivery(app)
    return app
