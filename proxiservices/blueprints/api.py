"""JSON API v1: the stable contract of ../shared/DESIGN.md (fields added, never renamed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, jsonify, request

from proxiservices.blueprints.common import orientation_limits, parse_at
from proxiservices.blueprints.dashboard import record_api_view
from proxiservices.domain import closures as closure_rules
from proxiservices.domain import hours
from proxiservices.domain.hours import PARIS
from proxiservices.extensions import csrf
from proxiservices.models import Body, Need
from proxiservices.services.communes import search_communes
from proxiservices.services.needs import get_need
from proxiservices.services.orientation import OrientationError, SiteAnswer, orient
from proxiservices.services.search import need_theme_title, search_needs

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _limit() -> int:
    raw = request.args.get("limit", "10").strip()
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 50:
        abort(400, "Paramètre « limit » invalide : un nombre entier de 1 à 50 est attendu.")
    return int(raw)


def need_json(need: Need) -> dict[str, Any]:
    return {
        "slug": need.slug,
        "title": need.title,
        "theme": need_theme_title(need),
        "body_kind": need.body_kind_code,
        "documents": list(need.documents),
        "online_url": need.online_url,
        "online_label": need.online_label,
        "help_kinds": list(need.help_kinds),
        "request_possible": need.request_possible,
        "summary": need.summary,
        "source_url": need.source_url,
        # Since the catalogue: "curated" or "catalogue" (service-public.fr fiche), its
        # online services, the further body kinds it names, and its own "où s'adresser".
        "origin": need.origin,
        "online_services": list(need.online_services or []),
        "other_body_kinds": list(need.other_kinds or []),
        "where": (need.where_text or "").splitlines(),
    }


def site_json(answer: SiteAnswer) -> dict[str, Any]:
    site = answer.site
    status = answer.status
    address = (
        ", ".join(
            part
            for part in (site.address, f"{site.postcode or ''} {site.commune.name}".strip())
            if part
        )
        if site.address
        else None
    )
    return {
        "body": site.body.name,
        "body_slug": site.body.slug,
        "body_kind": site.body.kind_code,
        "name": site.name,
        "slug": site.slug,
        "address": address,
        "commune": site.commune.name,
        "phone": site.phone,
        "email": site.email,
        "url": site.url,
        "distance_km": answer.distance_km,
        "distance_approx": answer.distance_approx,
        "competence_verified": answer.competence_verified,
        "opening_hours": site.opening_hours,
        "hours_valid": status.valid if status.known else None,
        "open_now": status.open_now,
        "next_opening": _iso(status.next_opening),
        "closes_at": _iso(status.closes_at),
        # Every coming closure; since issue 5 also its kind (closed | hours | message), the
        # replacing hours, whether it is announced (banner: 15 days before) and in words.
        "closures": [
            {
                "start": c.starts_at.isoformat(),
                "end": c.ends_at.isoformat(),
                "message": c.message,
                "kind": c.kind,
                "kind_label": closure_rules.KIND_LABELS.get(c.kind, c.kind),
                "opening_hours": c.opening_hours if c.kind == "hours" else None,
                "period": closure_rules.period_text(c.starts_at, c.ends_at),
                "announced": any(b.closure is c for b in answer.banners),
            }
            for c in answer.closures
        ],
    }


def body_json(body: Body) -> dict[str, Any]:
    return {"slug": body.slug, "name": body.name, "phone": body.phone, "url": body.website}


@bp.get("/communes")
def communes():
    query = request.args.get("q", "")[:100]
    return jsonify(
        query=query,
        results=[
            {"code": c.insee, "name": c.name, "postcodes": c.postcode_list}
            for c in search_communes(query, limit=_limit())
        ],
    )


@bp.get("/needs")
def needs():
    query = request.args.get("q", "")[:500]
    limit = _limit()
    return jsonify(
        query=query,
        results=[
            {
                "slug": r.slug,
                "title": r.title,
                "theme": r.theme,
                "body_kind": r.body_kind,
                "score": r.score,
                "origin": "catalogue" if r.catalogue else "curated",
            }
            for r in search_needs(query, limit=limit)
        ],
    )


@bp.get("/needs/<slug>")
def need(slug: str):
    found = get_need(slug)
    if found is None:
        abort(404, f"Besoin inconnu : « {slug[:60]} ».")
    return jsonify(need_json(found))


@bp.get("/orientation")
def orientation():
    need_slug = request.args.get("need", "").strip()
    commune = request.args.get("commune", "").strip()
    if not need_slug or not commune:
        abort(400, "Paramètres « need » (besoin) et « commune » (code INSEE) obligatoires.")
    at = parse_at(request.args.get("at"))
    try:
        answer = orient(need_slug, commune, at, **orientation_limits())
    except OrientationError as error:
        abort(404, str(error))
    record_api_view(answer)
    return jsonify(
        need=need_json(answer.need),
        commune={"code": answer.commune.insee, "name": answer.commune.name},
        at=at.isoformat(),
        body_kind=answer.body_kind.code,
        body_kind_label=answer.body_kind.label,
        via_kind=answer.via_kind.code if answer.via_kind else None,
        sites=[site_json(s) for s in answer.sites],
        bodies_without_site=[body_json(b) for b in answer.bodies_without_site],
        permanences=[
            {
                "body": p.permanence.body.name,
                "host_site": p.permanence.host_site.name,
                "schedule": p.permanence.schedule,
                "by_appointment": p.permanence.by_appointment,
                "distance_km": p.distance_km,
                "next": _iso(p.next_start),
                "next_end": _iso(p.next_end),
                "body_slug": p.permanence.body.slug,
                "body_kind": p.permanence.body.kind_code,
                "host_site_slug": p.permanence.host_site.slug,
                "schedule_text": p.schedule_text,
                # False: the stored schedule cannot be read (no "next"), "horaires à vérifier".
                "schedule_valid": hours.validate(p.permanence.schedule) is None,
                "sentence": p.sentence,
            }
            for p in answer.permanences
        ],
        help_desks=[site_json(s) for s in answer.help_desks],
        online_url=answer.need.online_url,
        alerts=[alert_json(s) for s in answer.alerts],
    )


def alert_json(shown) -> dict[str, Any]:
    """A local alert; start and end are Europe/Paris times with their offset."""
    alert = shown.alert
    return {
        "title": alert.title,
        "message": alert.message,
        "category": alert.category,
        "category_label": shown.category_label,
        "severity": alert.severity,
        "severity_label": shown.severity_label,
        "area_code": alert.area_code,
        "area": shown.area_name,
        "body_kind": alert.body_kind_code,
        "start": alert.starts_at.replace(tzinfo=PARIS).isoformat(),
        "end": alert.ends_at.replace(tzinfo=PARIS).isoformat(),
        "current": shown.current,
    }
