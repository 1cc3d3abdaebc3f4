"""The dashboard as an élu uses it: figures of its territory only, period choice, CSV,
share links; and the visits a desk records from the result page."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, func, select

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import ActivityCount, ActivityEvent, DashboardShare, User
from proxiservices.services import activity
from proxiservices.services import dashboard as service
from proxiservices.services.needs import get_need
from tests.plugins.accounts import csrf_in, logged_in, make_user
from tests.queries import count_queries
from tests.web.html import main_content, normalise, text_of, without_title

RESULT = "/orientation?need=aide-logement&commune=88078"
CC_BRUYERES = "200042000"


@pytest.fixture(scope="module")
def people(workspace):
    return {
        "elu": make_user(workspace, "elected", territory_code=CC_BRUYERES).email,
        "elu_epinal": make_user(workspace, "elected", territory_code="200068757").email,
        "desk": make_user(workspace, "receptionist", commune_insee="88078").email,
        "other_desk": make_user(workspace, "receptionist", commune_insee="88160").email,
        "admin": make_user(workspace, "admin").email,
    }


def add_visits(app, commune: str, count: int, outcome: str | None = None) -> None:
    with app.app_context():
        need = get_need("aide-logement")
        for _ in range(count):
            activity.record_visit(need, commune, "desk", datetime.now(PARIS), outcome=outcome)
        db.session.commit()


def count_events(app, **where) -> int:
    with app.app_context():
        stmt = select(func.count(ActivityEvent.id)).filter_by(**where)
        return db.session.scalar(stmt)


@pytest.fixture
def clean(workspace):
    with workspace.app_context():
        db.session.execute(delete(ActivityEvent))
        db.session.execute(delete(ActivityCount))
        db.session.commit()
    return workspace


def test_an_elected_member_of_the_cc_sees_its_communes_needs_and_autonomy(clean, people):
    add_visits(clean, "88078", 6, "autonomous")
    add_visits(clean, "88078", 6, "oriented")
    add_visits(clean, "88160", 9)  # Épinal: another EPCI
    page = logged_in(clean, people["elu"]).get("/tableau-de-bord")
    assert page.status_code == 200
    text = text_of(main_content(page.text))
    assert "Tableau de bord – CC Bruyères-Vallons des Vosges" in text
    assert "Demander une aide au logement" in text
    assert "Bruyères (88078) 12" in text
    assert "Épinal" not in text
    assert "Usagers repartis autonomes 50,0 %" in text.replace("\u202f", " ")
    assert "Réponse des partenaires" in text
    # Accessible charts: an image with its title and description, figures in a table.
    assert re.search(r'<svg[^>]*role="img"[^>]*aria-labelledby="chart-themes-title', page.text)
    assert '<desc id="chart-themes-desc">' in page.text
    assert "style=" not in page.text and "<script>" not in page.text
    # The other EPCI's élu sees only Épinal.
    other = text_of(
        main_content(logged_in(clean, people["elu_epinal"]).get("/tableau-de-bord").text)
    )
    assert "Épinal (88160) 9" in other and "Bruyères" not in other


def test_small_counts_are_shown_as_less_than_five(clean, people):
    add_visits(clean, "88078", 8)
    add_visits(clean, "88135", 2)  # Docelles
    text = text_of(main_content(logged_in(clean, people["elu"]).get("/tableau-de-bord").text))
    assert "Docelles (88135) < 5" in text
    assert "Bruyères (88078) masqué" in text
    assert "Total 10" in text


def test_an_elected_member_cannot_pick_another_territory(clean, people):
    client = logged_in(clean, people["elu"])
    response = client.get("/tableau-de-bord?territoire=200068757")
    assert response.status_code == 403
    assert "votre territoire" in text_of(response.text)
    assert client.get(f"/tableau-de-bord?territoire={CC_BRUYERES}").status_code == 200


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("periode=semaine", "Période « semaine » inconnue"),
        ("periode=perso&du=2026-02-31&au=2026-03-01", "invalide"),
        ("periode=perso&du=2020-01-01&au=2024-01-01", "3 ans"),
        ("territoire=99999", "Territoire inconnu"),
    ],
)
def test_bad_parameters_get_a_french_message(clean, people, query, message):
    response = logged_in(clean, people["admin"]).get(f"/tableau-de-bord?{query}")
    assert response.status_code == 400
    assert message in text_of(response.text)


def test_an_administrator_picks_any_territory(clean, people):
    add_visits(clean, "88160", 7)
    client = logged_in(clean, people["admin"])
    text = text_of(main_content(client.get("/tableau-de-bord?territoire=200068757").text))
    assert "CA d'Epinal" in text and "Épinal (88160) 7" in text
    everything = text_of(main_content(client.get("/tableau-de-bord").text))
    assert "Tout le territoire" in everything and "Recherches sans réponse" in everything


def test_htmx_gets_the_fragment_of_the_same_page(clean, people):
    client = logged_in(clean, people["elu"])
    url = "/tableau-de-bord?periode=mois"
    page = client.get(url)
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]
    strip = lambda html: normalise(re.sub(r'value="[^"]{40,}"', "", html))  # noqa: E731
    assert strip(without_title(fragment.text)) == strip(main_content(page.text))


def test_the_dashboard_runs_the_same_number_of_queries_whatever_the_data(clean, people):
    client = logged_in(clean, people["elu"])
    add_visits(clean, "88078", 1)
    few = count_queries(clean, client, "/tableau-de-bord")
    add_visits(clean, "88135", 30)
    add_visits(clean, "88091", 12, "autonomous")
    assert count_queries(clean, client, "/tableau-de-bord") == few


def test_csv_export_with_bom_semicolons_and_hidden_cells(clean, people):
    add_visits(clean, "88078", 9)
    add_visits(clean, "88135", 3)
    client = logged_in(clean, people["elu"])
    response = client.get("/tableau-de-bord/export/communes.csv?periode=30j")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    disposition = response.headers["Content-Disposition"]
    assert re.search(r'filename="proxiservices-communes-200042000-\d{4}-\d\d-\d\d_', disposition)
    body = response.data.decode("utf-8")
    assert body.startswith("\ufeffCommune;Période;Période précédente;Évolution\r\n")
    assert "Docelles (88135);< 5;0;—\r\n" in body
    assert "Bruyères (88078);masqué;0;—\r\n" in body
    assert "Total;12;0;+12\r\n" in body
    assert client.get("/tableau-de-bord/export/personnes.csv").status_code == 404


def test_share_link_is_read_only_and_can_be_revoked(clean, people):
    add_visits(clean, "88078", 7)
    client = logged_in(clean, people["elu"])
    page = client.get("/tableau-de-bord")
    created = client.post(
        "/tableau-de-bord/partages",
        data={"csrf_token": csrf_in(page.text), "jours": "30", "periode": "30j"},
    )
    assert created.status_code == 303
    dashboard = client.get(created.headers["Location"])
    link = re.search(r"http://localhost(/partage/[\w-]+)", dashboard.text).group(1)
    shared = clean.test_client().get(link)
    assert shared.status_code == 200
    assert shared.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert '<meta name="robots" content="noindex, nofollow">' in shared.text
    text = text_of(shared.text)
    assert "CC Bruyères-Vallons des Vosges" in text and "Bruyères (88078) 7" in text
    assert "export" not in shared.text and "<form" not in shared.text
    # Revoked: the link answers 410 with a French page.
    with clean.app_context():
        share_id = db.session.scalars(
            select(DashboardShare.id).order_by(DashboardShare.id.desc())
        ).first()
    listing = client.get("/tableau-de-bord")
    # The élu's links are listed by the territory's name, not its SIREN.
    assert "CC Bruyères-Vallons des Vosges – du" in text_of(listing.text)
    revoked = client.post(
        f"/tableau-de-bord/partages/{share_id}/revoquer",
        data={"csrf_token": csrf_in(listing.text)},
    )
    assert revoked.status_code == 303
    gone = clean.test_client().get(link)
    assert gone.status_code == 410
    assert "révoqué" in text_of(gone.text)
    # Another élu cannot revoke it (it does not exist for them).
    other = logged_in(clean, people["elu_epinal"])
    response = other.post(
        f"/tableau-de-bord/partages/{share_id}/revoquer",
        data={"csrf_token": csrf_in(other.get("/tableau-de-bord").text)},
    )
    assert response.status_code == 404


def test_an_expired_share_link_is_gone(clean, people):
    with clean.app_context():
        author = db.session.scalars(select(User).where(User.email == people["elu"])).one()
        long_ago = datetime.now(PARIS) - timedelta(days=40)
        _share, token = service.create_share(
            author,
            service.resolve_scope(CC_BRUYERES),
            service.st.parse_period("mois", None, None, long_ago.date()),
            30,
            long_ago,
        )
    response = clean.test_client().get(f"/partage/{token}")
    assert response.status_code == 410
    assert "expiré" in text_of(response.text)
    assert clean.test_client().get("/partage/n-importe-quoi").status_code == 404


# --- the visits behind the figures ---------------------------------------------------------


def test_a_desk_visit_is_recorded_once_with_how_it_was_found(clean, people):
    desk = logged_in(clean, people["desk"])
    page = desk.get(RESULT + "&via=recherche")
    assert page.status_code == 200
    assert "Issue de la visite" in page.text
    desk.get(RESULT + "&via=recherche")  # a reload is the same visit
    desk.get(RESULT, headers={"HX-Request": "true"})  # and so is the htmx fragment
    assert count_events(clean, kind="visit", channel="desk", found_via="search") == 1
    assert count_events(clean, kind="visit") == 1
    desk.get("/orientation?need=cni-passeport-demande&commune=88078")
    assert count_events(clean, kind="visit", channel="desk", found_via="tree") == 1


def test_public_and_api_views_are_counted_apart(clean):
    anonymous = clean.test_client()
    page = anonymous.get(RESULT)
    assert "Issue de la visite" not in page.text
    anonymous.get("/api/v1/orientation?need=aide-logement&commune=88078")
    assert count_events(clean, channel="public") == 1
    assert count_events(clean, channel="api") == 1
    with clean.app_context():
        event = db.session.scalars(select(ActivityEvent)).first()
        assert event.desk_site_id is None and event.commune_insee == "88078"


def test_the_desk_sets_the_outcome_in_one_click_and_may_change_it(clean, people):
    desk = logged_in(clean, people["desk"])
    page = desk.get(RESULT)
    action = re.search(r'action="(/visites/\d+/issue)"', page.text).group(1)
    token = csrf_in(page.text)
    response = desk.post(
        action, data={"csrf_token": token, "outcome": "autonomous", "retour": RESULT}
    )
    assert response.status_code == 303 and response.headers["Location"] == RESULT
    swapped = desk.post(
        action,
        data={"outcome": "accompanied"},
        headers={"HX-Request": "true", "X-CSRFToken": token},
    )
    assert swapped.status_code == 200
    assert 'id="visit-outcome"' in swapped.text and "<html" not in swapped.text
    assert "Issue enregistrée : Accompagné dans la démarche" in text_of(swapped.text)
    assert count_events(clean, outcome="accompanied") == 1
    # Another desk cannot touch it; a made-up outcome is refused.
    other = logged_in(clean, people["other_desk"])
    other_token = csrf_in(other.get("/").text)
    refused = other.post(action, data={"csrf_token": other_token, "outcome": "oriented"})
    assert refused.status_code == 404
    bad = desk.post(action, data={"csrf_token": token, "outcome": "vip"})
    assert bad.status_code == 400
    assert count_events(clean, outcome="accompanied") == 1


def test_a_redirect_back_never_leaves_the_site(clean, people):
    desk = logged_in(clean, people["desk"])
    page = desk.get(RESULT)
    action = re.search(r'action="(/visites/\d+/issue)"', page.text).group(1)
    response = desk.post(
        action,
        data={"csrf_token": csrf_in(page.text), "outcome": "oriented", "retour": "//evil.example"},
    )
    assert response.headers["Location"] == "/"
