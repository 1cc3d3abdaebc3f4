"""Every page and API endpoint, fuzzed: arbitrary query parameters (those the view reads and
any others), arbitrary path arguments, with and without htmx. The answer is below 500, and
a refusal says why in French (the JSON API: {"error": "<French>"}).

The routes are read from ``app.url_map`` when the tests are collected: a new GET route gets
its test at once, which fails until ``ROUTES`` says who may open it, at which address and
which query parameters it reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from proxiservices import create_app
from tests.property import fuzz

ANON, DESK, CAF, ADMIN, ELECTED = "anonymous", "desk", "caf", "admin", "elected"
COMMUNE = ("commune",)


@dataclass(frozen=True)
class Route:
    role: str  # a client of the kit (tests/property/conftest.py) allowed to open the page
    url: str  # a valid address; "{request}", "{alert}"...: an id of kit.ids
    params: tuple[str, ...] = ()  # the query parameters the view reads


# Keyed by the rule of the url_map (an endpoint may have two rules).
ROUTES: dict[str, Route] = {
    "/": Route(ANON, "/", COMMUNE),
    "/commune": Route(ANON, "/commune?q=Bruy", ("q", "need", "via")),
    "/themes": Route(ANON, "/themes?commune=88078", COMMUNE),
    "/themes/<slug>": Route(ANON, "/themes/papiers-citoyennete?commune=88078", COMMUNE),
    "/questions/<slug>": Route(ANON, "/questions/identite?commune=88078", COMMUNE),
    "/orientation": Route(
        ANON, "/orientation?need=aide-logement&commune=88078", ("need", "commune", "at", "via")
    ),
    "/orientation/fiche": Route(
        ANON, "/orientation/fiche?need=aide-logement&commune=88078", ("need", "commune", "at")
    ),
    "/recherche": Route(ANON, "/recherche?q=aide+au+logement&commune=88078", ("q", "commune")),
    "/recherche/suggestions": Route(ANON, "/recherche/suggestions?q=apl", ("q", "commune")),
    "/organismes/<slug>": Route(ANON, "/organismes/caf-vosges", ("at", "commune")),
    "/organismes/<slug>.ics": Route(ANON, "/organismes/caf-vosges.ics"),
    "/lieux/<slug>": Route(ANON, "/lieux/mairie-88078", ("at", "commune")),
    "/lieux/<slug>.ics": Route(ANON, "/lieux/mairie-88078.ics"),
    "/lieux/<slug>/signaler": Route(ANON, "/lieux/mairie-88078/signaler", COMMUNE),
    "/lieux/<slug>/signaler/merci": Route(ANON, "/lieux/mairie-88078/signaler/merci", COMMUNE),
    "/communes/<insee>": Route(ANON, "/communes/88078", COMMUNE),
    "/communes/<insee>/alertes.atom": Route(ANON, "/communes/88078/alertes.atom"),
    "/sources": Route(ANON, "/sources", COMMUNE),
    "/healthz": Route(ANON, "/healthz"),
    "/carte": Route(ANON, "/carte?commune=88078", ("commune", "q", "at", "kind")),
    "/catalogue": Route(ANON, "/catalogue?commune=88078", COMMUNE),
    "/catalogue/<code>": Route(ANON, "/catalogue/N19810?commune=88078", COMMUNE),
    "/static/<path:filename>": Route(ANON, "/static/css/app.css"),
    "/api/v1/communes": Route(ANON, "/api/v1/communes?q=Bruy", ("q", "limit")),
    "/api/v1/needs": Route(ANON, "/api/v1/needs?q=apl", ("q", "limit")),
    "/api/v1/needs/<slug>": Route(ANON, "/api/v1/needs/aide-logement"),
    "/api/v1/orientation": Route(
        ANON, "/api/v1/orientation?need=aide-logement&commune=88078", ("need", "commune", "at")
    ),
    "/donnees-personnelles": Route(ANON, "/donnees-personnelles"),
    # The resident screen: the desk's pairing page; the code form or the screen; its poll.
    "/ecran-usager": Route(DESK, "/ecran-usager"),
    "/ecran": Route(ANON, "/ecran"),
    "/ecran/etat": Route(ANON, "/ecran/etat"),
    "/accessibilite": Route(ANON, "/accessibilite", COMMUNE),
    # Accounts.
    "/connexion": Route(ANON, "/connexion", ("next",)),
    "/mot-de-passe-oublie": Route(ANON, "/mot-de-passe-oublie"),
    "/mot-de-passe/<token>": Route(ANON, "/mot-de-passe/{reset}"),
    "/compte": Route(DESK, "/compte"),
    "/partenaires": Route(DESK, "/partenaires", ("type",)),
    # The desk's requests and the partner's inbox.
    "/demandes": Route(DESK, "/demandes", ("statut", "age")),
    "/demandes/nouvelle": Route(
        DESK, "/demandes/nouvelle?need=aide-logement&commune=88078", ("need", "commune")
    ),
    "/demandes/<int:request_id>": Route(DESK, "/demandes/{request}"),
    "/demandes/<int:request_id>/confirmation": Route(DESK, "/demandes/{request}/confirmation"),
    "/partenaire/demandes": Route(CAF, "/partenaire/demandes", ("statut", "age")),
    "/partenaire/demandes/<int:request_id>": Route(CAF, "/partenaire/demandes/{request}"),
    # Dashboard.
    "/tableau-de-bord": Route(ELECTED, "/tableau-de-bord", ("territoire", "periode", "du", "au")),
    "/tableau-de-bord/export/<key>.csv": Route(
        ELECTED, "/tableau-de-bord/export/communes.csv", ("territoire", "periode", "du", "au")
    ),
    "/partage/<token>": Route(ANON, "/partage/{share}"),
    # Local alerts and ateliers.
    "/gestion/alertes": Route(DESK, "/gestion/alertes"),
    "/gestion/alertes/nouvelle": Route(DESK, "/gestion/alertes/nouvelle"),
    "/gestion/alertes/<int:alert_id>": Route(DESK, "/gestion/alertes/{alert}"),
    "/gestion/ateliers": Route(CAF, "/gestion/ateliers"),
    "/gestion/ateliers/nouveau": Route(CAF, "/gestion/ateliers/nouveau"),
    "/gestion/ateliers/<int:atelier_id>": Route(CAF, "/gestion/ateliers/{atelier}"),
    # Directory administration.
    "/gestion": Route(ADMIN, "/gestion", ("q", "type", "page")),
    "/gestion/historique": Route(ADMIN, "/gestion/historique"),
    "/gestion/horaires/apercu": Route(
        CAF, "/gestion/horaires/apercu?opening_hours=Mo-Fr+09:00-12:00",
        ("opening_hours", "schedule", "lieu"),
    ),
    "/gestion/organismes/nouveau": Route(ADMIN, "/gestion/organismes/nouveau"),
    "/gestion/organismes/<slug>": Route(CAF, "/gestion/organismes/caf-vosges"),
    "/gestion/organismes/<slug>/modifier": Route(CAF, "/gestion/organismes/caf-vosges/modifier"),
    "/gestion/organismes/<body_slug>/lieux/nouveau": Route(
        CAF, "/gestion/organismes/caf-vosges/lieux/nouveau"
    ),
    "/gestion/organismes/<body_slug>/permanences/nouvelle": Route(
        CAF, "/gestion/organismes/caf-vosges/permanences/nouvelle"
    ),
    "/gestion/permanences/<int:permanence_id>": Route(CAF, "/gestion/permanences/{permanence}"),
    "/gestion/lieux/<slug>": Route(CAF, "/gestion/lieux/caf-vosges-epinal"),
    "/gestion/lieux/<slug>/modifier": Route(CAF, "/gestion/lieux/caf-vosges-epinal/modifier"),
    "/gestion/lieux/<slug>/fermetures/nouvelle": Route(
        CAF, "/gestion/lieux/caf-vosges-epinal/fermetures/nouvelle"
    ),
    "/gestion/lieux/<slug>/fermetures/<int:closure_id>": Route(
        CAF, "/gestion/lieux/caf-vosges-epinal/fermetures/{closure}"
    ),
    # Administration.
    "/admin": Route(ADMIN, "/admin"),
    "/admin/recherche": Route(ADMIN, "/admin/recherche?q=apl", ("q",)),
    "/admin/recherches-sans-resultat": Route(ADMIN, "/admin/recherches-sans-resultat"),
    "/admin/fraicheur": Route(ADMIN, "/admin/fraicheur", ("type", "page")),
    "/admin/signalements": Route(ADMIN, "/admin/signalements"),
    "/admin/lieux-mediation": Route(ADMIN, "/admin/lieux-mediation"),
    "/admin/lieux-mediation/export.csv": Route(
        ADMIN, "/admin/lieux-mediation/export.csv", ("kind",)
    ),
    "/admin/seeds.zip": Route(ADMIN, "/admin/seeds.zip"),
    "/admin/donnees-personnelles": Route(ADMIN, "/admin/donnees-personnelles"),
    "/admin/arbre": Route(ADMIN, "/admin/arbre", ("q",)),
    "/admin/arbre/themes/<slug>": Route(ADMIN, "/admin/arbre/themes/logement"),
    "/admin/arbre/questions/<slug>": Route(ADMIN, "/admin/arbre/questions/identite"),
    "/admin/arbre/reponses/<int:answer_id>/question": Route(
        ADMIN, "/admin/arbre/reponses/{answer}/question"
    ),
    "/admin/arbre/besoins/nouveau": Route(ADMIN, "/admin/arbre/besoins/nouveau", ("q", "commune")),
    "/admin/arbre/besoins/<slug>": Route(
        ADMIN, "/admin/arbre/besoins/aide-logement", ("q", "commune")
    ),
}  # fmt: skip

# GET routes deliberately left out, each with its reason. None today.
EXCLUDED: dict[str, str] = {}


def _get_rules() -> dict:
    """The GET rules of the url_map (the app is only built, not used)."""
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "collect"}
    )
    return {r.rule: r for r in app.url_map.iter_rules() if "GET" in r.methods}


GET_RULES = _get_rules()


def test_every_get_route_is_in_the_table():
    missing = sorted(set(GET_RULES) - set(ROUTES) - set(EXCLUDED))
    assert not missing, (
        f"GET routes missing from ROUTES in {__file__}: {missing}. Say who may open them, "
        "at which address, and which query parameters the view reads."
    )
    stale = sorted((set(ROUTES) | set(EXCLUDED)) - set(GET_RULES))
    assert not stale, f"rows for routes that no longer exist: {stale}"


@pytest.mark.parametrize("rule", sorted(set(GET_RULES) - set(EXCLUDED)))
def test_bad_query_and_path_input_never_breaks_a_page(kit, rule):
    route = ROUTES.get(rule)
    if route is None:
        pytest.fail(f"GET route {rule} has no row in ROUTES ({__file__})")
    client = kit.clients[route.role]
    valid = route.url.format(**kit.ids)
    valid_path, _, valid_query = valid.partition("?")
    api = rule.startswith("/api/")
    rule_object = GET_RULES[rule]
    has_arguments = bool(rule_object.arguments)

    def check(path: str | None, pairs: list[tuple[str, str]], keep: bool, htmx: bool) -> None:
        query = fuzz.query_string(pairs)
        if keep and valid_query:
            query = f"{valid_query}&{query}" if query else valid_query
        headers = {"HX-Request": "true", "HX-Target": "commune-results"} if htmx else {}
        response = client.get(path or valid_path, query_string=query, headers=headers)
        why = fuzz.problem(response, api)
        response.close()  # a static file stays open otherwise
        assert why is None, f"GET {path or valid_path}?{query[:300]}: {why}"

    paths = fuzz.path_strategy(rule_object) if has_arguments else st.none()
    test = given(
        path=st.none() | paths,
        pairs=fuzz.pairs_for(route.params),
        keep=st.booleans(),
        htmx=st.booleans(),
    )(check)
    # Nothing to fuzz but stray parameters: a few draws are enough (seeds.zip is slow).
    fixed = not route.params and not has_arguments
    if fixed:
        test = settings(max_examples=max(1, settings().max_examples // 4))(test)
    names = route.params or ("q",)
    for nasty in fuzz.EXAMPLES[:2] if fixed else fuzz.EXAMPLES:
        test = example(path=None, pairs=[(n, nasty) for n in names], keep=True, htmx=False)(test)
    for nasty in fuzz.PATH_EXAMPLES:
        if has_arguments and (path := fuzz.nasty_path(rule_object, nasty)):
            test = example(path=path, pairs=[], keep=True, htmx=False)(test)
    test()
