"""The legal accessibility statement ("déclaration d'accessibilité", RGAA model), public and
linked from every footer. The contact is the operator's: a setting, shown as "à renseigner"
until it is set, like the personal data page."""

from __future__ import annotations

from flask import Blueprint, current_app

from proxiservices.blueprints.common import commune_from_request, render_page
from proxiservices.domain import accessibility

bp = Blueprint("accessibility", __name__)


@bp.get("/accessibilite")
def statement():
    config = current_app.config
    return render_page(
        "accessibility/statement.html",
        "accessibility/_statement.html",
        facts=accessibility,
        operator=str(config.get("DATA_CONTROLLER") or "").strip(),
        contact=str(config.get("ACCESSIBILITY_CONTACT") or "").strip(),
        commune=commune_from_request(),
        title="Déclaration d'accessibilité",
    )
