"""Logging in and out, the forgotten password and "my account", as a member of staff would."""

from __future__ import annotations

import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from proxiservices.blueprints.accounts import local_path
from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import OutboxMessage
from proxiservices.services.accounts import disable_user
from tests.plugins.accounts import PASSWORD, csrf_token, login, logout, make_user
from tests.web.html import main_content, normalise, text_of, without_title

HTMX = {"HX-Request": "true", "HX-Target": "main", "HX-Current-URL": "http://localhost/"}


@pytest.fixture
def app(workspace):
    return workspace


def without_tokens(html: str) -> str:
    """CSRF tokens carry a timestamp: two answers a second apart differ only there."""
    html = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", html)
    return re.sub(r'("X-CSRFToken": ")[^"]+', r"\1", html)


def page_text(response) -> str:
    return text_of(main_content(response.get_data(as_text=True)))


def test_login_page_is_an_accessible_form(app):
    response = app.test_client().get("/connexion")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<title>Connexion – Proxiservices</title>" in html
    assert '<label for="email">Adresse e-mail</label>' in html
    assert '<label for="password">Mot de passe</label>' in html
    assert re.search(r'<input[^>]*autocomplete="username"[^>]*id="email"[^>]*type="email"', html)
    assert re.search(r'<input[^>]*autocomplete="current-password"[^>]*type="password"', html)
    assert 'href="/mot-de-passe-oublie"' in html
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("url", ["/connexion", "/mot-de-passe-oublie"])
def test_fragment_is_the_same_markup_as_the_page(app, url):
    client = app.test_client()
    page = client.get(url).get_data(as_text=True)
    fragment = client.get(url, headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert without_tokens(normalise(without_title(fragment))) == without_tokens(
        normalise(main_content(page))
    )


def test_errors_are_listed_and_linked_to_their_fields(app):
    client = app.test_client()
    response = client.post(
        "/connexion",
        data={"email": "pas-une-adresse", "password": "", "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html
    assert '<a href="#email">Indiquez une adresse e-mail valide' in html
    assert '<a href="#password">Indiquez votre mot de passe.</a>' in html
    assert re.search(r'<input[^>]*aria-describedby="email-error"[^>]*aria-invalid="true"', html)
    assert 'id="email-error"' in html


def test_login_starts_a_fresh_session_that_keeps_the_commune(app):
    user = make_user(app, "receptionist", commune_insee="88078")
    client = app.test_client()
    client.get("/?commune=88078")
    with client.session_transaction() as session:
        session["left-over"] = "from before"
    response = login(client, user.email)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires=" in cookie  # a permanent session, ended by PERMANENT_SESSION_LIFETIME
    with client.session_transaction() as session:
        assert session["commune"] == "88078"
        assert "left-over" not in session

    account = client.get("/compte")
    assert account.status_code == 200
    text = page_text(account)
    assert user.email in text
    assert "Rôle Agent d'accueil" in text
    assert "Lieu d'accueil Mairie de Bruyères" in text


def test_login_goes_back_to_the_page_asked_for_but_never_to_another_site(app):
    user = make_user(app, "partner")
    client = app.test_client()
    asked = client.get("/compte")
    assert asked.status_code == 302
    location = urlsplit(asked.headers["Location"])
    assert location.path == "/connexion" and parse_qs(location.query) == {"next": ["/compte"]}
    assert login(client, user.email, next="/compte").headers["Location"] == "/compte"
    for evil in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "http:/x"]:
        client = app.test_client()
        response = login(client, user.email, next=evil)
        assert response.status_code == 302
        assert response.headers["Location"] == "/compte", evil


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/orientation?need=x&commune=88078", "/orientation?need=x&commune=88078"),
        ("/compte", "/compte"),
        ("https://evil.example/", None),
        ("//evil.example", None),
        ("/\\evil.example", None),
        ("javascript:alert(1)", None),
        ("/a\r\nLocation: x", None),
        ("", None),
        (None, None),
    ],
)
def test_only_local_paths_are_followed_after_login(target, expected):
    assert local_path(target) == expected


def test_wrong_password_and_unknown_address_get_the_same_answer(app):
    user = make_user(app, "admin")
    client = app.test_client()
    answers = []
    for email, password in [
        (user.email, "mauvais mot de passe"),
        ("personne@example.org", PASSWORD),
    ]:
        response = client.post(
            "/connexion",
            data={"email": email, "password": password, "csrf_token": csrf_token(client)},
            environ_base={"REMOTE_ADDR": "10.20.0.1"},
        )
        html = without_tokens(response.get_data(as_text=True))
        answers.append((response.status_code, html.replace(email, "@")))
    assert answers[0] == answers[1]
    assert answers[0][0] == 422
    assert "Adresse e-mail ou mot de passe incorrect." in answers[0][1]


def test_repeated_failures_are_throttled_with_a_429(app):
    user = make_user(app, "admin")
    client = app.test_client()
    for _ in range(5):
        assert login(client, user.email, "faux", remote_addr="10.21.0.1").status_code == 422
    response = login(client, user.email, remote_addr="10.21.0.1")
    assert response.status_code == 429
    assert "Trop de tentatives de connexion" in page_text(response)
    assert response.headers["Retry-After"] == str(60 * app.config["LOGIN_WINDOW_MINUTES"])


def test_a_disabled_account_cannot_log_in_and_its_sessions_end(app):
    user = make_user(app, "receptionist")
    client = app.test_client()
    assert login(client, user.email).status_code == 302
    assert client.get("/compte").status_code == 200
    with app.app_context():
        disable_user(user.email, datetime.now(PARIS))
    assert client.get("/compte").status_code == 302
    response = login(app.test_client(), user.email, remote_addr="10.22.0.1")
    assert response.status_code == 422
    assert "Adresse e-mail ou mot de passe incorrect." in page_text(response)


def test_forms_without_csrf_token_are_refused_in_french(app):
    response = app.test_client().post(
        "/connexion", data={"email": "a@example.org", "password": "x"}
    )
    assert response.status_code == 400
    assert "Le formulaire a expiré ou n'est pas valide." in page_text(response)


def test_logout_is_a_post_and_ends_the_session(app):
    user = make_user(app, "partner")
    client = app.test_client()
    login(client, user.email)
    client.get("/?commune=88135")
    assert client.get("/deconnexion").status_code == 405
    response = logout(client)
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion"
    assert "Déconnexion effectuée" in page_text(client.get("/connexion"))
    assert client.get("/compte").status_code == 302
    with client.session_transaction() as session:
        assert session["commune"] == "88135"


def test_a_cookie_copied_before_logout_no_longer_works(app):
    user = make_user(app, "partner")
    client = app.test_client()
    login(client, user.email)
    copied = client.get_cookie("session").value
    logout(client)
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/compte").status_code == 302


def test_changing_the_password_keeps_this_session_and_ends_the_others(app):
    user = make_user(app, "elected", territory_code="200042000")
    here, elsewhere = app.test_client(), app.test_client()
    login(here, user.email)
    login(elsewhere, user.email)
    account = here.get("/compte")
    assert "Territoire CC Bruyères-Vallons des Vosges" in page_text(account)
    assert 'autocomplete="new-password"' in account.get_data(as_text=True)

    token = csrf_token(here, "/compte")
    wrong = here.post(
        "/compte/mot-de-passe",
        data={
            "current_password": "pas le bon",
            "password": "nouveau mot de passe",
            "confirm": "nouveau mot de passe",
            "csrf_token": token,
        },
    )
    assert wrong.status_code == 422
    assert "Le mot de passe actuel est incorrect." in page_text(wrong)
    mismatch = here.post(
        "/compte/mot-de-passe",
        data={
            "current_password": PASSWORD,
            "password": "nouveau mot de passe",
            "confirm": "autre",
            "csrf_token": token,
        },
    )
    assert mismatch.status_code == 422
    assert "ne sont pas identiques" in page_text(mismatch)

    done = here.post(
        "/compte/mot-de-passe",
        data={
            "current_password": PASSWORD,
            "password": "nouveau mot de passe",
            "confirm": "nouveau mot de passe",
            "csrf_token": token,
        },
    )
    assert done.status_code == 302
    assert "Votre mot de passe a été changé" in page_text(here.get("/compte"))
    assert here.get("/compte").status_code == 200
    assert elsewhere.get("/compte").status_code == 302
    assert login(app.test_client(), user.email, "nouveau mot de passe").status_code == 302


def forgot(client, email):
    return client.post(
        "/mot-de-passe-oublie",
        data={"email": email, "csrf_token": csrf_token(client, "/mot-de-passe-oublie")},
    )


def test_forgotten_password_answers_the_same_whoever_asks(app):
    user = make_user(app, "partner")
    client = app.test_client()
    known, unknown = forgot(client, user.email), forgot(client, "personne@example.org")
    assert known.status_code == unknown.status_code == 200
    assert without_tokens(known.get_data(as_text=True)) == without_tokens(
        unknown.get_data(as_text=True)
    )
    assert "Si un compte existe pour cette adresse, un e-mail" in page_text(known)
    with app.app_context():
        recipients = db.session.scalars(
            select(OutboxMessage.recipients).where(OutboxMessage.kind == "password_reset")
        ).all()
    assert user.email in recipients and "personne@example.org" not in recipients


def test_reset_link_sets_a_new_password_once(app):
    user = make_user(app, "partner")
    client = app.test_client()
    forgot(client, user.email)
    with app.app_context():
        body = db.session.scalars(
            select(OutboxMessage.body).where(OutboxMessage.recipients == user.email)
        ).one()
    link = re.search(r"https?://[^/\s]+(/mot-de-passe/\S+)", body).group(1)

    page = client.get(link)
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "same-origin"  # the token goes to no other site
    assert user.email in page_text(page)
    token = csrf_token(client, link)
    short = client.post(link, data={"password": "court", "confirm": "court", "csrf_token": token})
    assert short.status_code == 422
    assert "au moins 12 caractères" in page_text(short)
    done = client.post(
        link,
        data={"password": "mot de passe neuf", "confirm": "mot de passe neuf", "csrf_token": token},
    )
    assert done.status_code == 302 and done.headers["Location"] == "/connexion"
    assert "Votre mot de passe a été changé" in page_text(client.get("/connexion"))
    assert login(client, user.email, "mot de passe neuf").status_code == 302

    again = client.get(link)
    assert again.status_code == 404
    assert "Lien expiré ou déjà utilisé" in page_text(again)
    assert client.get("/mot-de-passe/nimporte-quoi").status_code == 404
