"""Search, the fast path: a results page, and the suggestions shown as the desk types."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, redirect, render_template, request, session, url_for

from proxiservices.blueprints.common import commune_from_request, render_page
from proxiservices.blueprints.screen import follow_desk
from proxiservices.extensions import htmx
from proxiservices.models import Commune
from proxiservices.services import tree
from proxiservices.services.search import (
    record_unanswered,
    search_needs,
    spelling_suggestions,
)

bp = Blueprint("search", __name__)

MAX_QUERY = 200
PAGE_RESULTS = 20
TYPING_RESULTS = 8
MIN_RECORDED = 3  # characters: "ca" as you type is not a question nobody answered


def _query() -> str:
    return " ".join(request.args.get("q", "")[:MAX_QUERY].split())


def _remember_unanswered(query: str, commune: Commune | None) -> None:
    """Keep the search for administrators and élus (with the resident's commune when one
    is chosen); keystrokes of one search count once."""
    if len(query) < MIN_RECORDED:
        return
    previous = session.get("unanswered")
    kept = record_unanswered(
        query,
        datetime.now(UTC),
        tuple(previous) if isinstance(previous, list) else None,
        commune_insee=commune.insee if commune else None,
    )
    if kept is not None:
        session["unanswered"] = list(kept)


@bp.get("/recherche")
def results():
    query = _query()
    found = search_needs(query, PAGE_RESULTS) if query else []
    commune = commune_from_request()
    close, themes = [], []
    if query and not found:
        _remember_unanswered(query, commune)
        close = spelling_suggestions(query)
        themes = tree.list_themes()
    # The screen shows the needs found, never the words typed (they may name the resident).
    follow_desk("search", commune=commune.insee if commune else None, needs=[r.slug for r in found])
    return render_page(
        "search/results.html",
        "search/_results.html",
        commune=commune,
        query=query,
        results=found,
        close_spellings=close,
        themes=themes,
        title=f"Recherche : {query}" if query else "Recherche",
    )


@bp.get("/recherche/suggestions")
def suggestions():
    """The list under the search box; a browser that opens it directly gets the page."""
    query = _query()
    if not htmx:
        return redirect(
            url_for("search.results", q=query or None, commune=request.args.get("commune") or None)
        )
    found = search_needs(query, TYPING_RESULTS, typing=True) if query else []
    commune = commune_from_request()
    if query and not found:
        _remember_unanswered(query, commune)
    return render_template(
        "search/_suggestions.html",
        commune=commune,
        query=query,
        results=found,
    )
