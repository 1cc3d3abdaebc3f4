"""Administration: for now, how search scores a query and what it could not answer."""

from __future__ import annotations

from flask import Blueprint, request

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import render_page
from proxiservices.domain.roles import ADMINISTER
from proxiservices.domain.search import FIELD_WEIGHTS, analyse
from proxiservices.services.search import (
    AGGREGATE_MINIMUM,
    UNANSWERED_DAYS,
    search_index,
    search_needs,
    unanswered_summary,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/recherche")
@permission_required(ADMINISTER)
def search_debug():
    query = " ".join(request.args.get("q", "")[:200].split())
    index = search_index().index
    words = analyse(query, ages=True) if query else []
    return render_page(
        "admin/search_debug.html",
        "admin/_search_debug.html",
        query=query,
        words=[(w, index.candidates(w)) for w in words],
        results=search_needs(query, 20) if query else [],
        field_weights=FIELD_WEIGHTS,
        title=f"Explication de la recherche : {query}" if query else "Explication de la recherche",
    )


@bp.get("/recherches-sans-resultat")
@permission_required(ADMINISTER)
def unanswered():
    return render_page(
        "admin/unanswered.html",
        "admin/_unanswered.html",
        summary=unanswered_summary(),
        minimum=AGGREGATE_MINIMUM,
        days=UNANSWERED_DAYS,
        title="Recherches sans résultat",
    )
