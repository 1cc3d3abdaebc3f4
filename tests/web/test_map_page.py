"""The map page (/carte): the list of places nearest first is always there, the map only
repeats it; Leaflet comes from our own static files and only on this page."""

from __future__ import annotations

import re

import pytest

from proxiservices.config import load
from proxiservices.extensions import db
from proxiservices.models import Body, Permanence, Site
from proxiservices.services.map import tile_origin
from tests.factories import build_directory
from tests.queries import count_queries
from tests.web.html import link_to, links, main_content, normalise, text_of, without_title

DOCELLES = "88135"
BRUYERES = "88078"
LOOPBACK_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"
WEDNESDAY = "2026-12-02T10:00"  # the day after the first Tuesday of December
RESULTS = {"HX-Request": "true", "HX-Target": "map-results", "HX-Current-URL": "http://localhost/"}
MAIN = {**RESULTS, "HX-Target": "main"}


@pytest.fixture(autouse=True)
def loopback_tiles(seeded_app, monkeypatch):
    """Tests never reach outside hosts: the tile server is a closed port on loopback."""
    monkeypatch.setitem(seeded_app.config, "TILE_URL", LOOPBACK_TILES)


def places(html: str) -> list[dict[str, str]]:
    """Each list item: its name, its link, its distance line, its kind line."""
    found = []
    for item in re.findall(r'<li class="map-place"(.*?)</li>', html, re.S):
        found.append(
            {
                "name": text_of(re.search(r"<h3>(.*?)</h3>", item, re.S).group(1)),
                "href": re.search(r'<h3><a href="([^"]+)"', item).group(1),
                "data_url": re.search(r'data-url="([^"]+)"', item).group(1),
                "distance": text_of(re.search(r'class="distance">(.*?)</p>', item, re.S).group(1)),
                "kind": text_of(re.search(r'class="body-name">(.*?)</p>', item, re.S).group(1)),
            }
        )
    return found


def kilometres(distance: str) -> float:
    if distance.startswith("Sur la commune"):
        return 0.0
    return float(re.search(r"(\d+,\d) km", distance).group(1).replace(",", "."))


def the_list(html: str) -> str:
    return normalise(re.search(r'<ol class="map-list".*?</ol>', html, re.S).group(0))


def test_places_are_listed_nearest_first(client):
    response = client.get(f"/carte?commune={DOCELLES}&at={WEDNESDAY}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = text_of(main_content(html))
    assert "Carte des lieux d'accueil autour de Docelles" in text
    assert "à moins de 30 km de Docelles" in text
    found = places(html)
    assert len(found) >= 10
    distances = [kilometres(p["distance"]) for p in found]
    assert distances == sorted(distances)
    assert distances[-1] <= 30
    names = [p["name"] for p in found]
    assert "Mairie de Docelles" in names
    assert "CAF des Vosges – accueil d'Épinal" in names
    docelles = found[names.index("Mairie de Docelles")]
    assert docelles["distance"] == "Sur la commune de Docelles"
    assert docelles["href"] == f"/lieux/mairie-{DOCELLES}?commune={DOCELLES}"
    # "environ" where a position is approximate (the CAF is placed at Épinal's town hall).
    caf = found[names.index("CAF des Vosges – accueil d'Épinal")]
    assert re.fullmatch(r"À environ \d+,\d km de Docelles", caf["distance"]), caf
    # The markers are read from the list itself: each item carries its page and position.
    assert all(p["href"] == p["data_url"] for p in found)
    assert html.count('class="map-place" data-latitude="') == len(found)
    # Open now / next opening, as on the result page.
    assert re.search(r"Ouvert maintenant|Fermé – ouvre|Horaires non renseignés", text)


def test_town_halls_do_not_crowd_out_the_other_offices(client):
    html = client.get(f"/carte?commune={DOCELLES}").get_data(as_text=True)
    kinds = [p["kind"] for p in places(html)]
    assert kinds.count("Mairie") == 20
    assert "Mairie (20)" in text_of(html)
    assert any("France services" in k for k in kinds)


def test_filter_by_kind_without_javascript(client):
    response = client.get(f"/carte?commune={BRUYERES}&kind=CAF&kind=FRANCE_SERVICES")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    found = places(html)
    assert found, "no place of those kinds around Bruyères"
    assert {("CAF" in p["kind"]) or ("France services" in p["kind"]) for p in found} == {True}
    assert "Mairie de Bruyères" not in [p["name"] for p in found]
    # The other kinds stay on offer, the chosen ones are checked.
    assert re.search(r'value="CAF" aria-describedby="kind-hint" checked', html)
    assert re.search(r'value="MAIRIE" aria-describedby="kind-hint">', html)
    # The filter is a plain GET form: it works as a full page load.
    assert re.search(r'<form class="map-filter" action="/carte" method="get"', html)
    assert f'name="commune" value="{BRUYERES}"' in html


def test_filter_with_htmx_swaps_the_list_and_keeps_the_address(client):
    url = f"/carte?commune={BRUYERES}&kind=CAF&kind=FRANCE_SERVICES&at={WEDNESDAY}"
    page = client.get(url).get_data(as_text=True)
    fragment = client.get(url, headers=RESULTS)
    assert fragment.status_code == 200
    body = fragment.get_data(as_text=True)
    assert "<html" not in body and "<form" not in body and 'id="map"' not in body
    assert the_list(body) == the_list(page)
    assert "HX-Request" in fragment.headers["Vary"]
    # The form pushes the filtered address, so a copied link keeps the filter.
    assert 'hx-target="#map-results" hx-push-url="true"' in page


def test_the_main_fragment_is_the_page_without_its_assets(client):
    url = f"/carte?commune={DOCELLES}&at={WEDNESDAY}"
    page = main_content(client.get(url).get_data(as_text=True))
    fragment = client.get(url, headers=MAIN).get_data(as_text=True)
    page_without_assets = re.sub(r"<(link|script)\b[^>]*>(</script>)?", "", page)
    assert normalise(without_title(fragment)) == normalise(page_without_assets)


def test_unknown_commune_and_unknown_kind(client):
    response = client.get("/carte?commune=99999")
    assert response.status_code == 404
    assert "Commune inconnue : « 99999 »" in text_of(response.get_data(as_text=True))
    response = client.get(f"/carte?commune={DOCELLES}&kind=LICORNE")
    assert response.status_code == 400
    assert "Type d'organisme inconnu : « LICORNE »" in text_of(response.get_data(as_text=True))


def test_without_commune_the_page_asks_for_it(seeded_app):
    client = seeded_app.test_client()
    page = client.get("/carte")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Commune de l'usager (nom ou code postal)" in text_of(html)
    assert 'id="map"' not in html
    answers = client.get("/carte?q=bruy").get_data(as_text=True)
    assert link_to(answers, "Bruyères (88600)") == f"/carte?commune={BRUYERES}"
    swapped = client.get("/carte?q=bruy", headers={**RESULTS, "HX-Target": "map-communes"})
    assert "<h1" not in swapped.text and f'href="/carte?commune={BRUYERES}"' in swapped.text
    # Once a commune is chosen it is remembered: /carte goes to its map.
    client.get(f"/carte?commune={BRUYERES}")
    again = client.get("/carte?kind=CAF")
    assert again.status_code == 302
    assert again.headers["Location"] == f"/carte?kind=CAF&commune={BRUYERES}"
    other = client.get("/carte?q=")
    assert other.status_code == 200 and 'id="map-commune-q"' in other.text


def test_the_tile_server_comes_from_the_configuration(client, seeded_app):
    html = client.get(f"/carte?commune={DOCELLES}").get_data(as_text=True)
    assert f'data-tile-url="{LOOPBACK_TILES}"' in html
    assert 'data-tile-attribution="© les contributeurs d&#39;OpenStreetMap"' in html
    assert "tile.openstreetmap.org" not in html
    assert tile_origin(seeded_app.config["TILE_URL"]) == "http://127.0.0.1:9"


def test_tile_settings_are_read_from_the_environment(tmp_path):
    config = load(
        str(tmp_path),
        {
            "PROXISERVICES_TILE_URL": "https://tuiles.example.fr/{z}/{x}/{y}.png",
            "PROXISERVICES_TILE_ATTRIBUTION": "© IGN",
        },
    )
    assert config["TILE_URL"] == "https://tuiles.example.fr/{z}/{x}/{y}.png"
    assert config["TILE_ATTRIBUTION"] == "© IGN"
    assert load(str(tmp_path), {})["TILE_URL"] == "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def test_leaflet_is_served_from_our_own_static_files(client):
    html = client.get(f"/carte?commune={DOCELLES}").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    for path in [
        "/static/vendor/leaflet/leaflet.js",
        "/static/vendor/leaflet/leaflet.css",
        "/static/js/map.js",
        "/static/css/map.css",
    ]:
        assert path in assets
    for path in [
        *assets,
        "/static/vendor/leaflet/images/marker-icon.png",
        "/static/vendor/leaflet/images/marker-icon-2x.png",
        "/static/vendor/leaflet/images/marker-shadow.png",
        "/static/vendor/leaflet/images/layers.png",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        response.close()
    # No CDN, no inline script or style: the CSP will forbid them.
    assert not re.search(r'(?:src|href)="(?:https?:)?//', re.sub(r"<a\b[^>]*>", "", html))
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html


def test_the_map_is_labelled_and_hidden_until_the_script_shows_it(client):
    html = client.get(f"/carte?commune={DOCELLES}").get_data(as_text=True)
    assert re.search(r'<div class="map-block" id="map-block" hidden>', html)
    assert 'role="region" aria-label="Carte des lieux d\'accueil"' in html
    assert "La carte reprend la liste ci-dessous." in text_of(html)


def test_the_result_page_links_to_the_map_without_loading_leaflet(client):
    html = client.get(f"/orientation?need=aide-logement&commune={DOCELLES}").get_data(as_text=True)
    assert "leaflet" not in html.lower() and "map.js" not in html
    assert link_to(html, "Voir sur la carte") == f"/carte?commune={DOCELLES}&kind=CAF"


def test_the_commune_sites_page_links_to_the_map(client):
    html = client.get(f"/communes/{DOCELLES}").get_data(as_text=True)
    label = "Voir sur la carte les lieux d'accueil autour de Docelles"
    assert link_to(html, label) == f"/carte?commune={DOCELLES}"
    assert ("Voir la carte pour une autre commune", "/carte?q=") in links(
        client.get(f"/carte?commune={DOCELLES}").get_data(as_text=True)
    )


def test_queries_do_not_grow_with_the_places(seeded_app, client):
    every = count_queries(seeded_app, client, f"/carte?commune={DOCELLES}")
    one_kind = count_queries(seeded_app, client, f"/carte?commune={DOCELLES}&kind=CAF")
    elsewhere = count_queries(seeded_app, client, f"/carte?commune={BRUYERES}")
    assert every == one_kind == elsewhere


# --- permanences, on a small hand-made directory -----------------------------------------


@pytest.fixture
def small(blank, monkeypatch):
    monkeypatch.setitem(blank.config, "TILE_URL", LOOPBACK_TILES)
    build_directory()
    return blank


def test_permanences_are_on_the_map_at_their_host_site(small):
    app = small
    html = app.test_client().get(f"/carte?commune=88002&at={WEDNESDAY}").get_data(as_text=True)
    found = places(html)
    assert [p["name"] for p in found][:3] == [
        "fs-beta",
        "Permanence CAF des Vosges",
        "mairie-88002",
    ]
    permanence = found[1]
    assert permanence["href"] == "/lieux/fs-beta?commune=88002"
    assert permanence["kind"] == "Libellé CAF – permanence accueillie à fs-beta"
    assert permanence["distance"] == "Sur la commune de Bêta-sur-Moselle"
    text = text_of(main_content(html))
    assert "Prochaine permanence : mardi 15 décembre à 9h" in text
    caf_only = app.test_client().get(f"/carte?commune=88002&kind=CAF&at={WEDNESDAY}")
    assert [p["name"] for p in places(caf_only.text)] == ["Permanence CAF des Vosges"]


def test_queries_do_not_grow_with_the_permanences(small):
    app = small
    client = app.test_client()
    url = f"/carte?commune=88002&at={WEDNESDAY}"

    def cold_count() -> int:
        # The requests share the fixture's application context, hence its session.
        db.session.remove()
        return count_queries(app, client, url)

    few = cold_count()
    caf = db.session.query(Body).filter_by(slug="caf").one()
    for site in db.session.query(Site).all():
        db.session.add(Permanence(body_id=caf.id, host_site_id=site.id, schedule="We 09:00-12:00"))
    db.session.commit()
    assert len(places(client.get(url).text)) > 6
    assert cold_count() == few
