"""Who may open what: every role x every route of the application, with the status it gets.

The routes come from ``app.url_map``: a route added without a row in ``CASES`` fails
``test_every_route_is_classified``. One request is sent by the Bruyères desk to the CAF
(through the service) so that the routes with an id have a real one to open. Then, for
each (role, route) pair, its own test: the status, where a redirect goes, and that a page
served to someone who does not handle the request never shows the resident's details.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from proxiservices.domain.hours import PARIS
from proxiservices.domain.residents import format_phone
from proxiservices.extensions import db
from proxiservices.models import AppointmentRequest, RequestEvent, User
from proxiservices.services import requests as service
from proxiservices.services.directory import get_body
from proxiservices.services.needs import get_need
from tests.plugins.accounts import csrf_token, login, make_user
from tests.web.html import main_content, text_of

ANONYMOUS = "anonymous"
DESK = "receptionist"  # agent d'accueil of the mairie of Bruyères, which sent the request
OTHER_DESK = "receptionist_other_desk"  # agent d'accueil of the mairie of Épinal
CAF = "partner_caf"  # the body the request was sent to
CPAM = "partner_cpam"  # another partner body
ELECTED = "elected"
ADMIN = "admin"
ROLES = (ANONYMOUS, DESK, OTHER_DESK, CAF, CPAM, ELECTED, ADMIN)
LOGGED_IN = ROLES[1:]

ACCOUNTS = {
    DESK: ("receptionist", {"commune_insee": "88078"}),
    OTHER_DESK: ("receptionist", {"commune_insee": "88160"}),
    CAF: ("partner", {"body_slug": "caf-vosges"}),
    CPAM: ("partner", {"body_slug": "cpam-vosges"}),
    ELECTED: ("elected", {"territory_code": "88078"}),
    ADMIN: ("admin", {}),
}
# Those who handle the request and so may see who the resident is.
HANDLERS = frozenset({DESK, CAF, ADMIN})

RESIDENT = service.ResidentContact(
    name="Jeanne Matricielle",
    phone="0687654321",
    email="jeanne.matricielle@example.net",
    channel="phone",
    time_slots=["morning"],
    message="Dossier d'aide au logement bloqué depuis deux mois.",
)
NEW_URL = "/demandes/nouvelle?need=aide-logement&commune=88078"
LOGIN_PATH = "/connexion"
# Where a logged-in visitor of the login page is sent: the orientation for the desks.
LANDING = {role: "/" if role in (DESK, OTHER_DESK) else "/compte" for role in LOGGED_IN}


# --- the policy -------------------------------------------------------------------------


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def logged_in(status: int) -> dict[str, int]:
    return {ANONYMOUS: 302, **dict.fromkeys(LOGGED_IN, status)}


def admin_only() -> dict[str, int]:
    return {**logged_in(403), ADMIN: 200}


def desk_side(own: int, other_desk: int, admin: int) -> dict[str, int]:
    """The desk's pages (/demandes...): partners and elected members are refused."""
    return {
        ANONYMOUS: 302,
        DESK: own,
        OTHER_DESK: other_desk,
        CAF: 403,
        CPAM: 403,
        ELECTED: 403,
        ADMIN: admin,
    }


def partner_side(own: int, other_body: int, admin: int) -> dict[str, int]:
    """The partner's inbox (/partenaire/...): desks and elected members are refused."""
    return {
        ANONYMOUS: 302,
        DESK: 403,
        OTHER_DESK: 403,
        CAF: own,
        CPAM: other_body,
        ELECTED: 403,
        ADMIN: admin,
    }


@dataclass(frozen=True)
class Case:
    endpoint: str
    url: str  # "{id}": the CAF request; "{missing}": an id that no request has
    expected: Mapping[str, int]
    method: str = "GET"
    label: str = ""  # tells apart the cases of one endpoint in the test ids
    data: Mapping[str, str] = field(default_factory=dict)
    goes_to: Mapping[str, str] = field(default_factory=dict)  # role -> redirect path
    fresh_client: bool = False  # the call ends the account's sessions: a client of its own

    @property
    def name(self) -> str:
        return f"{self.endpoint}({self.label})" if self.label else self.endpoint


PUBLIC = everyone(200)
CASES = [
    # Orientation, directory, search and API: for everyone, logged in or not.
    Case("orientation.home", "/", PUBLIC),
    Case("orientation.choose_commune", "/commune?q=Bruy%C3%A8res", PUBLIC),
    Case("orientation.themes", "/themes?commune=88078", PUBLIC),
    Case("orientation.theme", "/themes/papiers-citoyennete?commune=88078", PUBLIC),
    Case("orientation.question", "/questions/identite?commune=88078", PUBLIC),
    Case("orientation.result", "/orientation?need=aide-logement&commune=88078", PUBLIC),
    Case("orientation.fiche", "/orientation/fiche?need=aide-logement&commune=88078", PUBLIC),
    Case("search.results", "/recherche?q=aide+au+logement&commune=88078", PUBLIC),
    Case("search.suggestions", "/recherche/suggestions?q=aide+au+logement", everyone(302),
         label="without htmx, the results page",
         goes_to=dict.fromkeys(ROLES, "/recherche")),
    Case("directory.body", "/organismes/caf-vosges", PUBLIC),
    Case("directory.site", "/lieux/mairie-88078", PUBLIC),
    Case("directory.commune_sites", "/communes/88078", PUBLIC),
    Case("directory.sources", "/sources", PUBLIC),
    Case("healthz", "/healthz", PUBLIC),
    Case("map.page", "/carte?commune=88078", PUBLIC),
    Case("catalogue.index", "/catalogue?commune=88078", PUBLIC),
    Case("catalogue.theme", "/catalogue/N19810?commune=88078", PUBLIC),
    Case("api.communes", "/api/v1/communes?q=Bruy", PUBLIC),
    Case("api.needs", "/api/v1/needs?q=aide+au+logement", PUBLIC),
    Case("api.need", "/api/v1/needs/aide-logement", PUBLIC),
    Case("api.orientation", "/api/v1/orientation?need=aide-logement&commune=88078", PUBLIC),
    # Accounts. A logged-in visitor of the login page is sent on to its landing page.
    Case("accounts.login", LOGIN_PATH, {ANONYMOUS: 200, **dict.fromkeys(LOGGED_IN, 302)},
         goes_to=LANDING),
    Case("accounts.login", LOGIN_PATH, everyone(422), method="POST", label="POST"),
    Case("accounts.logout", "/deconnexion", everyone(302), method="POST",
         goes_to=dict.fromkeys(ROLES, LOGIN_PATH), fresh_client=True),
    Case("accounts.forgot_password", "/mot-de-passe-oublie", PUBLIC),
    Case("accounts.forgot_password", "/mot-de-passe-oublie", everyone(422), method="POST",
         label="POST"),
    Case("accounts.reset", "/mot-de-passe/lien-invente-0123456789", everyone(404)),
    Case("accounts.reset", "/mot-de-passe/lien-invente-0123456789", everyone(404),
         method="POST", label="POST"),
    Case("accounts.account", "/compte", logged_in(200)),
    Case("accounts.account_password", "/compte/mot-de-passe", logged_in(422), method="POST"),
    # The partners' who's who: staff who deal with partners, not elected members.
    Case("staff.directory", "/partenaires", {**logged_in(200), ELECTED: 403}),
    # Administration: search explained and unanswered searches, administrators only.
    Case("admin.index", "/admin", admin_only()),
    Case("admin.search_debug", "/admin/recherche?q=apl", admin_only()),
    Case("admin.unanswered", "/admin/recherches-sans-resultat", admin_only()),
    # The resident screen: desks (and administrators) pair screens; the screen side needs
    # no login. A wrong code is refused (422); the poll without htmx goes to the screen.
    Case("screen.desk", "/ecran-usager", desk_side(200, 200, 200)),
    Case("screen.new_code", "/ecran-usager/code", desk_side(303, 303, 303), method="POST",
         goes_to=dict.fromkeys((DESK, OTHER_DESK, ADMIN), "/ecran-usager")),
    Case("screen.open_window", "/ecran-usager/fenetre", desk_side(303, 303, 303),
         method="POST", goes_to=dict.fromkeys((DESK, OTHER_DESK, ADMIN), "/ecran")),
    Case("screen.end", "/ecran-usager/terminer", desk_side(303, 303, 303), method="POST",
         goes_to=dict.fromkeys((DESK, OTHER_DESK, ADMIN), "/ecran-usager")),
    Case("screen.screen", "/ecran", PUBLIC),
    Case("screen.pair", "/ecran", everyone(422), method="POST", label="wrong code",
         data={"code": "AAAAAA"}),
    Case("screen.state", "/ecran/etat", everyone(302), label="without htmx",
         goes_to=dict.fromkeys(ROLES, "/ecran")),
    # Personal data: the public notice; a resident's data, administrators only. The POSTs
    # name no resident: 422, nothing exported nor erased.
    Case("privacy.notice", "/donnees-personnelles", PUBLIC),
    Case("accessibility.statement", "/accessibilite", PUBLIC),
    Case("privacy.lookup", "/admin/donnees-personnelles", admin_only()),
    Case("privacy.lookup", "/admin/donnees-personnelles", {**logged_in(403), ADMIN: 422},
         method="POST", label="POST without a resident"),
    Case("privacy.export", "/admin/donnees-personnelles/export",
         {**logged_in(403), ADMIN: 422}, method="POST", label="without a resident"),
    Case("privacy.erase", "/admin/donnees-personnelles/effacer",
         {**logged_in(403), ADMIN: 422}, method="POST", label="without a resident",
         data={"confirm": "y"}),
    # Freshness loop: anyone reports an error on a site (an empty report is refused, 422);
    # stale sites, dead links and the queue of reports are for administrators (unknown ids).
    Case("upkeep.report_error", "/lieux/mairie-88078/signaler", PUBLIC),
    Case("upkeep.report_error", "/lieux/mairie-88078/signaler", everyone(422), method="POST",
         label="POST"),
    Case("upkeep.report_thanks", "/lieux/mairie-88078/signaler/merci", PUBLIC),
    Case("upkeep.freshness", "/admin/fraicheur", admin_only()),
    Case("upkeep.mark_verified", "/admin/fraicheur/lieux/999999/verifie",
         {**logged_in(403), ADMIN: 404}, method="POST", label="unknown-id"),
    Case("upkeep.reports", "/admin/signalements", admin_only()),
    Case("upkeep.resolve_report", "/admin/signalements/999999",
         {**logged_in(403), ADMIN: 404}, method="POST", label="unknown-id"),
    # Open formats: mediation places CSV import/export and the seed files, administrators only.
    Case("open_data.index", "/admin/lieux-mediation", admin_only()),
    Case("open_data.upload", "/admin/lieux-mediation", {**logged_in(403), ADMIN: 422},
         method="POST", label="without a file"),
    Case("open_data.export_csv", "/admin/lieux-mediation/export.csv?kind=CAF", admin_only()),
    Case("open_data.seeds_archive", "/admin/seeds.zip", admin_only()),
    # The decision tree administration. The POSTs are incomplete forms: 422, nothing saved.
    Case("tree_admin.overview", "/admin/arbre", admin_only()),
    Case("tree_admin.theme", "/admin/arbre/themes/logement", admin_only()),
    Case("tree_admin.theme", "/admin/arbre/themes/logement", {**admin_only(), ADMIN: 422},
         method="POST", label="POST"),
    Case("tree_admin.question", "/admin/arbre/questions/identite", admin_only()),
    Case("tree_admin.question", "/admin/arbre/questions/identite",
         {**admin_only(), ADMIN: 422}, method="POST", label="POST"),
    Case("tree_admin.insert_question", "/admin/arbre/reponses/999999/question",
         {**admin_only(), ADMIN: 404}, label="unknown-id"),
    Case("tree_admin.insert_question", "/admin/arbre/reponses/999999/question",
         {**admin_only(), ADMIN: 404}, method="POST", label="unknown-id POST"),
    Case("tree_admin.new_need", "/admin/arbre/besoins/nouveau", admin_only()),
    Case("tree_admin.new_need", "/admin/arbre/besoins/nouveau", {**admin_only(), ADMIN: 422},
         method="POST", label="POST"),
    Case("tree_admin.need", "/admin/arbre/besoins/aide-logement?q=apl&commune=88078",
         admin_only()),
    Case("tree_admin.need", "/admin/arbre/besoins/aide-logement", {**admin_only(), ADMIN: 422},
         method="POST", label="POST"),
    Case("tree_admin.vocabulary", "/admin/arbre/besoins/aide-logement/vocabulaire",
         {**admin_only(), ADMIN: 422}, method="POST", data={"keywords": "mot " * 60}),
    # The desk's requests. An administrator has no desk, so it cannot send one itself.
    Case("requests.desk", "/demandes", desk_side(200, 200, 200)),
    Case("requests.new", NEW_URL, desk_side(200, 200, 403)),
    Case("requests.new", NEW_URL, desk_side(422, 422, 403), method="POST", label="POST"),
    Case("requests.detail", "/demandes/{id}", desk_side(200, 404, 200)),
    Case("requests.detail", "/demandes/{missing}", desk_side(404, 404, 404),
         label="unknown-id"),
    Case("requests.confirmation", "/demandes/{id}/confirmation", desk_side(200, 404, 200)),
    Case("requests.confirmation", "/demandes/{missing}/confirmation",
         desk_side(404, 404, 404), label="unknown-id"),
    Case("requests.cancel", "/demandes/{id}/annuler", desk_side(422, 404, 422),
         method="POST"),
    Case("requests.cancel", "/demandes/{missing}/annuler", desk_side(404, 404, 404),
         method="POST", label="unknown-id"),
    # The partner's inbox.
    Case("inbox.inbox", "/partenaire/demandes", partner_side(200, 200, 200)),
    Case("inbox.detail", "/partenaire/demandes/{id}", partner_side(200, 404, 200)),
    Case("inbox.detail", "/partenaire/demandes/{missing}", partner_side(404, 404, 404),
         label="unknown-id"),
    # Refusing without the required reason: the form comes back, nothing changes.
    Case("inbox.act", "/partenaire/demandes/{id}/refuse", partner_side(422, 404, 422),
         method="POST"),
    Case("inbox.act", "/partenaire/demandes/{missing}/take", partner_side(404, 404, 404),
         method="POST", label="unknown-id"),
    Case("inbox.act", "/partenaire/demandes/{id}/supprimer", partner_side(404, 404, 404),
         method="POST", label="unknown-action"),
    # The elected members' dashboard (the élu of Bruyères) and its share links.
    Case("dashboard.index", "/tableau-de-bord", {**logged_in(403), ELECTED: 200, ADMIN: 200}),
    Case("dashboard.export", "/tableau-de-bord/export/communes.csv",
         {**logged_in(403), ELECTED: 200, ADMIN: 200}),
    Case("dashboard.create_share", "/tableau-de-bord/partages",
         {**logged_in(403), ELECTED: 400, ADMIN: 400}, method="POST",
         label="without a validity"),
    Case("dashboard.revoke_share", "/tableau-de-bord/partages/999999/revoquer",
         {**logged_in(403), ELECTED: 404, ADMIN: 404}, method="POST"),
    Case("dashboard.shared", "/partage/lien-invente-0123456789", everyone(404)),
    # A visit's outcome: only the desk that saw it (none has this id).
    Case("dashboard.visit_outcome", "/visites/999999/issue",
         {**desk_side(404, 404, 404), ELECTED: 403}, method="POST",
         data={"outcome": "autonomous"}),
    # Local alerts: desks for their own commune, administrators anywhere (issue 5).
    Case("local_info.alerts", "/gestion/alertes", desk_side(200, 200, 200)),
    Case("local_info.new_alert", "/gestion/alertes/nouvelle", desk_side(200, 200, 200)),
    Case("local_info.new_alert", "/gestion/alertes/nouvelle", desk_side(422, 422, 422),
         method="POST", label="POST"),
    Case("local_info.edit_alert", "/gestion/alertes/999999", desk_side(404, 404, 404),
         label="unknown-id"),
    Case("local_info.edit_alert", "/gestion/alertes/999999", desk_side(404, 404, 404),
         method="POST", label="unknown-id POST"),
    Case("local_info.delete_alert", "/gestion/alertes/999999/supprimer",
         desk_side(404, 404, 404), method="POST", label="unknown-id"),
    Case("local_info.commune_alerts_feed", "/communes/88078/alertes.atom", PUBLIC),
    # Ateliers: partners for their own body, administrators for all.
    Case("local_info.ateliers", "/gestion/ateliers", partner_side(200, 200, 200)),
    Case("local_info.new_atelier", "/gestion/ateliers/nouveau", partner_side(200, 200, 200)),
    Case("local_info.new_atelier", "/gestion/ateliers/nouveau", partner_side(422, 422, 422),
         method="POST", label="POST"),
    Case("local_info.edit_atelier", "/gestion/ateliers/999999", partner_side(404, 404, 404),
         label="unknown-id"),
    Case("local_info.edit_atelier", "/gestion/ateliers/999999", partner_side(404, 404, 404),
         method="POST", label="unknown-id POST"),
    Case("local_info.delete_atelier", "/gestion/ateliers/999999/supprimer",
         partner_side(404, 404, 404), method="POST", label="unknown-id"),
    # Calendar feeds of a site and of a body: public.
    Case("local_info.site_calendar", "/lieux/mairie-88078.ics", PUBLIC),
    Case("local_info.body_calendar", "/organismes/caf-vosges.ics", PUBLIC),
    # Directory administration (/gestion): partners for their own body (the CAF's pages),
    # administrators for all. The POSTs are incomplete forms or unknown ids: nothing saved.
    Case("manage.index", "/gestion", partner_side(200, 200, 200)),
    Case("manage.history", "/gestion/historique", admin_only()),
    Case("manage.hours_preview", "/gestion/horaires/apercu?opening_hours=Mo-Fr+09:00-12:00",
         partner_side(200, 200, 200)),
    Case("manage.body", "/gestion/organismes/caf-vosges", partner_side(200, 403, 200)),
    Case("manage.body", "/gestion/organismes/organisme-invente", partner_side(404, 404, 404),
         label="unknown-slug"),
    Case("manage.body_form", "/gestion/organismes/caf-vosges/modifier",
         partner_side(200, 403, 200)),
    Case("manage.body_form", "/gestion/organismes/nouveau", partner_side(403, 403, 200),
         label="new"),
    Case("manage.body_form", "/gestion/organismes/caf-vosges/modifier",
         partner_side(422, 403, 422), method="POST", label="POST",
         data={"phone": "pas un numéro"}),
    Case("manage.body_form", "/gestion/organismes/nouveau", partner_side(403, 403, 422),
         method="POST", label="new POST"),
    Case("manage.site", "/gestion/lieux/caf-vosges-epinal", partner_side(200, 403, 200)),
    Case("manage.site", "/gestion/lieux/lieu-invente", partner_side(404, 404, 404),
         label="unknown-slug"),
    Case("manage.site_form", "/gestion/lieux/caf-vosges-epinal/modifier",
         partner_side(200, 403, 200)),
    Case("manage.site_form", "/gestion/organismes/caf-vosges/lieux/nouveau",
         partner_side(200, 403, 200), label="new"),
    Case("manage.site_form", "/gestion/lieux/caf-vosges-epinal/modifier",
         partner_side(422, 403, 422), method="POST", label="POST"),
    Case("manage.delete_site", "/gestion/lieux/lieu-invente/supprimer",
         partner_side(404, 404, 404), method="POST", label="unknown-slug"),
    Case("manage.closure_form", "/gestion/lieux/caf-vosges-epinal/fermetures/nouvelle",
         partner_side(200, 403, 200)),
    Case("manage.closure_form", "/gestion/lieux/caf-vosges-epinal/fermetures/999999",
         partner_side(404, 403, 404), label="unknown-id"),
    Case("manage.closure_form", "/gestion/lieux/caf-vosges-epinal/fermetures/nouvelle",
         partner_side(422, 403, 422), method="POST", label="POST"),
    Case("manage.delete_closure", "/gestion/lieux/caf-vosges-epinal/fermetures/999999/supprimer",
         partner_side(404, 403, 404), method="POST", label="unknown-id"),
    Case("manage.permanence_form", "/gestion/organismes/caf-vosges/permanences/nouvelle",
         partner_side(200, 403, 200)),
    Case("manage.permanence_form", "/gestion/permanences/999999", partner_side(404, 404, 404),
         label="unknown-id"),
    Case("manage.permanence_form", "/gestion/organismes/caf-vosges/permanences/nouvelle",
         partner_side(422, 403, 422), method="POST", label="POST"),
    Case("manage.delete_permanence", "/gestion/permanences/999999/supprimer",
         partner_side(404, 404, 404), method="POST", label="unknown-id"),
]  # fmt: skip

MATRIX = [pytest.param(role, case, id=f"{role}-{case.name}") for case in CASES for role in ROLES]


# --- the people and the request ----------------------------------------------------------


@pytest.fixture(scope="module")
def world(workspace):
    """One account per role (made once: scrypt is slow on purpose), one logged-in client
    each, and the request the Bruyères desk sent to the CAF."""
    app = workspace
    users = {role: make_user(app, kind, **extra) for role, (kind, extra) in ACCOUNTS.items()}
    with app.app_context():
        desk = db.session.get(User, users[DESK].id)
        sent = service.submit_request(
            actor=desk,
            need=get_need("aide-logement"),
            commune=desk.site.commune,
            body=get_body("caf-vosges"),
            contact=RESIDENT,
            at=datetime.now(PARIS),
        )
        request_id = sent.id
        db.session.remove()

    def new_client(role: str, own_account: bool = False):
        """A logged-in client; with its own account of the role when the call ends every
        session of the account (logging out does)."""
        client = app.test_client()
        if role != ANONYMOUS:
            email = users[role].email
            if own_account:
                kind, extra = ACCOUNTS[role]
                email = make_user(app, kind, **extra).email
            response = login(client, email)
            assert response.status_code == 302, f"{role} could not log in"
        return client

    clients = {role: new_client(role) for role in ROLES}
    return SimpleNamespace(
        app=app,
        users=users,
        request_id=request_id,
        clients=clients,
        tokens={role: csrf_token(client, _token_page(role)) for role, client in clients.items()},
        new_client=new_client,
    )


def request_state(app, request_id: int) -> tuple[str, int]:
    with app.app_context():
        status = db.session.get(AppointmentRequest, request_id).status
        events = db.session.scalar(
            select(func.count(RequestEvent.id)).where(RequestEvent.request_id == request_id)
        )
        db.session.remove()
    return status, events


def resident_traces(html: str) -> list[str]:
    """The resident's details found in a page, in any of the forms they could be shown."""
    text = text_of(html)
    details = [
        RESIDENT.name,
        RESIDENT.phone,
        format_phone(RESIDENT.phone),
        RESIDENT.email,
        RESIDENT.message,
    ]
    return [d for d in details if d in html or d in text]


def check_redirect(response, role: str, case: Case, url: str) -> None:
    location = urlsplit(response.headers["Location"])
    assert location.scheme in ("", "http") and location.netloc in ("", "localhost"), (
        f"redirect off the site: {response.headers['Location']}"
    )
    if role in case.goes_to:
        assert location.path == case.goes_to[role], response.headers["Location"]
        return
    assert role == ANONYMOUS, f"{role} redirected to {response.headers['Location']}"
    # Anonymous visitors are sent to the login page, which brings them back afterwards to
    # the page they asked for (a posted form has none: coming back by GET would be a 405).
    assert location.path == LOGIN_PATH, response.headers["Location"]
    if case.method == "POST":
        assert "next" not in parse_qs(location.query), response.headers["Location"]
        return
    (next_url,) = parse_qs(location.query)["next"]
    assert next_url == url, f"next={next_url!r}, expected the page asked for: {url!r}"
    assert next_url.startswith("/") and not next_url.startswith("//")


# --- the tests ---------------------------------------------------------------------------


def test_every_route_is_classified(workspace):
    """Each (endpoint, method) of the url_map has its row in CASES, and no row is stale."""
    routes = {
        (rule.endpoint, method)
        for rule in workspace.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods & {"GET", "POST"}
    }
    covered = {(case.endpoint, case.method) for case in CASES}
    missing = sorted(routes - covered)
    stale = sorted(covered - routes)
    assert not missing, (
        "routes without a row in the access matrix (add a Case with the expected status "
        f"for each role): {', '.join(f'{e} {m}' for e, m in missing)}"
    )
    assert not stale, f"rows for routes that no longer exist: {stale}"
    for case in CASES:
        assert set(case.expected) == set(ROLES), f"{case.name}: a role has no expected status"


def _token_page(role: str) -> str:
    """A page carrying the session's CSRF token: any page of a signed-in person (htmx's
    header), the login form for a visitor."""
    return "/connexion" if role == ANONYMOUS else "/"


@pytest.mark.parametrize(("role", "case"), MATRIX)
def test_access(world, role, case):
    url = case.url.format(id=world.request_id, missing=world.request_id + 100_000)
    expected = case.expected[role]
    if case.fresh_client:
        client = world.new_client(role, own_account=True)
        token = csrf_token(client, _token_page(role))
    else:
        client, token = world.clients[role], world.tokens[role]
    if case.method == "GET":
        response = client.get(url)
    else:
        before = request_state(world.app, world.request_id)
        response = client.post(url, data={**case.data, "csrf_token": token})
        # No POST of the matrix is a complete, allowed action: the request stays as it was.
        assert request_state(world.app, world.request_id) == before
    body = response.get_data().decode("utf-8", "replace")  # a download may be binary (zip)
    assert response.status_code == expected, (
        f"{role} {case.method} {url}: {response.status_code}, expected {expected}\n"
        f"{text_of(body)[:600]}"
    )
    if response.status_code in (301, 302, 303, 307, 308):
        check_redirect(response, role, case, url)
    if role not in HANDLERS:
        assert not resident_traces(body), f"{role} sees the resident on {url}"


def test_pages_of_the_handlers_do_show_the_resident(world):
    """The privacy check above would prove nothing if the details were never shown."""
    rid = world.request_id
    desk_page = world.clients[DESK].get(f"/demandes/{rid}").get_data(as_text=True)
    assert RESIDENT.name in text_of(main_content(desk_page))
    partner_page = world.clients[CAF].get(f"/partenaire/demandes/{rid}").get_data(as_text=True)
    partner_text = text_of(main_content(partner_page))
    assert RESIDENT.name in partner_text
    assert format_phone(RESIDENT.phone) in partner_text


def test_the_resident_screen_never_shows_the_resident(world):
    """The desk that sent the request shows it, and its form, while a screen follows it:
    the screen keeps the orientation step and nothing of the resident."""
    rid = world.request_id
    desk = world.new_client(DESK)  # a session of its own: the shared one stays unpaired
    token = csrf_token(desk, "/ecran-usager")
    assert desk.post("/ecran-usager/fenetre", data={"csrf_token": token}).status_code == 303
    assert desk.get("/orientation?need=aide-logement&commune=88078").status_code == 200
    for page in (f"/demandes/{rid}", f"/demandes/{rid}/confirmation", NEW_URL, "/demandes"):
        assert desk.get(page).status_code == 200
        for screen in (desk.get("/ecran/etat", headers={"HX-Request": "true"}), desk.get("/ecran")):
            assert screen.status_code == 200
            assert not resident_traces(screen.get_data(as_text=True)), f"after {page}"
    assert "Où aller" in text_of(desk.get("/ecran").get_data(as_text=True))


@pytest.mark.parametrize(
    ("role", "path"),
    [
        (CPAM, "/partenaire/demandes/{}"),
        (OTHER_DESK, "/demandes/{}"),
        (OTHER_DESK, "/demandes/{}/confirmation"),
    ],
    ids=["partner_cpam-inbox.detail", "other_desk-requests.detail", "other_desk-confirmation"],
)
def test_another_bodys_request_looks_like_one_that_does_not_exist(world, role, path):
    """Guessing ids tells nothing: a request of someone else is answered exactly like an
    id that no request has, and no id of the range is readable."""
    client = world.clients[role]
    theirs = client.get(path.format(world.request_id))
    nobody = client.get(path.format(world.request_id + 100_000))
    assert theirs.status_code == nobody.status_code == 404
    assert main_content(theirs.get_data(as_text=True)) == main_content(
        nobody.get_data(as_text=True)
    )
    for guess in range(1, world.request_id + 5):
        assert client.get(path.format(guess)).status_code == 404, f"id {guess} readable"


@pytest.mark.parametrize(
    ("role", "path", "data", "expected"),
    [
        (CPAM, "/partenaire/demandes/{}/take", {}, 404),
        (CPAM, "/partenaire/demandes/{}/close", {}, 404),
        (CPAM, "/partenaire/demandes/{}/refuse", {"refuse-comment": "Pas chez nous"}, 404),
        (
            CPAM,
            "/partenaire/demandes/{}/schedule",
            {
                "schedule-day": "2099-01-05",
                "schedule-time": "10:00",
                "schedule-mode": "phone",
            },
            404,
        ),
        (OTHER_DESK, "/demandes/{}/annuler", {"comment": "L'usager est venu"}, 404),
        (DESK, "/partenaire/demandes/{}/take", {}, 403),
        (ELECTED, "/partenaire/demandes/{}/take", {}, 403),
        (ELECTED, "/demandes/{}/annuler", {"comment": "Par curiosité"}, 403),
        (CAF, "/demandes/{}/annuler", {"comment": "Ce n'est pas à nous"}, 403),
    ],
    ids=[
        "partner_cpam-take",
        "partner_cpam-close",
        "partner_cpam-refuse",
        "partner_cpam-schedule",
        "other_desk-cancel",
        "receptionist-take",
        "elected-take",
        "elected-cancel",
        "partner_caf-cancel",
    ],
)
def test_acting_on_someone_elses_request_changes_nothing(world, role, path, data, expected):
    """Valid forms, with a valid token, that would go through for the right actor."""
    before = request_state(world.app, world.request_id)
    response = world.clients[role].post(
        path.format(world.request_id), data={**data, "csrf_token": world.tokens[role]}
    )
    assert response.status_code == expected
    assert request_state(world.app, world.request_id) == before
