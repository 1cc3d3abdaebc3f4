"""Administration: the hub of the administrators' pages, how search scores a query and what
it could not answer."""

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


# (endpoint, label, what it is for), in the order an administrator's week goes.
SECTIONS = (
    ("manage.index", "Annuaire", "organismes, lieux, horaires, fermetures, permanences"),
    ("local_info.alerts", "Alertes locales", "travaux, coupures, services fermés, par commune"),
    ("local_info.ateliers", "Ateliers", "ateliers collectifs des lieux d'aide numérique"),
    ("tree_admin.overview", "Arbre d'orientation", "thèmes, questions, besoins, vocabulaire"),
    ("upkeep.freshness", "Fraîcheur de l'annuaire", "lieux à revérifier, liens morts"),
    ("upkeep.reports", "Signalements", "erreurs signalées depuis les pages des lieux"),
    ("manage.history", "Historique", "toutes les modifications récentes"),
    ("open_data.index", "Lieux de médiation numérique", "import et export CSV, export des données"),
    ("admin.unanswered", "Recherches sans résultat", "pour enrichir le vocabulaire"),
    ("admin.search_debug", "Explication de la recherche", "comment une phrase est comprise"),
    (
        "privacy.lookup",
        "Données personnelles d'un usager",
        "droit d'accès (export) et droit à l'effacement",
    ),
)


@bp.get("")
@permission_required(ADMINISTER)
def index():
    return render_page(
        "admin/index.html", "admin/_index.html", sections=SECTIONS, title="Administration"
    )


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
