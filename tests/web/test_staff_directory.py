"""The partners' "who's who" (/partenaires): staff only, and never leaking to public pages."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import Body, Referent
from proxiservices.services.demo import seed_demo
from tests.queries import count_queries
from tests.web.html import main_content, normalise, text_of, without_title

ROOT = Path(__file__).resolve().parents[2]
HTMX = {"HX-Request": "true", "HX-Target": "main", "HX-Current-URL": "http://localhost/"}
DIRECT_LINE = "03 53 73 00 01"  # the demo CAF referent


@pytest.fixture(scope="module")
def app(workspace):
    with workspace.app_context():
        seed_demo(ROOT / "seeds" / "demo", datetime(2026, 11, 23, 9, 0, tzinfo=PARIS))
        db.session.remove()
    return workspace


def test_anonymous_visitors_are_sent_to_the_login_page(app):
    response = app.test_client().get("/partenaires")
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion?next=/partenaires"


def test_elected_members_may_not_see_it(app, client_as):
    client, _ = client_as(app, "elected")
    response = client.get("/partenaires")
    assert response.status_code == 403
    assert "Votre rôle ne donne pas accès à cette page." in response.get_data(as_text=True)
    assert DIRECT_LINE not in response.get_data(as_text=True)


@pytest.mark.parametrize("role", ["receptionist", "partner", "admin"])
def test_staff_see_each_partner_with_its_referents(app, client_as, role):
    client, _ = client_as(app, role)
    response = client.get("/partenaires")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    html = response.get_data(as_text=True)
    text = text_of(main_content(html))
    for body in [
        "CAF des Vosges",
        "CPAM des Vosges",
        "France services",
        "Conseiller numérique – France services de Bruyères",
    ]:
        assert re.search(rf'<h2 id="partner-[a-z0-9-]+">{re.escape(body)}</h2>', html), body
    assert "Sophie Exemple (démo)" in text
    assert "Référente partenariats, accueil d'Épinal" in text
    assert f'<a href="tel:0353730001">{DIRECT_LINE}</a>' in html
    assert '<a href="mailto:demo.partenaires.caf88@example.org">' in html
    assert "reçoit les demandes" in text
    assert "Ne les communiquez pas aux usagers" in text


def test_partners_can_be_filtered_by_body_kind(app, client_as):
    client, _ = client_as(app, "receptionist")
    html = client.get("/partenaires?type=CONSEILLER_NUMERIQUE").get_data(as_text=True)
    text = text_of(main_content(html))
    assert "Thomas Exemple (démo)" in text
    assert "CAF des Vosges" not in text
    assert '<option value="CONSEILLER_NUMERIQUE" selected>' in html
    assert '<option value="CAF">' in html  # the other kinds stay available
    empty = client.get("/partenaires?type=NOTAIRE").get_data(as_text=True)
    assert "Aucun contact pour ce type d'organisme." in empty


def test_fragment_is_the_same_markup_as_the_page(app, client_as):
    client, _ = client_as(app, "receptionist")
    page = client.get("/partenaires").get_data(as_text=True)
    fragment = client.get("/partenaires", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert normalise(without_title(fragment)) == normalise(main_content(page))


def test_queries_do_not_grow_with_the_number_of_partners(app, client_as):
    client, _ = client_as(app, "receptionist")
    before = count_queries(app, client, "/partenaires")
    with app.app_context():
        for slug in ["msa-lorraine", "dgfip-vosges", "mission-locale-remiremont"]:
            body = db.session.scalars(select(Body).where(Body.slug == slug)).one()
            for n in range(3):
                db.session.add(
                    Referent(
                        body_id=body.id, name=f"Contact {n} (test)", function="Test", position=n
                    )
                )
        db.session.commit()
    after = count_queries(app, client, "/partenaires")
    assert "Contact 2 (test)" in client.get("/partenaires").get_data(as_text=True)
    assert after == before
    assert before <= 4


def test_referents_never_appear_on_public_pages_or_in_the_api(app):
    with app.app_context():
        referents = db.session.scalars(select(Referent)).all()
        secrets = {r.phone for r in referents if r.phone} | {r.email for r in referents if r.email}
        secrets |= {r.name for r in referents}
    assert DIRECT_LINE in secrets
    client = app.test_client()
    for url in [
        "/",
        "/organismes/caf-vosges",
        "/organismes/france-services",
        "/organismes/conseiller-numerique-bruyeres",
        "/lieux/france-services-bruyeres",
        "/communes/88078",
        "/orientation?need=aide-logement&commune=88078",
        "/orientation/fiche?need=aide-logement&commune=88078",
        "/recherche?q=caf&commune=88078",
        "/api/v1/orientation?need=aide-logement&commune=88078",
        "/api/v1/needs?q=caf",
        "/api/v1/needs/aide-logement",
        "/api/v1/communes?q=bruyeres",
    ]:
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        leaked = [s for s in secrets if s in body]
        assert not leaked, (url, leaked)
