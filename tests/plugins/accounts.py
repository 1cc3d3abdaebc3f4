"""Staff accounts for tests: create one, log a test client in, read a form's CSRF token.

Helpers (``from tests.plugins.accounts import PASSWORD, make_user, login, logout, csrf_token``...):

``make_user(app, role="receptionist", *, password=PASSWORD, email=None, name=None, **attachment)``
    Creates an account through ``services.accounts.create_user`` with a new e-mail each call
    (``<role>-<random>@example.org``) and returns the ``User``. ``attachment`` takes the
    keywords of ``create_user`` (``site_ref``, ``commune_insee``, ``body_slug``,
    ``territory_code``); without one, a default for the role that exists in the seeded
    databases (``seeded_app``, ``workspace``): receptionist -> the mairie of Docelles (88135),
    partner -> ``caf-vosges``, elected -> the Vosges (``88``). On ``blank`` databases, pass
    the attachment. Inside an app context of ``app`` the user stays in the current session;
    otherwise a context is pushed and the user comes back detached with its columns loaded
    (``user.id``, ``user.email``, ``user.role``...): reload it with
    ``db.session.get(User, user.id)`` to follow relationships.

``csrf_token(client, url="/connexion", **request_options) -> str``
    GETs ``url`` (following redirects) and returns the CSRF token of its form, or of the
    page's ``hx-headers`` (CSRF is enabled in the tests).

``login(client, email, password=PASSWORD, *, next=None, remote_addr=None) -> TestResponse``
    GETs the login form and POSTs it with its token; the response is not followed
    (302 on success, 422 for wrong credentials, 429 when throttled). Use ``remote_addr``
    for tests that fail on purpose, so the per-address throttle of other tests is untouched.

``csrf_in(html) -> str``
    The CSRF token of a page already fetched.

``logged_in(app, email, password=PASSWORD) -> FlaskClient``
    A new test client logged in as an existing account (asserts the login worked).

``logout(client) -> TestResponse``
    POSTs the logout form.

Fixture ``client_as``: ``client_as(app, role="receptionist", **attachment) -> (client, user)``,
a new test client of ``app`` logged in as a new account made by ``make_user``.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import pytest
from flask import Flask, current_app, has_app_context

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import User
from proxiservices.services.accounts import create_user

PASSWORD = "correct horse battery staple"
DEFAULTS = {
    "receptionist": {"commune_insee": "88135"},
    "partner": {"body_slug": "caf-vosges"},
    "elected": {"territory_code": "88"},
    "admin": {},
}
_TOKEN = re.compile(r'name="csrf_token"[^>]*?\svalue="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def make_user(
    app: Flask,
    role: str = "receptionist",
    *,
    password: str = PASSWORD,
    email: str | None = None,
    name: str | None = None,
    **attachment: str,
) -> User:
    email = email or f"{role}-{uuid.uuid4().hex[:10]}@example.org"
    fields = dict(
        email=email,
        role=role,
        password=password,
        name=name,
        at=datetime.now(PARIS),
        **(attachment or DEFAULTS.get(role, {})),
    )
    if has_app_context() and current_app._get_current_object() is app:
        return create_user(**fields)
    with app.app_context():
        user = create_user(**fields)
        db.session.refresh(user)
        db.session.expunge(user)
        return user


def csrf_in(html: str) -> str:
    """The CSRF token of a page already fetched."""
    match = _TOKEN.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def csrf_token(client, url: str = "/connexion", **request_options) -> str:
    request_options.setdefault("follow_redirects", True)
    return csrf_in(client.get(url, **request_options).get_data(as_text=True))


def login(
    client,
    email: str,
    password: str = PASSWORD,
    *,
    next: str | None = None,
    remote_addr: str | None = None,
):
    environ = {"REMOTE_ADDR": remote_addr} if remote_addr else {}
    token = csrf_token(client, environ_base=environ)
    return client.post(
        "/connexion",
        query_string={"next": next} if next else None,
        data={"email": email, "password": password, "csrf_token": token},
        environ_base=environ,
    )


def logged_in(app: Flask, email: str, password: str = PASSWORD):
    """A new test client of `app`, logged in as an existing account."""
    client = app.test_client()
    response = login(client, email, password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def logout(client):
    return client.post("/deconnexion", data={"csrf_token": csrf_token(client)})


@pytest.fixture
def client_as():
    def make(app: Flask, role: str = "receptionist", **attachment: str):
        user = make_user(app, role, **attachment)
        return logged_in(app, user.email), user

    return make
