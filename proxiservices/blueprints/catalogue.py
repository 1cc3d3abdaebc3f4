"""The service-public.fr catalogue by its own theme hierarchy: the second way in, next to
the curated tree, for the rare procedures."""

from __future__ import annotations

from flask import Blueprint, abort, current_app

from proxiservices.blueprints.common import commune_from_request, render_page
from proxiservices.services.catalogue import read_copy, theme_page

bp = Blueprint("catalogue", __name__)


@bp.get("/catalogue")
def index():
    return _page(None)


@bp.get("/catalogue/<code>")
def theme(code: str):
    return _page(code)


def _page(code: str | None):
    page = theme_page(code[:20] if code else None)
    if page is None:
        abort(404, f"Thème du catalogue inconnu : « {code[:40]} ».")
    title = page.theme.title if page.theme else "Toutes les démarches (service-public.fr)"
    return render_page(
        "catalogue/theme.html",
        "catalogue/_theme.html",
        node=page,
        commune=commune_from_request(),
        copy=read_copy(current_app.config["SEED_DIR"]),
        title=title,
    )
