"""The site card and the hours status line, written in Python rather than as Jinja macros.

A result page shows five cards on average (its sites and help desks). As a macro, a card
cost about 44 µs (Jinja's call machinery, an attribute lookup through the environment for
every field, a nested macro for the status line): 15 % of a result page's CPU. Built here,
with the site's kept parts (web.card_part: contact list, weekly table) and the templates'
own helpers, it writes the same HTML, byte for byte, for about a quarter of that.

Both are template globals: `{{ site_card(sa, commune) }}`, `{{ hours_status(status, site) }}`.
Their text (French, accessible markup) stays what the macros said; change it here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from markupsafe import Markup, escape

from proxiservices.domain.hours import HoursStatus
from proxiservices.web import de, fr_datetime, km

CLOSING_TIME = "EEEE 'à' H'h'mm"  # "ferme lundi à 12h"


def hours_status(status: HoursStatus, site: Any = None) -> Markup:
    """Open now, closes at, next opening, closure or unknown hours: one paragraph."""
    if not status.known:
        note = site.hours_note if site else None
        text = "Horaires non renseignés" + (f" – {escape(note)}" if note else "")
        line = f'<p class="status status-unknown">{text}</p>'
    elif not status.valid:
        line = '<p class="status status-unknown">Horaires à vérifier</p>'
    elif status.closed_for:
        message = status.closed_for.message
        line = '<p class="status status-closed">Fermeture exceptionnelle'
        line += f" : {escape(message)}.\n" if message else ".\n"
        if status.next_opening:
            line += f"Réouverture {escape(fr_datetime(status.next_opening))}."
        line += "</p>"
    elif status.open_now:
        line = '<p class="status status-open">Ouvert maintenant'
        if status.closes_at:
            line += f", ferme {escape(fr_datetime(status.closes_at, CLOSING_TIME))}"
        line += "</p>"
    elif status.next_opening:
        line = (
            '<p class="status status-closed">Fermé – ouvre '
            f"{escape(fr_datetime(status.next_opening))}</p>"
        )
    else:
        line = '<p class="status status-closed">Fermé – pas d\'ouverture prévue</p>'
    return Markup(f"    {line}\n")


def make_site_card(app: Flask) -> Callable[..., Markup]:
    """The `site_card` global of `app`: its templates' url_for and card parts."""
    env = app.jinja_env
    url_for = env.globals["url_for"]
    card_part = env.globals["card_part"]

    def site_card(sa, commune=None, show_competence: bool = True) -> Markup:
        """One site of an answer (services.orientation.SiteAnswer) for the resident of
        `commune` (None: no commune chosen)."""
        site = sa.site
        ident = escape(site.id)
        href = url_for("directory.site", slug=site.slug, commune=commune.insee if commune else None)
        name = site.name
        html = [
            f'  <article class="site-card" aria-labelledby="site-{ident}">\n'
            f'    <h3 id="site-{ident}"><a href="{escape(href)}">{escape(name)}</a></h3>\n'
        ]
        body_name = site.body.name
        if body_name != name:
            html.append(f'<p class="body-name">{escape(body_name)}</p>')
        distance = sa.distance_km
        if commune and site.commune_insee == commune.insee:
            html.append(f'<p class="distance">Sur la commune {escape(de(commune.name))}</p>\n')
        elif distance is not None:
            where = f" {escape(de(commune.name))}" if commune else ""
            html.append(
                f'<p class="distance">À {escape(km(distance, sa.distance_approx))}{where}</p>'
            )
        if show_competence and not sa.competence_verified and distance is not None:
            html.append('<p class="warning-inline">Compétence non vérifiée pour cette commune</p>')
        html.append(f"    {hours_status(sa.status, site)}\n")
        html.append(f"    {card_part('site_contact', site)}\n")
        if sa.banners:
            closures = env.get_template("orientation/_closures.html")
            html.append(closures.render(banners=sa.banners, past=None))
        if sa.week:
            html.append(card_part("site_week", site, sa.week))
        html.append("  </article>\n")
        return Markup("".join(html))

    return site_card
