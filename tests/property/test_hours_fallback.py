"""Opening hours that cannot be read, stored straight in the database (an import, an old
row, a hand-made fix: the forms would refuse them), show "horaires à vérifier" on every
page that tells hours, and never an "open now" claim, nor a 500.

The mairie of Bruyères gets unreadable hours, hosts a CAF permanence with an unreadable
schedule, and has "changed hours" (a closure of kind "hours") that cannot be read either.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from proxiservices.domain import hours
from proxiservices.domain.icalendar import unescape_text, unfold
from proxiservices.extensions import db
from proxiservices.models import Body, Closure, Permanence, Site
from tests.property.fuzz import plain

SITE = "mairie-88078"
COMMUNE = "88078"
NEED = "inscription-liste-electorale"  # the mairie of the resident's commune
PERMANENCE_NEED = "aide-logement"  # the CAF: its permanences nearby are listed
BAD_HOURS = "Lu-Ve 8h30-12h ; samedi matin"
BAD_SCHEDULE = "tous les mardis 9h-12h"
TO_CHECK = "horaires à vérifier"
OPEN_CLAIMS = ("Ouvert maintenant", "ferme ", "ouvre ", "Prochaine permanence :")


@pytest.fixture(scope="module")
def broken(fuzz_app):
    with fuzz_app.app_context():
        site = db.session.scalars(select(Site).where(Site.slug == SITE)).one()
        caf = db.session.scalars(select(Body).where(Body.slug == "caf-vosges")).one()
        site_name, original = site.name, site.opening_hours
        site.opening_hours = BAD_HOURS
        permanence = Permanence(body_id=caf.id, host_site_id=site.id, schedule=BAD_SCHEDULE)
        today = datetime.now(hours.PARIS).replace(tzinfo=None, minute=0, second=0, microsecond=0)
        closure = Closure(
            site_id=site.id,
            kind="hours",
            starts_at=today - timedelta(days=1),
            ends_at=today + timedelta(days=2),
            opening_hours="le matin seulement",
            message="Travaux",
        )
        db.session.add_all([permanence, closure])
        db.session.commit()
        made = (permanence.id, closure.id)
        assert hours.validate(BAD_HOURS) and hours.validate(BAD_SCHEDULE)
        db.session.remove()
    yield site_name
    with fuzz_app.app_context():
        db.session.delete(db.session.get(Permanence, made[0]))
        db.session.delete(db.session.get(Closure, made[1]))
        db.session.scalars(select(Site).where(Site.slug == SITE)).one().opening_hours = original
        db.session.commit()
        db.session.remove()


@pytest.fixture
def client(fuzz_app):
    return fuzz_app.test_client()


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, plain(response.get_data(as_text=True))[:500]
    return response.get_data(as_text=True)


def block(html: str, pattern: str, name: str) -> str:
    """The text of the first `pattern` block (a regex with one group) that names `name`."""
    found = [plain(b) for b in re.findall(pattern, html, re.S) if name in plain(b)]
    assert found, f"no block naming {name!r}"
    return found[0]


def says_to_check(text: str) -> None:
    assert TO_CHECK in text.lower(), text[:600]
    claims = [c for c in OPEN_CLAIMS if c in text]
    assert not claims, f"{claims} in: {text[:600]}"


def test_site_page(client, broken):
    html = page(client, f"/lieux/{SITE}?commune={COMMUNE}")
    main = plain(re.search(r"<main\b.*</main>", html, re.S).group(0))
    status = main.split("Adresse")[0]  # the status line, above the contact details
    says_to_check(status)
    assert "Horaires à vérifier." in main  # in place of the weekly table
    permanences = main.split("Permanences accueillies")[1]
    assert "Permanence CAF" in permanences or "CAF des Vosges" in permanences
    says_to_check(permanences.split("Source")[0])


def test_result_page(client, broken):
    html = page(client, f"/orientation?need={NEED}&commune={COMMUNE}")
    says_to_check(block(html, r'<article class="site-card"[^>]*>(.*?)</article>', broken))


def test_result_page_lists_the_permanence_as_to_check(client, broken):
    html = page(client, f"/orientation?need={PERMANENCE_NEED}&commune={COMMUNE}")
    for line in re.findall(r"<li\b[^>]*>(.*?)</li>", html, re.S):
        if "CAF" in plain(line) and broken in plain(line):
            says_to_check(plain(line))
            return
    pytest.fail("the permanence at the mairie is not listed")


def test_printed_fiche(client, broken):
    html = page(client, f"/orientation/fiche?need={NEED}&commune={COMMUNE}")
    section = block(html, r'<section class="fiche-site">(.*?)</section>', broken)
    says_to_check(section)
    assert "7 prochains jours" not in section


def test_map_page(client, broken):
    html = page(client, f"/carte?commune={COMMUNE}")
    places = re.findall(r'<li class="map-place"(.*?)</li>', html, re.S)
    mairie = [plain(p) for p in places if f'data-name="{broken}"' in p]
    assert mairie, "the mairie is not on the map"
    says_to_check(mairie[0])
    permanence = [plain(p) for p in places if 'data-name="Permanence CAF' in p and broken in p]
    assert permanence, "the permanence is not on the map"
    says_to_check(permanence[0])


@pytest.mark.parametrize("url", [f"/lieux/{SITE}.ics", "/organismes/caf-vosges.ics"])
def test_calendar_feeds(client, broken, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    lines = unfold(response.get_data(as_text=True))
    description = [unescape_text(x.split(":", 1)[1]) for x in lines if x.startswith("X-WR-CALDESC")]
    assert description and TO_CHECK in description[0], lines[:12]
    assert broken in description[0]


def test_api(client, broken):
    response = client.get(f"/api/v1/orientation?need={NEED}&commune={COMMUNE}")
    assert response.status_code == 200
    site = next(s for s in response.get_json()["sites"] if s["slug"] == SITE)
    assert site["opening_hours"] == BAD_HOURS  # as stored
    assert site["hours_valid"] is False
    assert (site["open_now"], site["next_opening"], site["closes_at"]) == (None, None, None)


def test_api_permanence(client, broken):
    response = client.get(f"/api/v1/orientation?need={PERMANENCE_NEED}&commune={COMMUNE}")
    assert response.status_code == 200
    found = [p for p in response.get_json()["permanences"] if p["host_site_slug"] == SITE]
    assert found, "the permanence at the mairie is not in the answer"
    assert found[0]["schedule"] == BAD_SCHEDULE
    assert found[0]["schedule_valid"] is False
    assert (found[0]["next"], found[0]["schedule_text"]) == (None, None)
