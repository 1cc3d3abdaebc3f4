"""Helpers shared by the page blueprints."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from flask import abort, current_app, render_template, request, session

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import htmx
from proxiservices.models import Commune
from proxiservices.services.communes import get_commune


def render_page(page: str, fragment: str, **context: Any) -> str:
    """Same URL, two renderings: the fragment for htmx swaps, the full page otherwise."""
    # A history restore (back button with an empty cache) must get the whole page.
    if htmx and not htmx.boosted and not htmx.history_restore_request:
        return render_template(fragment, **context)
    return render_template(page, **context)


def form_error(html: str) -> tuple[str, int, dict[str, str]]:
    """A form sent back with its errors: 422, and htmx keeps the address bar as it is."""
    return html, 422, {"HX-Push-Url": "false"}


def now() -> datetime:
    return datetime.now(PARIS)


def commune_from_request(required: bool = False) -> Commune | None:
    """The resident's commune: from `commune=` in the URL (then remembered for the visit),
    else the one remembered. An unknown code is a 404 with a French message."""
    code = request.args.get("commune", "").strip()
    if code:
        commune = get_commune(code)
        if commune is None:
            abort(404, f"Commune inconnue : « {code[:20]} ». Choisissez la commune dans la liste.")
        session["commune"] = commune.insee
        return commune
    remembered = session.get("commune")
    commune = get_commune(remembered) if remembered else None
    if commune is None and required:
        abort(400, "Choisissez d'abord la commune de l'usager.")
    return commune


def parse_at(value: str | None) -> datetime:
    """`at=` as ISO 8601; without an offset it is Europe/Paris time. Malformed: 400."""
    if not value:
        return now()
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        abort(
            400,
            "Paramètre « at » invalide : date et heure attendues au format ISO 8601, "
            "par exemple 2026-12-01T09:30 ou 2026-12-01T09:30:00+01:00.",
        )
    if not 2000 <= parsed.year <= 2100:
        abort(400, "Paramètre « at » invalide : l'année doit être comprise entre 2000 et 2100.")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=PARIS)
    return parsed.astimezone(PARIS)


def url_with_commune(code: str) -> str:
    """The current URL with `commune=` added, keeping the other query parameters as they are."""
    args = [(k, v) for k, v in request.args.items(multi=True) if k != "commune"]
    return f"{request.path}?{urlencode([*args, ('commune', code)])}"


def orientation_limits() -> dict[str, int]:
    """How many sites and help desks a result shows (PROXISERVICES_MAX_SITES...)."""
    return {
        "max_sites": int(current_app.config["MAX_SITES"]),
        "max_help_desks": int(current_app.config["MAX_HELP_DESKS"]),
    }
