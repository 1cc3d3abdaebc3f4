"""The map of help places, with a distance-ordered list that works without tiles."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("map", __name__)
