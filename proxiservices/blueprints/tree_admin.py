"""Decision tree administration: themes, questions, needs and their vocabulary, with a preview."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("tree_admin", __name__)
