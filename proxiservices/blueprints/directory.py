"""Directory pages: a body, a site, the sites serving a commune."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, request

from proxiservices.blueprints.common import commune_from_request, parse_at, render_page
from proxiservices.domain import hours
from proxiservices.services import directory
from proxiservices.services.ateliers import list_coming_at_site
from proxiservices.services.catalogue import read_copy
from proxiservices.services.communes import get_commune
from proxiservices.services.orientation import past_closures, permanence_answer, site_answer

bp = Blueprint("directory", __name__)


@bp.get("/organismes/<slug>")
def body(slug: str):
    found = directory.get_body(slug)
    if found is None:
        abort(404, f"Organisme inconnu : « {slug[:60]} ».")
    at = parse_at(request.args.get("at"))  # "now" by default; a date to preview
    return render_page(
        "directory/body.html",
        "directory/_body.html",
        body=found,
        sites=[site_answer(s, at) for s in found.sites],
        permanences=[
            permanence_answer(p, at, count=3)
            for p in directory.list_body_permanences(found, at.date())
        ],
        commune=commune_from_request(),
        title=found.name,
    )


@bp.get("/lieux/<slug>")
def site(slug: str):
    found = directory.get_site(slug)
    if found is None:
        abort(404, f"Lieu d'accueil inconnu : « {slug[:60]} ».")
    at = parse_at(request.args.get("at"))  # "now" by default; a date to preview
    return render_page(
        "directory/site.html",
        "directory/_site.html",
        site=found,
        answer=site_answer(found, at),
        week=hours.weekly_table(found.opening_hours, at.date()),
        coverage=directory.describe_coverage(found),
        permanences=[
            permanence_answer(p, at, count=3)
            for p in directory.list_hosted_permanences(found, at.date())
        ],
        past=past_closures(found, at),
        ateliers=list_coming_at_site(found, at),
        commune=commune_from_request(),
        title=found.name,
    )


@bp.get("/communes/<insee>")
def commune_sites(insee: str):
    found = get_commune(insee)
    if found is None:
        abort(404, f"Commune inconnue : « {insee[:20]} ».")
    return render_page(
        "directory/commune.html",
        "directory/_commune.html",
        place=found,
        groups=directory.list_sites_for_commune(found),
        commune=commune_from_request(),
        title=f"Lieux d'accueil pour {found.name}",
    )


@bp.get("/sources")
def sources():
    return render_page(
        "directory/sources.html",
        "directory/sources.html",
        unverified=directory.list_unverified(),
        catalogue=read_copy(current_app.config["SEED_DIR"]),
        commune=commune_from_request(),
        title="Sources des données",
    )
