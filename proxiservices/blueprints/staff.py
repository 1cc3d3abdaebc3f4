"""Pages for logged-in staff only: the partners' "who's who"."""

from __future__ import annotations

from flask import Blueprint, make_response, request

from proxiservices.blueprints.access import permission_required
from proxiservices.blueprints.common import render_page
from proxiservices.domain.roles import STAFF_DIRECTORY
from proxiservices.services.staff import list_partner_directory

bp = Blueprint("staff", __name__)


@bp.get("/partenaires")
@permission_required(STAFF_DIRECTORY)
def directory():
    kind = request.args.get("type", "").strip()[:40] or None
    partners = list_partner_directory(kind)
    response = make_response(
        render_page(
            "staff/partners.html",
            "staff/_partners.html",
            directory=partners,
            kind=kind,
            title="Qui fait quoi – contacts des partenaires",
        )
    )
    # Direct lines are for staff: no shared cache may keep them.
    response.headers["Cache-Control"] = "private, no-store"
    return response
