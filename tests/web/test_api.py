"""JSON API v1, checked against the contract in DESIGN.md."""

import pytest

DOCELLES = "88135"
SITE_KEYS = {
    "body",
    "body_slug",
    "name",
    "address",
    "phone",
    "email",
    "url",
    "distance_km",
    "distance_approx",
    "competence_verified",
    "opening_hours",
    "open_now",
    "next_opening",
    "closes_at",
    "closures",
}


def test_communes_by_name_and_postcode(client):
    by_name = client.get("/api/v1/communes?q=docelles").get_json()
    assert by_name["results"][0] == {"code": DOCELLES, "name": "Docelles", "postcodes": ["88460"]}
    by_postcode = client.get("/api/v1/communes?q=88000").get_json()
    assert "Épinal" in [c["name"] for c in by_postcode["results"]]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("st die", "Saint-Dié-des-Vosges"),
        ("EPINAL", "Épinal"),
        ("gerardmer", "Gérardmer"),
        ("88400", "Gérardmer"),
    ],
)
def test_commune_found_as_people_type_it(client, query, expected):
    names = [c["name"] for c in client.get(f"/api/v1/communes?q={query}").get_json()["results"]]
    assert expected in names


def test_needs_search_shape_and_limit(client):
    data = client.get("/api/v1/needs?q=carte+grise&limit=3").get_json()
    assert data["query"] == "carte grise"
    assert 1 <= len(data["results"]) <= 3
    first = data["results"][0]
    assert set(first) >= {"slug", "title", "theme", "body_kind", "score"}
    assert isinstance(first["score"], float)
    scores = [r["score"] for r in data["results"]]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("limit", ["0", "51", "abc", "-1", "2.5", "%EF%BC%91", ""])
def test_needs_limit_out_of_range_is_400(client, limit):
    response = client.get(f"/api/v1/needs?q=apl&limit={limit}")
    assert response.status_code == 400
    assert "limit" in response.get_json()["error"]


def test_need_detail(client):
    data = client.get("/api/v1/needs/aide-logement").get_json()
    assert set(data) >= {
        "slug",
        "title",
        "theme",
        "body_kind",
        "documents",
        "online_url",
        "help_kinds",
        "request_possible",
    }
    assert data["body_kind"] == "CAF"
    assert client.get("/api/v1/needs/inexistant").status_code == 404


def test_orientation_contract(client):
    response = client.get(
        f"/api/v1/orientation?need=aide-logement&commune={DOCELLES}&at=2026-12-01T10:00"
    )
    assert response.status_code == 200
    data = response.get_json()
    assert set(data) >= {
        "need",
        "commune",
        "body_kind",
        "sites",
        "permanences",
        "help_desks",
        "online_url",
    }
    assert data["commune"] == {"code": DOCELLES, "name": "Docelles"}
    assert data["body_kind"] == "CAF"
    assert data["sites"], "the CAF serves the whole département"
    for site in data["sites"] + data["help_desks"]:
        assert set(site) >= SITE_KEYS
        assert isinstance(site["closures"], list)
    assert isinstance(data["permanences"], list)


def test_orientation_mairie_open_now_with_offset(client):
    # Docelles town hall opens Tuesday mornings (seeded from the Annuaire de l'administration).
    data = client.get(
        f"/api/v1/orientation?need=cni-passeport-demande&commune={DOCELLES}"
        "&at=2026-12-01T10:00:00%2B01:00"
    ).get_json()
    mairie = next(s for s in data["sites"] if s["body_slug"] == f"mairie-{DOCELLES}")
    assert mairie["distance_km"] == 0.0
    assert mairie["open_now"] in (True, False)
    assert (mairie["closes_at"] is None) != (mairie["next_opening"] is None)


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("need=aide-logement&commune=99999", 404, "Commune inconnue"),
        ("need=inconnu&commune=88135", 404, "Besoin inconnu"),
        ("need=aide-logement", 400, "obligatoires"),
        ("need=aide-logement&commune=88135&at=2026-13-45", 400, "ISO 8601"),
        ("need=aide-logement&commune=88135&at=hier", 400, "ISO 8601"),
        ("need=aide-logement&commune=88135&at=0001-01-01T00:00:00%2B14:00", 400, "2000"),
        ("need=aide-logement&commune=2A004", 404, "Commune inconnue"),
    ],
)
def test_orientation_bad_input(client, query, status, message):
    response = client.get(f"/api/v1/orientation?{query}")
    assert response.status_code == status
    assert response.is_json
    assert message in response.get_json()["error"]


def test_unknown_api_route_is_json_404(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404
    assert "error" in response.get_json()


NEED_KEYS = {"slug": str, "title": str, "body_kind": str, "score": float}


@pytest.mark.parametrize(
    "query", ["carte grise", "aide au logement", "retraite agricole", "permis de conduire perdu"]
)
def test_needs_search_keys_and_types_exactly(client, query):
    response = client.get("/api/v1/needs", query_string={"q": query})
    assert response.status_code == 200
    assert response.is_json
    data = response.get_json()
    assert set(data) == {"query", "results"}
    assert data["query"] == query
    assert data["results"]
    for result in data["results"]:
        # Added with the catalogue (fields may be added, never removed): "origin".
        assert set(result) == {*NEED_KEYS, "theme", "origin"}
        assert result["origin"] in {"curated", "catalogue"}
        for key, kind in NEED_KEYS.items():
            assert type(result[key]) is kind, (key, result[key])
        assert result["theme"] is None or isinstance(result["theme"], str)
        assert result["score"] > 0
    slugs = [r["slug"] for r in data["results"]]
    assert len(set(slugs)) == len(slugs)


@pytest.mark.parametrize(
    "query", ["carte", "logement", "j'ai perdu mon permis et ma carte grise", "retraitte"]
)
def test_needs_search_best_first(client, query):
    scores = [r["score"] for r in client.get(f"/api/v1/needs?q={query}").get_json()["results"]]
    assert scores
    assert scores == sorted(scores, reverse=True), scores


def test_needs_search_answers_like_the_detail(client):
    first = client.get("/api/v1/needs?q=aide+au+logement").get_json()["results"][0]
    detail = client.get(f"/api/v1/needs/{first['slug']}").get_json()
    for key in ("slug", "title", "theme", "body_kind"):
        assert first[key] == detail[key]


def test_a_catalogue_fiche_has_the_same_theme_in_search_and_detail(client):
    """The top of its service-public.fr path, in both (the detail reads it from a cache)."""
    results = client.get("/api/v1/needs?q=permis&limit=50").get_json()["results"]
    fiches = [r for r in results if r["origin"] == "catalogue"][:5]
    assert fiches
    for fiche in fiches:
        assert fiche["theme"]
        assert client.get(f"/api/v1/needs/{fiche['slug']}").get_json()["theme"] == fiche["theme"]


def test_needs_search_default_limit_is_10(client):
    default = client.get("/api/v1/needs?q=carte").get_json()["results"]
    assert len(default) == 10
    wide = client.get("/api/v1/needs?q=carte&limit=50").get_json()["results"]
    assert len(wide) > 10
    assert wide[:10] == default
    assert len(client.get("/api/v1/needs?q=carte&limit=1").get_json()["results"]) == 1


@pytest.mark.parametrize("limit", ["0", "51", "abc", "1e1"])
def test_needs_limit_error_is_french_json(client, limit):
    response = client.get(f"/api/v1/needs?q=carte&limit={limit}")
    assert response.status_code == 400
    assert response.is_json
    data = response.get_json()
    assert set(data) >= {"error"}
    assert "invalide" in data["error"] and "entier de 1 à 50" in data["error"]


@pytest.mark.parametrize("query", ["q=", "q=+++", "", "q=de+la+le"])
def test_needs_search_without_words_is_empty(client, query):
    response = client.get(f"/api/v1/needs?{query}")
    assert response.status_code == 200
    data = response.get_json()
    assert data["results"] == []
    assert isinstance(data["query"], str)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("acte de deces", "acte-deces"),
        ("demenagement carte grise", "carte-grise-adresse"),
        ("permis de conduir perdu", "permis-perte"),
        ("inscripsion liste electorale", "inscription-liste-electorale"),
        ("CARTE GRISE PERDUE", "carte-grise-duplicata"),
        ("carte didentite volee", "cni-passeport-vol"),
        ("retraitte agricole", "retraite-msa"),
    ],
)
def test_needs_search_forgives_typos_and_missing_accents(client, query, expected):
    results = client.get("/api/v1/needs", query_string={"q": query}).get_json()["results"]
    assert results and results[0]["slug"] == expected, [r["slug"] for r in results[:5]]
