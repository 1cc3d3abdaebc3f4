"""The accessibility statement (/accessibilite): the RGAA model's sections with the honest
status, the operator's contact (or a visible "à renseigner"), the Défenseur des droits'
addresses; and every page's footer links it next to the personal data notice."""

from __future__ import annotations

import re

import pytest

from proxiservices import config as settings
from proxiservices.domain import accessibility
from tests.plugins.accounts import logged_in, make_user
from tests.web.html import main_content, normalise, text_of, without_title

URL = "/accessibilite"
DOCELLES = "88135"
HTMX = {"HX-Request": "true", "HX-Target": "main", "HX-Current-URL": "http://localhost/"}


def footer_of(html: str) -> str:
    match = re.search(r"<footer\b.*?</footer>", html, re.S)
    assert match, "no <footer> in page"
    return match.group(0)


def test_statement_has_the_sections_of_the_rgaa_model(client):
    response = client.get(URL)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "<title>Déclaration d'accessibilité – Proxiservices</title>" in html.replace(
        "&#39;", "'"
    )
    text = text_of(main_content(html))
    for heading in (
        "État de conformité",
        "Résultats des tests",
        "Contenus non accessibles",
        "Établissement de cette déclaration",
        "Retour d'information et contact",
        "Voies de recours",
    ):
        assert heading in text, heading
    assert len(re.findall(r"<h1\b", html)) == 1
    # No RGAA audit was made: the status the regulation gives is "non conforme".
    assert "Proxiservices est non conforme avec le référentiel général" in text
    assert "Aucun audit de conformité" in text
    assert "article 47 de la loi n° 2005-102" in text


def test_statement_says_what_the_automatic_audit_covers(client):
    text = text_of(main_content(client.get(URL).get_data(as_text=True)))
    assert f"{len(accessibility.AUDITED_PAGES)} pages et états de pages" in text
    assert f"axe-core {accessibility.AXE_VERSION}" in text
    for page in accessibility.AUDITED_PAGES:
        assert page in text, page
    assert "carte des lieux" in text  # the map tiles are a known limit
    assert "HTML, CSS, JavaScript" in text
    day = accessibility.STATEMENT_DATE
    assert f"Établie le {day.day} " in text and str(day.year) in text


def test_recourse_gives_the_defenseur_des_droits_addresses(client):
    html = client.get(URL).get_data(as_text=True)
    main = main_content(html)
    assert 'href="https://formulaire.defenseurdesdroits.fr/"' in main
    assert 'href="https://www.defenseurdesdroits.fr/saisir/delegues"' in main
    assert "Défenseur des droits<br>Libre réponse 71120<br>75342 Paris CEDEX 07" in main
    assert "ne pas mettre de timbre" in text_of(main)


def test_contact_and_operator_are_to_be_set_until_configured(client, seeded_app, monkeypatch):
    text = text_of(main_content(client.get(URL).get_data(as_text=True)))
    assert (
        "contact à renseigner par l'exploitant (réglage PROXISERVICES_ACCESSIBILITY_CONTACT)"
        in text
    )
    assert "réglage PROXISERVICES_DATA_CONTROLLER" in text

    monkeypatch.setitem(seeded_app.config, "ACCESSIBILITY_CONTACT", "accessibilite@mairie.example")
    monkeypatch.setitem(seeded_app.config, "DATA_CONTROLLER", "Communauté de communes Exemple")
    text = text_of(main_content(client.get(URL).get_data(as_text=True)))
    assert "accessibilite@mairie.example" in text
    assert "Communauté de communes Exemple s'engage" in text
    assert "à renseigner" not in text


def test_contact_is_read_from_the_environment(tmp_path):
    loaded = settings.load(
        str(tmp_path), {"PROXISERVICES_ACCESSIBILITY_CONTACT": "a11y@example.org"}
    )
    assert loaded["ACCESSIBILITY_CONTACT"] == "a11y@example.org"
    assert settings.load(str(tmp_path), {})["ACCESSIBILITY_CONTACT"] == ""


def test_htmx_fragment_is_the_main_content(client):
    full = client.get(URL).get_data(as_text=True)
    fragment = client.get(URL, headers=HTMX)
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "<title>" in body
    assert normalise(without_title(body)) == normalise(main_content(full))


@pytest.fixture(scope="module")
def staff_clients(seeded_app):
    """Accounts with unique addresses: adding them leaves the shared seed data as it is."""
    app = seeded_app
    return {
        "desk": logged_in(app, make_user(app, "receptionist", commune_insee=DOCELLES).email),
        "partner": logged_in(app, make_user(app, "partner", body_slug="caf-vosges").email),
        "elected": logged_in(app, make_user(app, "elected", territory_code="88").email),
        "admin": logged_in(app, make_user(app, "admin").email),
    }


PUBLIC_PAGES = (
    "/",
    "/commune?need=aide-logement",
    f"/themes?commune={DOCELLES}",
    f"/orientation?need=aide-logement&commune={DOCELLES}",
    f"/recherche?q=carte+grise&commune={DOCELLES}",
    "/recherche?q=zzzzqqq",
    "/organismes/caf-vosges",
    f"/lieux/mairie-{DOCELLES}",
    f"/communes/{DOCELLES}",
    "/sources",
    "/catalogue",
    f"/carte?commune={DOCELLES}",
    "/connexion",
    "/mot-de-passe-oublie",
    "/donnees-personnelles",
    URL,
    "/page-qui-n-existe-pas",
)
STAFF_PAGES = (
    ("desk", "/demandes"),
    ("desk", f"/demandes/nouvelle?need=aide-logement&commune={DOCELLES}"),
    ("desk", "/compte"),
    ("partner", "/partenaire/demandes"),
    ("elected", "/tableau-de-bord"),
    ("admin", "/admin"),
    ("admin", "/gestion"),
    ("admin", "/gestion/alertes"),
    ("admin", "/gestion/ateliers"),
)


def test_every_page_footer_links_personal_data_and_accessibility(seeded_app, staff_clients):
    anonymous = seeded_app.test_client()
    pages = [(anonymous, url) for url in PUBLIC_PAGES]
    pages += [(staff_clients[role], url) for role, url in STAFF_PAGES]
    for client, url in pages:
        response = client.get(url)
        assert response.status_code in (200, 404), (url, response.status_code)
        footer = footer_of(response.get_data(as_text=True))
        assert 'href="/donnees-personnelles"' in footer, url
        assert 'href="/accessibilite"' in footer, url
        # The mention the RGAA asks for on every page: "Accessibilité : <status>".
        assert f"Accessibilité : {accessibility.STATUS}" in footer, url
