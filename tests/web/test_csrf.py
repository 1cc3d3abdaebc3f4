"""Every POST needs the form's CSRF token (or htmx's X-CSRFToken header) and changes nothing
without it.

The POST routes are read from ``app.url_map`` when the tests are collected: a new POST
route gets its tests at once, and they fail until ``SAMPLES`` says how to post to it. Each
sample is a POST that goes through with the right token (checked too, so that the refusal
is the token's doing and not the data's), posted again without it, with a wrong one, and
the htmx way without a valid header: 400, the French message, and the database unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

import pytest
from flask import Flask
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from proxiservices import create_app
from proxiservices.domain import lifecycle
from proxiservices.domain.hours import PARIS
from proxiservices.domain.statistics import parse_period
from proxiservices.extensions import db
from proxiservices.models import (
    ActivityEvent,
    AppointmentRequest,
    DashboardShare,
    LoginFailure,
    OutboxMessage,
    PasswordResetToken,
    RequestEvent,
    User,
)
from proxiservices.services import activity, dashboard
from proxiservices.services import requests as service
from proxiservices.services.directory import get_body
from proxiservices.services.needs import get_need
from proxiservices.web import CSRF_MESSAGE, ERROR_MESSAGES
from tests.plugins.accounts import PASSWORD, csrf_token, login, make_user
from tests.web import (
    local_info_csrf_samples,
    manage_csrf_samples,
    open_data_csrf_samples,
    privacy_csrf_samples,
    screen_csrf_samples,
    tree_admin_csrf_samples,
    upkeep_csrf_samples,
)
from tests.web.html import text_of

NEW_URL = "/demandes/nouvelle?need=aide-logement&commune=88078"
NEW_PASSWORD = "un tout nouveau mot de passe"
HX_HEADER = re.compile(r"hx-headers='\{\"X-CSRFToken\": \"([^\"]+)\"\}'")


def _post_endpoints() -> list[str]:
    """The endpoints of the url_map that accept POST (the app is only built, not used)."""
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "collect"}
    )
    return sorted({r.endpoint for r in app.url_map.iter_rules() if "POST" in r.methods})


POST_ENDPOINTS = _post_endpoints()


# --- the world the POSTs act on ------------------------------------------------------------


@pytest.fixture(scope="module")
def kit(workspace):
    """Accounts made once (scrypt is slow on purpose) with a logged-in client each, a
    reset link, and a way to make fresh requests from the Bruyères desk to the CAF.

    The clients are shared by the samples: a sample that logs out, or changes a password,
    does it with an account of its own, which ends no session of these."""
    app = workspace
    users = {
        "desk": make_user(app, "receptionist", commune_insee="88078"),
        "caf": make_user(app, "partner", body_slug="caf-vosges"),
        "admin": make_user(app, "admin"),
        "reset_target": make_user(app, "partner", body_slug="cpam-vosges"),
    }
    clients = {}
    for role in ("desk", "caf", "admin"):
        clients[role] = app.test_client()
        assert login(clients[role], users[role].email).status_code == 302
    return SimpleNamespace(
        app=app,
        users=users,
        clients=clients,
        tokens={role: csrf_token(client, "/") for role, client in clients.items()},
        reset_path=reset_path(app, users["reset_target"].email),
        # A genuine token, but of another visitor's session.
        foreign_token=csrf_token(app.test_client()),
    )


def reset_path(app: Flask, email: str) -> str:
    """A valid "/mot-de-passe/<token>" link, asked for on the page and read in the e-mail."""
    client = app.test_client()
    token = csrf_token(client, "/mot-de-passe-oublie")
    asked = client.post("/mot-de-passe-oublie", data={"email": email, "csrf_token": token})
    assert asked.status_code == 200
    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.body)
            .where(OutboxMessage.recipients == email)
            .order_by(OutboxMessage.id.desc())
        ).first()
        db.session.remove()
    return re.search(r"https?://[^/\s]+(/mot-de-passe/\S+)", body).group(1)


def new_request(kit) -> int:
    with kit.app.app_context():
        desk = db.session.get(User, kit.users["desk"].id)
        sent = service.submit_request(
            actor=desk,
            need=get_need("aide-logement"),
            commune=desk.site.commune,
            body=get_body("caf-vosges"),
            contact=service.ResidentContact(
                name="Paul Jeton", phone="0611223344", email=None, channel="phone"
            ),
            at=datetime.now(PARIS),
        )
        request_id = sent.id
        db.session.remove()
    return request_id


def status_of(kit, request_id: int) -> str:
    with kit.app.app_context():
        status = db.session.get(AppointmentRequest, request_id).status
        db.session.remove()
    return status


def count_requests(kit) -> int:
    with kit.app.app_context():
        count = db.session.scalar(select(func.count(AppointmentRequest.id)))
        db.session.remove()
    return count


def snapshot(app: Flask) -> tuple:
    """Everything a POST of this application can change."""
    with app.app_context():
        rows = lambda stmt: [tuple(row) for row in db.session.execute(stmt)]  # noqa: E731
        state = (
            rows(
                select(
                    AppointmentRequest.id, AppointmentRequest.status, AppointmentRequest.reason
                ).order_by(AppointmentRequest.id)
            ),
            db.session.scalar(select(func.count(RequestEvent.id))),
            db.session.scalar(select(func.count(OutboxMessage.id))),
            rows(
                select(
                    User.id, User.password_hash, User.session_token, User.last_login_at
                ).order_by(User.id)
            ),
            rows(
                select(PasswordResetToken.id, PasswordResetToken.used_at).order_by(
                    PasswordResetToken.id
                )
            ),
            db.session.scalar(select(func.count(LoginFailure.id))),
        )
        db.session.remove()
    return state


def logged_in(client) -> bool:
    return client.get("/compte").status_code == 200


# --- one sample POST per route -------------------------------------------------------------


@dataclass
class Post:
    client: object  # a FlaskClient, whose session the token belongs to
    token: str
    url: str
    data: dict
    accepted: int  # the status with the right token
    refused_check: Callable[[], bool] = lambda: True  # after a refusal: the effect is absent
    accepted_check: Callable[[], bool] = lambda: True  # with the token: the effect is there


def anonymous(kit) -> tuple[object, str]:
    client = kit.app.test_client()
    return client, csrf_token(client)


def fresh_login(kit, user) -> tuple[object, str]:
    client = kit.app.test_client()
    assert login(client, user.email).status_code == 302
    return client, csrf_token(client, "/")


def sample_login(kit, accepted: bool) -> Post:
    client, token = anonymous(kit)
    return Post(
        client,
        token,
        "/connexion",
        {"email": kit.users["admin"].email, "password": PASSWORD},
        accepted=302,
        refused_check=lambda: not logged_in(client),
        accepted_check=lambda: logged_in(client),
    )


def sample_logout(kit, accepted: bool) -> Post:
    if accepted:
        # Logging out ends every session of the account (services.accounts.end_sessions):
        # an account of its own, or the kit's admin client would be logged out for the
        # samples that come after (the upkeep ones, the tree administration...).
        client, token = fresh_login(kit, make_user(kit.app, "admin"))
    else:
        client, token = kit.clients["admin"], kit.tokens["admin"]
    return Post(
        client,
        token,
        "/deconnexion",
        {},
        accepted=302,
        refused_check=lambda: logged_in(client),
        accepted_check=lambda: not logged_in(client),
    )


def sample_forgot_password(kit, accepted: bool) -> Post:
    client, token = anonymous(kit)
    email = kit.users["desk"].email
    before = count_outbox_for(kit, email)
    return Post(
        client,
        token,
        "/mot-de-passe-oublie",
        {"email": email},
        accepted=200,
        accepted_check=lambda: count_outbox_for(kit, email) == before + 1,
    )


def count_outbox_for(kit, email: str) -> int:
    with kit.app.app_context():
        count = db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.recipients == email)
        )
        db.session.remove()
    return count


def sample_reset(kit, accepted: bool) -> Post:
    if accepted:  # the link is used up and the password changed: a new account
        path = reset_path(kit.app, make_user(kit.app, "partner", body_slug="cpam-vosges").email)
    else:
        path = kit.reset_path
    client = kit.app.test_client()
    token = csrf_token(client, path)
    return Post(
        client,
        token,
        path,
        {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        accepted=302,
        refused_check=lambda: client.get(path).status_code == 200,  # the link still works
        accepted_check=lambda: client.get(path).status_code == 404,
    )


def sample_account_password(kit, accepted: bool) -> Post:
    if accepted:  # the password changes: a new account
        user = make_user(kit.app, "admin")
        client, token = fresh_login(kit, user)
    else:
        user, client, token = kit.users["admin"], kit.clients["admin"], kit.tokens["admin"]

    def password_changed() -> bool:
        with kit.app.app_context():
            stored = db.session.get(User, user.id).password_hash
            db.session.remove()
        return check_password_hash(stored, NEW_PASSWORD)

    return Post(
        client,
        token,
        "/compte/mot-de-passe",
        {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        accepted=302,
        refused_check=lambda: logged_in(client),
        accepted_check=password_changed,
    )


def sample_new_request(kit, accepted: bool) -> Post:
    with kit.app.app_context():
        caf_id = get_body("caf-vosges").id
        db.session.remove()
    before = count_requests(kit)
    return Post(
        kit.clients["desk"],
        kit.tokens["desk"],
        NEW_URL,
        {
            "body": str(caf_id),
            "resident_name": "Louise Formulaire",
            "phone": "06 22 33 44 55",
            "channel": "phone",
            "consent": "y",
            "confirm_duplicate": "y",
        },
        accepted=303,
        accepted_check=lambda: count_requests(kit) == before + 1,
    )


def sample_cancel(kit, accepted: bool) -> Post:
    request_id = new_request(kit)
    return Post(
        kit.clients["desk"],
        kit.tokens["desk"],
        f"/demandes/{request_id}/annuler",
        {"comment": "L'usager a trouvé la réponse en ligne."},
        accepted=303,
        refused_check=lambda: status_of(kit, request_id) == lifecycle.SUBMITTED,
        accepted_check=lambda: status_of(kit, request_id) == lifecycle.CANCELLED,
    )


def sample_partner_action(kit, accepted: bool) -> Post:
    request_id = new_request(kit)
    return Post(
        kit.clients["caf"],
        kit.tokens["caf"],
        f"/partenaire/demandes/{request_id}/take",
        {"take-comment": "Je rappelle l'usager demain."},
        accepted=303,
        refused_check=lambda: status_of(kit, request_id) == lifecycle.SUBMITTED,
        accepted_check=lambda: status_of(kit, request_id) == lifecycle.IN_PROGRESS,
    )


def count_shares(kit) -> int:
    with kit.app.app_context():
        count = db.session.scalar(select(func.count(DashboardShare.id)))
        db.session.remove()
    return count


def sample_create_share(kit, accepted: bool) -> Post:
    before = count_shares(kit)
    client, token = fresh_login(kit, kit.users["admin"])
    return Post(
        client,
        token,
        "/tableau-de-bord/partages",
        {"jours": "7", "periode": "30j"},
        accepted=303,
        refused_check=lambda: count_shares(kit) == before,
        accepted_check=lambda: count_shares(kit) == before + 1,
    )


def sample_revoke_share(kit, accepted: bool) -> Post:
    with kit.app.app_context():
        admin = db.session.get(User, kit.users["admin"].id)
        share, _token = dashboard.create_share(
            admin,
            dashboard.EVERYTHING,
            parse_period(None, None, None, datetime.now(PARIS).date()),
            7,
            datetime.now(PARIS),
        )
        share_id = share.id
        db.session.remove()

    def revoked() -> bool:
        with kit.app.app_context():
            at = db.session.get(DashboardShare, share_id).revoked_at
            db.session.remove()
        return at is not None

    client, token = fresh_login(kit, kit.users["admin"])
    return Post(
        client,
        token,
        f"/tableau-de-bord/partages/{share_id}/revoquer",
        {},
        accepted=303,
        refused_check=lambda: not revoked(),
        accepted_check=revoked,
    )


def sample_visit_outcome(kit, accepted: bool) -> Post:
    with kit.app.app_context():
        desk = db.session.get(User, kit.users["desk"].id)
        visit = activity.record_visit(
            get_need("aide-logement"),
            "88078",
            "desk",
            datetime.now(PARIS),
            desk_site_id=desk.site_id,
        )
        visit_id = visit.id
        db.session.remove()

    def outcome() -> str | None:
        with kit.app.app_context():
            value = db.session.get(ActivityEvent, visit_id).outcome
            db.session.remove()
        return value

    client, token = fresh_login(kit, kit.users["desk"])
    return Post(
        client,
        token,
        f"/visites/{visit_id}/issue",
        {"outcome": "autonomous"},
        accepted=303,
        refused_check=lambda: outcome() is None,
        accepted_check=lambda: outcome() == "autonomous",
    )


SAMPLES: dict[str, Callable[[SimpleNamespace, bool], Post]] = {
    "accounts.login": sample_login,
    "accounts.logout": sample_logout,
    "accounts.forgot_password": sample_forgot_password,
    "accounts.reset": sample_reset,
    "accounts.account_password": sample_account_password,
    "requests.new": sample_new_request,
    "requests.cancel": sample_cancel,
    "inbox.act": sample_partner_action,
    "dashboard.create_share": sample_create_share,
    "dashboard.revoke_share": sample_revoke_share,
    "dashboard.visit_outcome": sample_visit_outcome,
}


def _as_post(make: Callable[[SimpleNamespace, bool], dict]) -> Callable:
    return lambda kit, accepted: Post(**make(kit, accepted))


# The directory administration (tests/web/manage_csrf_samples.py).
SAMPLES.update({e: _as_post(make) for e, make in manage_csrf_samples.SAMPLES.items()})
# The freshness loop (tests/web/upkeep_csrf_samples.py).
SAMPLES.update({e: _as_post(make) for e, make in upkeep_csrf_samples.SAMPLES.items()})
# The decision tree administration (tests/web/tree_admin_csrf_samples.py).
SAMPLES.update({e: _as_post(make) for e, make in tree_admin_csrf_samples.SAMPLES.items()})
# Alerts and ateliers (tests/web/local_info_csrf_samples.py).
SAMPLES.update({e: _as_post(make) for e, make in local_info_csrf_samples.SAMPLES.items()})
# The mediation places import (tests/web/open_data_csrf_samples.py).
SAMPLES.update({e: _as_post(make) for e, make in open_data_csrf_samples.SAMPLES.items()})
# A resident's personal data: lookup, export, erasure (tests/web/privacy_csrf_samples.py).
SAMPLES.update({e: _as_post(make) for e, make in privacy_csrf_samples.SAMPLES.items()})
# The resident screen: codes, second window, end, a tablet pairing (screen_csrf_samples.py).
SAMPLES.update({e: _as_post(make) for e, make in screen_csrf_samples.SAMPLES.items()})

# How the token is got wrong: (form token, extra headers); None: no csrf_token field.
VARIANTS = {
    "no-token": lambda kit, post: (None, {}),
    "garbage-token": lambda kit, post: ("pas-un-jeton", {}),
    "other-session-token": lambda kit, post: (kit.foreign_token, {}),
    "htmx-no-header": lambda kit, post: (None, {"HX-Request": "true"}),
    "htmx-wrong-header": lambda kit, post: (
        None,
        {"HX-Request": "true", "X-CSRFToken": kit.foreign_token},
    ),
}


def sample_for(kit, endpoint: str, accepted: bool) -> Post:
    if endpoint not in SAMPLES:
        pytest.fail(
            f"POST route {endpoint} has no entry in SAMPLES (tests/web/test_csrf.py): "
            "say how to post to it, so that its CSRF protection is tested"
        )
    return SAMPLES[endpoint](kit, accepted)


# --- the tests -----------------------------------------------------------------------------


def test_the_samples_match_the_post_routes(workspace):
    routes = {r.endpoint for r in workspace.url_map.iter_rules() if "POST" in r.methods}
    assert routes == set(POST_ENDPOINTS)
    assert not set(SAMPLES) - routes, f"samples for no route: {set(SAMPLES) - routes}"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_a_post_without_its_token_is_refused_and_changes_nothing(kit, endpoint, variant):
    post = sample_for(kit, endpoint, accepted=False)
    token, headers = VARIANTS[variant](kit, post)
    data = dict(post.data) if token is None else {**post.data, "csrf_token": token}
    before = snapshot(kit.app)
    response = post.client.post(post.url, data=data, headers=headers)
    assert response.status_code == 400, text_of(response.get_data(as_text=True))[:500]
    assert CSRF_MESSAGE.startswith("Le formulaire a expiré")
    assert CSRF_MESSAGE in text_of(response.get_data(as_text=True))
    assert snapshot(kit.app) == before
    assert post.refused_check()


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_the_same_post_with_its_token_goes_through(kit, endpoint):
    """The samples are valid: without the token, nothing else kept them out."""
    post = sample_for(kit, endpoint, accepted=True)
    response = post.client.post(post.url, data={**post.data, "csrf_token": post.token})
    assert response.status_code == post.accepted, text_of(response.get_data(as_text=True))[:800]
    assert post.accepted_check()


def test_htmx_sends_the_token_in_the_x_csrftoken_header(kit):
    """The partner's "take" as htmx posts it: no form field, the header set on <body>."""
    request_id = new_request(kit)
    client = kit.clients["caf"]
    page = client.get(f"/partenaire/demandes/{request_id}")
    assert page.status_code == 200
    header_token = HX_HEADER.search(page.get_data(as_text=True)).group(1)
    response = client.post(
        f"/partenaire/demandes/{request_id}/take",
        headers={
            "HX-Request": "true",
            "HX-Current-URL": f"http://localhost/partenaire/demandes/{request_id}",
            "X-CSRFToken": header_token,
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == f"/partenaire/demandes/{request_id}"
    assert status_of(kit, request_id) == lifecycle.IN_PROGRESS


def test_the_json_api_takes_no_post(workspace):
    """The API blueprint is exempt from CSRF: it must stay read-only."""
    writable = sorted(
        f"{rule.rule} {sorted(rule.methods - {'GET', 'HEAD', 'OPTIONS'})}"
        for rule in workspace.url_map.iter_rules()
        if rule.rule.startswith("/api/") and rule.methods - {"GET", "HEAD", "OPTIONS"}
    )
    assert not writable, f"the JSON API must be GET only: {writable}"
    response = workspace.test_client().post("/api/v1/needs", json={"q": "logement"})
    assert response.status_code == 405
    assert response.is_json and response.get_json()["error"]


STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_state_changing_method_a_route_takes_is_checked(workspace):
    """CSRFProtect checks WTF_CSRF_METHODS only: a route taking PUT, PATCH or DELETE some
    day must find its method there, and htmx's header among the ones read for the token."""
    checked = set(workspace.config["WTF_CSRF_METHODS"])
    assert checked >= STATE_CHANGING
    assert "X-CSRFToken" in workspace.config["WTF_CSRF_HEADERS"]  # base.html's hx-headers
    taken = {m for rule in workspace.url_map.iter_rules() for m in rule.methods}
    assert taken - {"GET", "HEAD", "OPTIONS"} <= checked


@pytest.mark.parametrize("method", sorted(STATE_CHANGING - {"POST"}))
def test_put_patch_and_delete_change_nothing_even_the_htmx_way(kit, method):
    """No route takes them today: sent without a token to every POST address, plain or the
    htmx way, they get the French 405 and leave the database as it was."""
    adapter = kit.app.url_map.bind("localhost")
    urls = {
        adapter.build(rule.endpoint, dict.fromkeys(rule.arguments, 1), method="POST")
        for rule in kit.app.url_map.iter_rules()
        if "POST" in rule.methods
    }
    before = snapshot(kit.app)
    for url in sorted(urls):
        for headers in ({}, {"HX-Request": "true"}):
            response = kit.clients["admin"].open(url, method=method, headers=headers)
            assert response.status_code == 405, f"{method} {url}: {response.status_code}"
            body = response.get_data(as_text=True)
            assert ERROR_MESSAGES[405] in text_of(body)
            assert ("<html" in body) is not bool(headers)
    assert snapshot(kit.app) == before


def test_a_visitors_page_without_a_form_makes_no_token(workspace):
    """The header token is for signed-in pages; a visitor's form carries its own."""
    client = workspace.test_client()
    page = client.get("/themes").get_data(as_text=True)
    assert "X-CSRFToken" not in page and 'name="csrf_token"' not in page
    with client.session_transaction() as session:
        assert "csrf_token" not in session
    login = client.get("/connexion").get_data(as_text=True)
    assert 'name="csrf_token"' in login  # the form a visitor posts still has its token
