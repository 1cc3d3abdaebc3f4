"""Local information: alerts per commune, ateliers, and their Atom and iCalendar feeds."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("local_info", __name__)
