"""Screenshots of the main pages at tablet (portrait and landscape) and desktop widths, in
tests/browser/screenshots/ (git-ignored), for a reviewer to look at; each page must render
without a server error, a script error or a CSP violation (checked by the fixtures).

With PROXISERVICES_DOCS_SCREENSHOTS=1, every page is drawn at 3 device pixels for 4 CSS
pixels (crisp text, lighter files) and a few of them, the visible screen only, are also
written to docs/screenshots/, the ones the README shows:
    PROXISERVICES_DOCS_SCREENSHOTS=1 make test PYTEST_ARGS=tests/browser/test_screenshots.py
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import Body, Commune, Need, User
from proxiservices.services import requests as request_service

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WRITE_DOCS = os.environ.get("PROXISERVICES_DOCS_SCREENSHOTS", "").strip() in {"1", "true", "yes"}
DOCS_LIMIT = 150_000  # bytes per committed PNG
SCALE = 0.75 if WRITE_DOCS else 1
VIEWPORTS = {
    "tablet-portrait": (800, 1280),
    "tablet-landscape": (1280, 800),
    "desktop": (1440, 900),
}
# (name, address, who): the pages a reviewer needs to understand the product.
PAGES = [
    ("home", "/", None),
    ("commune", "/commune?q=saint-di", None),
    ("theme", "/themes/papiers-citoyennete?commune=88135", None),
    ("question", "/questions/identite?commune=88135", None),
    ("result", "/orientation?need=cni-passeport-perte&commune=88135", None),
    ("search-results", "/recherche?q=les+allocs&commune=88135", None),
    ("fiche", "/orientation/fiche?need=cni-passeport-perte&commune=88135", None),
    ("desk-requests", "/demandes", "receptionist"),
    ("resident-screen-desk", "/ecran-usager", "receptionist"),
    ("partner-inbox", "/partenaire/demandes", "partner"),
    ("dashboard", "/tableau-de-bord", "elected"),
]
# Written small to docs/screenshots/ (name, viewport) when asked.
FOR_DOCS = {
    ("home", "tablet-landscape"),
    ("search-suggestions", "tablet-landscape"),
    ("result", "desktop"),
    ("fiche", "tablet-portrait"),
    ("partner-inbox", "desktop"),
    ("resident-screen", "tablet-landscape"),
}


SENT = [  # (need, commune, resident, message): requests for the lists to show
    ("aide-logement", "88135", "Paul Exemple", "Aide au logement pour un premier appartement."),
    ("prime-activite", "88078", "Nadia Essai", "Reprise d'un emploi à temps partiel."),
    ("allocations-familiales", "88160", "Louis Modèle", "Naissance du deuxième enfant."),
]


@pytest.fixture
def sent_requests(live_server, login):
    """Requests from the desk to the CAF, so that the lists are not empty."""
    login.email("partner")  # the CAF receives requests once it has an account
    desk_email = login.email("receptionist")
    with live_server.app.app_context():
        sender = db.session.scalar(select(User).where(User.email == desk_email))
        caf = db.session.scalar(select(Body).where(Body.slug == "caf-vosges"))
        for need, insee, name, message in SENT:
            request_service.submit_request(
                actor=sender,
                need=db.session.scalar(select(Need).where(Need.slug == need)),
                commune=db.session.scalar(select(Commune).where(Commune.insee == insee)),
                body=caf,
                contact=request_service.ResidentContact(
                    name=name,
                    phone="0612345678",
                    email=None,
                    channel="phone",
                    time_slots=("morning",),
                    message=message,
                ),
                at=datetime.now(PARIS),
            )
        db.session.remove()


def shoot(page, screenshot, name: str) -> None:
    expect(page.locator("h1").first).to_be_visible()
    for label, (width, height) in VIEWPORTS.items():
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"{name}-{label}-{width}", full_page=True)
        if WRITE_DOCS and (name, label) in FOR_DOCS:
            DOCS.mkdir(parents=True, exist_ok=True)
            path = DOCS / f"{name}-{label}.png"
            page.screenshot(path=str(path), animations="disabled")
            assert path.stat().st_size < DOCS_LIMIT, f"{path.name}: {path.stat().st_size} bytes"


def test_screenshots_of_the_main_pages(new_page, login, screenshot, sent_requests):
    pages = {None: new_page(device_scale_factor=SCALE)}
    for role in ("receptionist", "partner", "elected"):
        pages[role] = new_page(device_scale_factor=SCALE)
        login(pages[role], role)
    for name, address, who in PAGES:
        page = pages[who]
        page.set_viewport_size({"width": 1280, "height": 800})
        response = page.goto(address)
        assert response.status == 200, f"{address}: {response.status}"
        if name == "fiche":
            page.emulate_media(media="print")
        shoot(page, screenshot, name)
        page.emulate_media(media="screen")

    # Search as you type: the suggestions open under the box.
    page = pages[None]
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto("/themes?commune=88135")
    page.locator("body").press("/")
    page.keyboard.type("carte vitale", delay=20)
    expect(page.locator("#search-suggestions [role=option]").first).to_be_visible()
    page.keyboard.press("ArrowDown")
    shoot(page, screenshot, "search-suggestions")

    # The resident screen, in the window the desk opens, following the desk to a result.
    desk = pages["receptionist"]
    desk.set_viewport_size({"width": 1280, "height": 800})
    desk.goto("/ecran-usager")
    with desk.expect_popup() as opened:
        desk.get_by_role("button", name="Ouvrir l'écran usager dans une nouvelle fenêtre").click()
    screen = opened.value
    expect(screen).to_have_url(re.compile(r"/ecran$"))
    desk.goto("/orientation?need=cni-passeport-perte&commune=88135")
    expect(screen.locator("main h1").first).to_contain_text("perdu")
    shoot(screen, screenshot, "resident-screen")
