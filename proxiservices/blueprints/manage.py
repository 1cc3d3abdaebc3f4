"""Directory administration: bodies, sites, coverage, hours, closures, permanences, audit."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("manage", __name__)
