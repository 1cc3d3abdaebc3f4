"""Cookies: HttpOnly and SameSite=Lax always; Secure, and the `__Host-` session cookie, in
production (PROXISERVICES_ENV=production) unless the environment says otherwise; plain
cookies in development so that `make run` works on http://127.0.0.1."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC

import pytest
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface
from flask_login import login_user
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup

from proxiservices import create_app
from proxiservices.config import load
from proxiservices.extensions import db
from proxiservices.models import User
from tests.plugins.accounts import PASSWORD, csrf_in, login, make_user
from tests.web.html import text_of

HTTPS = "https://localhost"
SECRET = "une-longue-valeur-aleatoire-0123456789abcdef"
COOKIE_SETTINGS = (
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_NAME",
    "SESSION_COOKIE_DOMAIN",
    "SESSION_COOKIE_PATH",
    "REMEMBER_COOKIE_SECURE",
)


@pytest.fixture
def environment(monkeypatch):
    """No cookie or environment setting of the machine running the tests leaks in."""
    for name in ("SECRET_KEY", "PROXISERVICES_SECRET_KEY", "PROXISERVICES_ENV"):
        monkeypatch.delenv(name, raising=False)
    for name in COOKIE_SETTINGS:
        monkeypatch.delenv(f"PROXISERVICES_{name}", raising=False)
    return monkeypatch


@pytest.fixture
def app_in(environment, seeded_app):
    """app_in("production"|"development", **env): an app on the seeded database, its
    settings read from the environment as in a deployment."""
    apps = []

    def make(env: str, **extra_env: str):
        environment.setenv("PROXISERVICES_ENV", env)
        environment.setenv("SECRET_KEY", SECRET)
        for name, value in extra_env.items():
            environment.setenv(name, value)
        app = create_app(
            {
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": seeded_app.config["SQLALCHEMY_DATABASE_URI"],
                "RATELIMIT_ENABLED": False,
            }
        )
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def referer_sent_by_a_browser(page, url: str) -> dict[str, str]:
    """A form posted from `page` to its own origin carries a Referer unless the page's
    Referrer-Policy forbids it (Flask-WTF refuses an HTTPS POST without one)."""
    policy = page.headers.get("Referrer-Policy", "strict-origin-when-cross-origin")
    return {} if policy == "no-referrer" else {"Referer": url}


def set_cookie(response, name: str) -> list[str]:
    """The attributes of the Set-Cookie header of `name`, lower-cased, value left out."""
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return [part.strip().lower() for part in header.split(";")[1:]]
    raise AssertionError(f"no Set-Cookie for {name}: {response.headers.getlist('Set-Cookie')}")


def test_production_session_cookie_is_secure_httponly_lax_and_host_only(app_in, seeded_app):
    app = app_in("production")
    name = app.config["SESSION_COOKIE_NAME"]
    assert name == "__Host-proxiservices"
    client = app.test_client()
    page = client.get("/connexion", base_url=HTTPS)  # the CSRF token opens a session
    attributes = set_cookie(page, name)
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(attributes)
    assert not any(part.startswith("domain=") for part in attributes)  # `__Host-` forbids it
    # The new session after the login is set the same way, and goes back over HTTPS.
    user = make_user(seeded_app, "admin")
    response = client.post(
        "/connexion",
        base_url=HTTPS,
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_in(page.text)},
        headers=referer_sent_by_a_browser(page, f"{HTTPS}/connexion"),
    )
    assert response.status_code == 302, text_of(response.text)[:300]
    assert {"secure", "httponly", "samesite=lax", "path=/"} <= set(set_cookie(response, name))
    assert client.get("/compte", base_url=HTTPS).status_code == 200


def test_production_remember_cookie_is_secure_httponly_lax(app_in, seeded_app):
    """No page asks to be remembered today; were one to, its cookie would be set so."""
    app = app_in("production")
    user = make_user(seeded_app, "admin")
    with app.test_request_context("/", base_url=HTTPS):
        login_user(db.session.get(User, user.id), remember=True)
        response = app.process_response(app.make_response("ok"))
    attributes = set_cookie(response, app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    assert {"secure", "httponly", "samesite=lax"} <= set(attributes)


def test_development_cookies_work_over_plain_http(app_in):
    app = app_in("development")
    assert app.config["SESSION_COOKIE_NAME"] == "session"
    client = app.test_client()  # http://localhost, as `make run`
    attributes = set_cookie(client.get("/connexion"), "session")
    assert {"httponly", "samesite=lax"} <= set(attributes)
    assert "secure" not in attributes
    assert app.config["REMEMBER_COOKIE_SECURE"] is False


def test_production_over_plain_http_when_the_operator_says_so(app_in):
    """PROXISERVICES_SESSION_COOKIE_SECURE=false (a trial on loopback): no Secure, and no
    `__Host-` prefix either, since a browser drops a `__Host-` cookie without Secure."""
    app = app_in("production", PROXISERVICES_SESSION_COOKIE_SECURE="false")
    assert app.config["SESSION_COOKIE_NAME"] == "session"
    attributes = set_cookie(app.test_client().get("/connexion"), "session")
    assert "secure" not in attributes and "httponly" in attributes
    assert app.config["REMEMBER_COOKIE_SECURE"] is True  # only what was said changes


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, (False, False, "session")),
        ({"PROXISERVICES_ENV": "production"}, (True, True, "__Host-proxiservices")),
        (
            {"PROXISERVICES_ENV": "production", "PROXISERVICES_REMEMBER_COOKIE_SECURE": "no"},
            (True, False, "__Host-proxiservices"),
        ),
        (
            {"PROXISERVICES_ENV": "production", "PROXISERVICES_SESSION_COOKIE_NAME": "ps"},
            (True, True, "ps"),
        ),
        (
            {"PROXISERVICES_ENV": "production", "PROXISERVICES_SESSION_COOKIE_DOMAIN": "x.fr"},
            (True, True, "session"),
        ),
        (
            {"PROXISERVICES_ENV": "development", "PROXISERVICES_SESSION_COOKIE_SECURE": "1"},
            (True, False, "session"),
        ),
    ],
)
def test_cookie_settings_from_the_environment(environ, expected):
    config = load("/srv/inst", environ)
    assert config["SESSION_COOKIE_HTTPONLY"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    found = (
        config["SESSION_COOKIE_SECURE"],
        config["REMEMBER_COOKIE_SECURE"],
        config.get("SESSION_COOKIE_NAME", "session"),
    )
    assert found == expected


def test_a_visitors_page_sets_the_session_cookie_only(seeded_app):
    """No deletion of a remember cookie on every visitor's page (Flask-Login's strong
    protection has no user to protect in a session holding only the commune)."""
    client = seeded_app.test_client()
    response = client.get("/orientation?need=carte-vitale&commune=88160")
    assert response.status_code == 200
    names = [h.split("=", 1)[0] for h in response.headers.getlist("Set-Cookie")]
    assert names == [seeded_app.config["SESSION_COOKIE_NAME"]]
    again = client.get("/orientation?need=carte-vitale&commune=88160")
    assert "remember_token" not in str(again.headers.getlist("Set-Cookie"))


def test_a_signed_in_session_moved_to_another_browser_is_no_longer_fresh(seeded_app):
    """Session protection still watches a signed-in session (a permanent one: Flask-Login
    marks it not fresh rather than ending it)."""
    make_user(seeded_app, "admin", email="moved@example.org")
    client = seeded_app.test_client()
    assert login(client, "moved@example.org").status_code == 302
    assert client.get("/compte").status_code == 200
    with client.session_transaction() as session:
        assert session["_fresh"] is True
    client.get("/compte", headers={"User-Agent": "another browser"})
    with client.session_transaction() as session:
        assert session["_fresh"] is False


def test_session_signing_follows_the_secret_key_and_its_fallbacks(environment, seeded_app):
    """The signing serializer is built once per key: a new key still rejects the sessions
    signed with the old one, unless the old one is listed as a fallback."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": seeded_app.config["SQLALCHEMY_DATABASE_URI"],
            "SECRET_KEY": SECRET,
        }
    )
    interface = app.session_interface
    assert interface.get_signing_serializer(app) is interface.get_signing_serializer(app)
    client = app.test_client()
    client.get("/orientation?need=carte-vitale&commune=88160")
    assert "88160" in client.get("/themes").get_data(as_text=True)

    app.secret_key = SECRET[::-1]
    assert "88160" not in client.get("/themes").get_data(as_text=True)  # old cookie refused

    client.get("/orientation?need=carte-vitale&commune=88160")  # signed with the new key
    app.secret_key = "une-troisieme-valeur-aleatoire-0123456789"
    app.config["SECRET_KEY_FALLBACKS"] = [SECRET[::-1]]
    assert "88160" in client.get("/themes").get_data(as_text=True)  # read with the fallback


def test_session_cookies_are_the_ones_flask_signs_and_reads(seeded_app):
    """The session is signed with hashlib's sha1 directly (OpenSSL's HMAC) rather than
    Flask's wrapper of it: a cookie either one signs, the other reads, and both sign alike."""
    ours = seeded_app.session_interface.get_signing_serializer(seeded_app)
    flasks = SecureCookieSessionInterface().get_signing_serializer(seeded_app)
    data = {"commune": "88160", "visit": ["carte-vitale|88160|public", None, "2026-11-23"]}
    assert ours.loads(flasks.dumps(data)) == data
    assert flasks.loads(ours.dumps(data)) == data
    assert ours.signer(seeded_app.secret_key, **ours.signer_kwargs).get_signature(
        b"x"
    ) == flasks.signer(seeded_app.secret_key, **flasks.signer_kwargs).get_signature(b"x")
    assert ours.signer_kwargs["digest_method"] is hashlib.sha1


def test_a_small_session_is_not_compressed_a_big_one_is_and_both_read_back(seeded_app):
    """zlib is tried only on a session big enough to gain from it; Flask's own serializer
    reads either cookie, and ours reads Flask's compressed ones."""
    ours = seeded_app.session_interface.get_signing_serializer(seeded_app)
    flasks = SecureCookieSessionInterface().get_signing_serializer(seeded_app)
    small = {"commune": "88160", "unanswered": ["carte grise perdue"] * 5}  # 139 bytes
    big = {"unanswered": ["carte grise perdue"] * 60}
    assert flasks.dumps(small).startswith(".")  # Flask would compress it (to 66 bytes)
    assert not ours.dumps(small).startswith(".")
    assert ours.dumps(big).startswith(".")  # compressed, as Flask does
    assert len(ours.dumps(big)) < len(flasks.dumps({"unanswered": []})) * 4
    for data in (small, big):
        assert flasks.loads(ours.dumps(data)) == data
        assert ours.loads(flasks.dumps(data)) == data


def test_a_visitor_page_sets_an_uncompressed_session_cookie_that_keeps_the_commune(client):
    response = client.get("/orientation?need=carte-vitale&commune=88160")
    cookie = next(v for k, v in response.headers.items() if k == "Set-Cookie")
    assert cookie.startswith("session=") and not cookie.startswith("session=.")
    assert "88160" in client.get("/themes").get_data(as_text=True)


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.sampled_from([" t", " di", " b", " m", " u", " d", "é", "\u2028"]),
)
_VALUES = st.recursive(
    st.one_of(
        _SCALARS,
        st.binary(max_size=4),
        st.datetimes(timezones=st.just(UTC)),
        st.uuids(),
        st.builds(Markup, st.text(max_size=4)),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(
            st.one_of(st.text(max_size=4), st.sampled_from([" t", " di"])), inner, max_size=3
        ),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(value=_VALUES)
def test_the_session_json_is_flasks_text(seeded_app, value):
    """The session's JSON writes a value needing no tag itself: the text is Flask's, for
    any value (tagged ones go Flask's way), with the app's JSON settings."""
    ours = seeded_app.session_interface.get_signing_serializer(seeded_app).serializer
    with seeded_app.app_context():
        assert ours.dumps(value) == SecureCookieSessionInterface.serializer.dumps(value)


def test_the_session_json_writes_a_visitors_session_itself(seeded_app, monkeypatch):
    """Without this, the test above would pass with Flask's serializer kept as it is."""
    ours = seeded_app.session_interface.get_signing_serializer(seeded_app).serializer
    monkeypatch.setattr(TaggedJSONSerializer, "dumps", None)  # Flask's way is not taken
    value = {"commune": "88160", "visit": ["carte-vitale|88160|public", None, "2026"]}
    assert json.loads(ours.dumps(value)) == value
