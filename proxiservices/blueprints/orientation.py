"""The walk-in flow: commune, themes, questions, the orientation result and its fiche."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, request, session, url_for
from flask_login import current_user

from proxiservices.blueprints.common import (
    commune_from_request,
    now,
    orientation_limits,
    parse_at,
    render_page,
    url_with_commune,
)
from proxiservices.blueprints.dashboard import record_result_view
from proxiservices.blueprints.screen import follow_desk
from proxiservices.extensions import htmx
from proxiservices.services import alerts, tree
from proxiservices.services.alerts import desk_commune
from proxiservices.services.catalogue import fiche_context
from proxiservices.services.communes import search_communes
from proxiservices.services.needs import get_need
from proxiservices.services.orientation import (
    OrientationAnswer,
    OrientationError,
    coming_days,
    orient,
)

bp = Blueprint("orientation", __name__)


def _with_remembered_commune():
    """Put the remembered commune in the URL so that links, reloads and back land the same."""
    if "commune" not in request.args and session.get("commune"):
        return redirect(url_with_commune(session["commune"]))
    return None


@bp.get("/")
def home():
    commune = commune_from_request()
    desk = desk_commune(current_user) if current_user.is_authenticated else None
    follow_desk("home", commune=commune.insee if commune else None)
    return render_page(
        "orientation/home.html",
        "orientation/_themes.html",
        commune=commune,
        themes=tree.list_themes(),
        home_alerts=alerts.list_for_communes([desk, commune], now()),
        alerts_commune=commune or desk,
        title="Accueil",
    )


@bp.get("/commune")
def choose_commune():
    query = request.args.get("q", "")[:100]
    need = request.args.get("need", "")[:120]
    via = "recherche" if need and request.args.get("via") == "recherche" else None
    results = search_communes(query, limit=15) if query.strip() else []
    context = dict(query=query, need=need, via=via, results=results, title="Commune de l'usager")
    follow_desk("commune", need=need)
    if htmx and htmx.target == "commune-results":
        return render_page(
            "orientation/commune.html", "orientation/_commune_results.html", **context
        )
    return render_page("orientation/commune.html", "orientation/_commune.html", **context)


@bp.get("/themes")
def themes():
    if (response := _with_remembered_commune()) is not None:
        return response
    commune = commune_from_request()
    follow_desk("themes", commune=commune.insee if commune else None)
    return render_page(
        "orientation/themes.html",
        "orientation/_themes.html",
        commune=commune,
        themes=tree.list_themes(),
        title="Thèmes",
    )


@bp.get("/themes/<slug>")
def theme(slug: str):
    if (response := _with_remembered_commune()) is not None:
        return response
    question = tree.get_theme_question(slug)
    if question is None:
        abort(404, f"Thème inconnu : « {slug[:60]} ».")
    return _question_page(question)


@bp.get("/questions/<slug>")
def question(slug: str):
    if (response := _with_remembered_commune()) is not None:
        return response
    found = tree.get_question(slug)
    if found is None:
        abort(404, f"Question inconnue : « {slug[:60]} ».")
    return _question_page(found)


def _question_page(question):
    commune = commune_from_request()
    follow_desk("question", commune=commune.insee if commune else None, question=question.slug)
    return render_page(
        "orientation/question.html",
        "orientation/_question.html",
        commune=commune,
        question=question,
        ancestors=tree.list_ancestors(question),
        title=f"{question.theme.title} – {question.text}",
    )


def _orientation_or_ask_commune() -> tuple[OrientationAnswer | None, Response | None]:
    """The answer for the URL's need and commune, or the redirect that asks for the commune."""
    need_slug = request.args.get("need", "").strip()
    if not need_slug:
        abort(400, "Précisez le besoin de l'usager (paramètre « need »).")
    if "commune" not in request.args:
        if session.get("commune"):
            return None, redirect(url_with_commune(session["commune"]))
        if get_need(need_slug) is None:
            abort(404, f"Besoin inconnu : « {need_slug[:60]} ».")
        return None, redirect(url_for("orientation.choose_commune", need=need_slug))
    # The commune is read once, by orient() (from the directory in memory when warm).
    code = request.args.get("commune", "").strip() or commune_from_request(required=True).insee
    try:
        answer = orient(need_slug, code, parse_at(request.args.get("at")), **orientation_limits())
    except OrientationError as error:
        abort(404, str(error))
    session["commune"] = answer.commune.insee  # remembered for the visit
    return answer, None


@bp.get("/orientation")
def result():
    answer, redirection = _orientation_or_ask_commune()
    if redirection is not None:
        return redirection
    follow_desk("result", need=answer.need.slug, commune=answer.commune.insee)
    return render_page(
        "orientation/result.html",
        "orientation/_result.html",
        answer=answer,
        commune=answer.commune,
        path=tree.find_need_path(answer.need),
        fiche=fiche_context(answer.need, current_app.config["SEED_DIR"]),
        title=f"{answer.need.title} – {answer.commune.name}",
        visit=record_result_view(answer),
    )


@bp.get("/orientation/fiche")
def fiche():
    answer, redirection = _orientation_or_ask_commune()
    if redirection is not None:
        return redirection
    days = {s.site.id: coming_days(s.site, answer.at, 7) for s in answer.sites[:2]}
    return render_page(
        "orientation/fiche.html",
        "orientation/fiche.html",
        answer=answer,
        fiche=fiche_context(answer.need, current_app.config["SEED_DIR"]),
        commune=answer.commune,
        days=days,
        title=f"Fiche – {answer.need.title}",
    )
