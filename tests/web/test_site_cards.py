"""site_cards: the site card and the hours status line written in Python (they were Jinja
macros; on 24 November the Python output was compared byte for byte with the macros' on
9,170 cards of the national load base, every branch included)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from types import SimpleNamespace as NS

from proxiservices.domain.hours import ClosedPeriod, HoursStatus
from proxiservices.services.orientation import Banner, orient
from proxiservices.site_cards import hours_status

AT = datetime.fromisoformat("2026-11-24T10:00:00+01:00")


def _status(**fields) -> HoursStatus:
    values = dict(
        known=True, valid=True, open_now=False, closes_at=None, next_opening=None, closed_for=None
    )
    return HoursStatus(**{**values, **fields})


def test_hours_status_says_each_case_in_one_paragraph():
    note = NS(hours_note="Sur rendez-vous <le matin>")
    assert hours_status(_status(known=False), note) == (
        '    <p class="status status-unknown">Horaires non renseignés'
        " – Sur rendez-vous &lt;le matin&gt;</p>\n"
    )
    assert hours_status(_status(known=False)) == (
        '    <p class="status status-unknown">Horaires non renseignés</p>\n'
    )
    assert hours_status(_status(valid=False)) == (
        '    <p class="status status-unknown">Horaires à vérifier</p>\n'
    )
    closure = ClosedPeriod(datetime(2026, 11, 30), datetime(2026, 12, 1), "Inventaire & <ménage>")
    reopening = datetime(2026, 12, 1, 8, 30)
    assert hours_status(_status(closed_for=closure, next_opening=reopening)) == (
        '    <p class="status status-closed">Fermeture exceptionnelle : Inventaire &amp; '
        "&lt;ménage&gt;.\nRéouverture mardi 1 décembre à 8h30.</p>\n"
    )
    assert hours_status(_status(closed_for=dataclasses.replace(closure, message=""))) == (
        '    <p class="status status-closed">Fermeture exceptionnelle.\n</p>\n'
    )
    closing = datetime.fromisoformat("2026-11-24T12:00:00+01:00")
    assert hours_status(_status(open_now=True, closes_at=closing)) == (
        '    <p class="status status-open">Ouvert maintenant, ferme mardi à 12h</p>\n'
    )
    assert hours_status(_status(open_now=True)) == (
        '    <p class="status status-open">Ouvert maintenant</p>\n'
    )
    assert hours_status(_status(next_opening=reopening)) == (
        '    <p class="status status-closed">Fermé – ouvre mardi 1 décembre à 8h30</p>\n'
    )
    assert hours_status(_status()) == (
        '    <p class="status status-closed">Fermé – pas d\'ouverture prévue</p>\n'
    )


def _card(app, sa, commune, **options) -> str:
    return str(app.jinja_env.globals["site_card"](sa, commune, **options))


def test_site_card_of_an_answer(seeded_app):
    with seeded_app.test_request_context("/orientation"):
        answer = orient("aide-logement", "88078", AT)
        sa = answer.sites[0]
        site = sa.site
        card = _card(seeded_app, sa, answer.commune)
        assert card.startswith(
            f'  <article class="site-card" aria-labelledby="site-{site.id}">\n'
            f'    <h3 id="site-{site.id}"><a href="/lieux/{site.slug}?commune=88078">'
        )
        assert card.endswith("  </article>\n")
        assert str(hours_status(sa.status, site)) in card
        contact = seeded_app.jinja_env.globals["card_part"]("site_contact", site)
        assert f"    {contact}\n" in card
        if sa.week:
            assert "Horaires de la semaine" in card
        # Without a commune: no commune in the link, no "de <commune>" after the distance.
        far = dataclasses.replace(sa, distance_km=12.34, distance_approx=True)
        alone = _card(seeded_app, far, None)
        assert f'<a href="/lieux/{site.slug}">' in alone
        assert '<p class="distance">À environ 12,3 km</p>' in alone
        # The competence warning: only for an unverified site at a known distance, and
        # never on a help desk card.
        unverified = dataclasses.replace(far, competence_verified=False)
        warning = "Compétence non vérifiée pour cette commune"
        assert warning in _card(seeded_app, unverified, None)
        assert warning not in _card(seeded_app, unverified, None, show_competence=False)
        placeless = dataclasses.replace(unverified, distance_km=None)
        assert warning not in _card(seeded_app, placeless, None)
        assert '<p class="distance">' not in _card(seeded_app, placeless, None)


def test_site_card_escapes_what_it_shows_and_includes_banners(seeded_app):
    commune = NS(insee="88003", name="L'Épine <test>")
    site = NS(
        id=7,
        slug="caf-x",
        name='CAF <b>"X"</b>',
        body=NS(name="Caisse & Co", phone=None),
        commune_insee="88003",
        commune=commune,
        address="1 rue <A>",
        postcode="88000",
        phone=None,
        email=None,
        public_url=None,
        hours_note=None,
    )
    closure = NS(message="Travaux <urgents>")
    sa = NS(
        site=site,
        distance_km=0.4,
        distance_approx=False,
        competence_verified=True,
        status=_status(open_now=True),
        banners=[Banner(closure, "Fermeture exceptionnelle", "du 1er au 3 décembre", None)],
        week=None,
    )
    with seeded_app.test_request_context("/orientation"):
        card = _card(seeded_app, sa, commune)
    name = "CAF &lt;b&gt;&#34;X&#34;&lt;/b&gt;"
    assert f'<a href="/lieux/caf-x?commune=88003">{name}</a></h3>' in card
    assert '<p class="body-name">Caisse &amp; Co</p>' in card
    assert '<p class="distance">Sur la commune de L&#39;Épine &lt;test&gt;</p>' in card
    assert "1 rue &lt;A&gt;" in card
    assert 'class="warning closure-banner"' in card
    assert "Travaux &lt;urgents&gt;" in card
    assert "<b>" not in card
