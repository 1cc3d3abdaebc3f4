"""Freshness loop: error reports from the field, stale sites and dead links."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("upkeep", __name__)
