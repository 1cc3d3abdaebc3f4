"""The map of help places, with a distance-ordered list that works without tiles."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, session

from proxiservices.blueprints.common import (
    commune_from_request,
    parse_at,
    render_page,
    url_with_commune,
)
from proxiservices.extensions import htmx
from proxiservices.services import map as service
from proxiservices.services.communes import search_communes

bp = Blueprint("map", __name__)


def _swapping(target: str) -> bool:
    """An htmx request that replaces only `target` (a history restore wants the whole page)."""
    return bool(htmx) and htmx.target == target and not htmx.history_restore_request


@bp.get("/carte")
def page():
    asked = "commune" in request.args or "q" in request.args  # `q`: choosing another commune
    if not asked and session.get("commune"):
        return redirect(url_with_commune(session["commune"]))
    commune = None if "q" in request.args else commune_from_request()
    if commune is None:
        return _choose_commune(request.args.get("q", "")[:100])
    at = parse_at(request.args.get("at"))
    try:
        view = service.get_map(commune, at, request.args.getlist("kind"))
    except service.UnknownKind as error:
        abort(400, str(error))
    config = current_app.config
    context = dict(
        view=view,
        commune=commune,
        at_param=request.args.get("at", "")[:40],
        tile_url=config["TILE_URL"],
        tile_attribution=config["TILE_ATTRIBUTION"],
        tile_attribution_url=config["TILE_ATTRIBUTION_URL"],
        title=f"Carte des lieux d'accueil – {commune.name}",
    )
    if _swapping("map-results"):
        return render_template("map/_results.html", **context)
    return render_page("map/page.html", "map/_map.html", **context)


def _choose_commune(query: str):
    """No commune yet: the map asks for it, and its answers lead back to the map."""
    context = dict(
        query=query,
        results=search_communes(query, limit=15) if query.strip() else [],
        commune=None,
        title="Carte des lieux d'accueil",
    )
    if _swapping("map-communes"):
        return render_template("map/_communes.html", **context)
    return render_page("map/choose.html", "map/_choose.html", **context)
