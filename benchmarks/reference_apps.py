"""The two reference apps of the load benchmark (benchmarks/load.py), served by gunicorn
exactly as the application is (same gunicorn.conf.py, same workers, same database):

- `hello`: a minimal Flask app answering a fixed text: the floor of Flask + gunicorn;
- `one_query`: a minimal Flask app that reads one commune by its code (one indexed query on
  the 34,969-row commune table, through the same Flask-SQLAlchemy stack as the application)
  and renders one Jinja template: what a page costs before any application logic.

Both register the application's Flask-SQLAlchemy object because gunicorn.conf.py's
post_fork hook disposes of its engine in every worker; `hello` never queries.
Database: DATABASE_URL, as for the application.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from flask import Flask, abort, render_template

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxiservices.extensions import db
from proxiservices.models import Commune


def _app(name: str) -> Flask:
    app = Flask(name, template_folder=str(Path(__file__).resolve().parent / "templates"))
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    db.init_app(app)
    return app


hello = _app("hello")


@hello.get("/")
def say_hello():
    return "Bonjour"


one_query = _app("one_query")


@one_query.get("/communes/<insee>")
def commune(insee: str):
    found = db.session.get(Commune, insee)
    if found is None:
        abort(404)
    return render_template("reference_commune.html", commune=found)
