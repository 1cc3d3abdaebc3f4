"""Open formats: lieux de médiation numérique CSV import and export, seed export."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("open_data", __name__)
