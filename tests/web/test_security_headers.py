"""What every response tells the browser (CSP and friends), the trusted proxies, `/healthz`
and the production secret; plus a scan of the templates so the strict CSP keeps working."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import jsonify, request

from proxiservices import create_app
from proxiservices.config import DEVELOPMENT_SECRET_KEY
from proxiservices.extensions import db
from tests.conftest import make_app

TEMPLATES = Path(__file__).resolve().parents[2] / "proxiservices" / "templates"
LOOPBACK_TILES = "http://127.0.0.1:9/{z}/{x}/{y}.png"
HTMX = {"HX-Request": "true", "HX-Target": "main", "HX-Current-URL": "http://localhost/"}
EXPECTED_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data: http://127.0.0.1:9; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
FIXED_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "geolocation=(), camera=(), microphone=()",
}


@pytest.fixture
def tiles_on_loopback(seeded_app, monkeypatch):
    monkeypatch.setitem(seeded_app.config, "TILE_URL", LOOPBACK_TILES)
    return seeded_app


def assert_secured(response, referrer: str = "same-origin") -> None:
    csp = response.headers["Content-Security-Policy"]
    assert csp == EXPECTED_CSP
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    for name, value in FIXED_HEADERS.items():
        expected = referrer if name == "Referrer-Policy" else value
        assert response.headers.get(name) == expected, name
    assert "Strict-Transport-Security" not in response.headers  # off by default


# --- the headers on every kind of response ---------------------------------------------


def test_a_full_page_carries_the_security_headers(tiles_on_loopback):
    response = tiles_on_loopback.test_client().get("/themes?commune=88078")
    assert response.status_code == 200
    assert "<!doctype html>" in response.text.lower()
    assert_secured(response)


def test_an_htmx_fragment_carries_them_too(tiles_on_loopback):
    response = tiles_on_loopback.test_client().get("/themes?commune=88078", headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.text.lower()
    assert_secured(response)


def test_a_json_api_answer_carries_them(tiles_on_loopback):
    response = tiles_on_loopback.test_client().get("/api/v1/needs?q=apl&limit=3")
    assert response.status_code == 200
    assert response.is_json and response.get_json()["results"]
    assert_secured(response)


def test_an_error_page_carries_them(tiles_on_loopback):
    client = tiles_on_loopback.test_client()
    page = client.get("/cette-page-n-existe-pas")
    assert page.status_code == 404
    assert "text/html" in page.content_type
    assert_secured(page)
    api = client.get("/api/v1/nulle-part")
    assert api.status_code == 404 and api.is_json
    assert_secured(api)


def test_a_static_file_carries_them(tiles_on_loopback):
    response = tiles_on_loopback.test_client().get("/static/css/app.css")
    assert response.status_code == 200
    assert "text/css" in response.content_type
    assert_secured(response)
    response.close()


def test_the_map_page_allows_its_tile_server_and_nothing_else_from_outside(tiles_on_loopback):
    response = tiles_on_loopback.test_client().get("/carte?commune=88078")
    assert response.status_code == 200
    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert csp["img-src"] == "'self' data: http://127.0.0.1:9"
    outside = [value for name, value in csp.items() if name != "img-src" and "127.0.0.1" in value]
    assert not outside


def test_the_default_tile_server_is_the_one_allowed(seeded_app):
    """Without the test's loopback server: the origin of the configured OSM tiles."""
    response = seeded_app.test_client().get("/static/css/app.css")
    assert (
        "img-src 'self' data: https://tile.openstreetmap.org;"
        in (response.headers["Content-Security-Policy"])
    )
    response.close()


def test_a_referrer_policy_chosen_by_the_view_is_kept(tiles_on_loopback):
    """The share links say no-referrer: the stricter choice stays. (The account pages keep
    same-origin: their HTTPS POSTs need a Referer, see tests/web/test_cookies.py.)"""
    client = tiles_on_loopback.test_client()
    share = client.get("/partage/n-importe-quoi")
    assert share.status_code == 404
    assert share.headers.get_all("Referrer-Policy") == ["no-referrer"]
    assert_secured(share, referrer="no-referrer")
    login = client.get("/connexion")
    assert login.status_code == 200
    assert login.headers.get_all("Referrer-Policy") == ["same-origin"]


def test_htmx_is_told_not_to_inject_its_indicator_styles(seeded_app):
    page = seeded_app.test_client().get("/themes?commune=88078")
    assert '"includeIndicatorStyles": false' in page.text


def test_hsts_only_when_asked(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'hsts.sqlite3'}", HSTS=True)
    response = app.test_client().get("/static/css/app.css")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    response.close()


# --- trusted proxies -------------------------------------------------------------------

FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "accueil.vosges.fr",
}


def echoing_app(tmp_path, **settings):
    """A fresh app with a route that says what the request looks like to the views."""
    app = make_app(f"sqlite:///{tmp_path / 'proxy.sqlite3'}", **settings)

    def echo():
        return jsonify(address=request.remote_addr, scheme=request.scheme, host=request.host)

    app.add_url_rule("/_echo", "echo_for_test", echo)
    return app


def test_forwarded_headers_are_ignored_without_a_configured_proxy(tmp_path):
    app = echoing_app(tmp_path)
    seen = app.test_client().get("/_echo", headers=FORWARDED).get_json()
    assert seen == {"address": "127.0.0.1", "scheme": "http", "host": "localhost"}


def test_one_configured_proxy_is_believed(tmp_path):
    app = echoing_app(tmp_path, PROXY_COUNT=1)
    seen = app.test_client().get("/_echo", headers=FORWARDED).get_json()
    assert seen == {"address": "203.0.113.7", "scheme": "https", "host": "accueil.vosges.fr"}


def test_only_the_addresses_added_by_our_proxies_are_believed(tmp_path):
    """A client that forges X-Forwarded-For gets its forged entry ignored: with one proxy,
    the address taken is the one our proxy appended (the last)."""
    app = echoing_app(tmp_path, PROXY_COUNT=1)
    headers = {**FORWARDED, "X-Forwarded-For": "10.6.6.6, 203.0.113.7"}
    seen = app.test_client().get("/_echo", headers=headers).get_json()
    assert seen["address"] == "203.0.113.7"
    app2 = echoing_app(tmp_path, PROXY_COUNT=2)
    seen2 = app2.test_client().get("/_echo", headers=headers).get_json()
    assert seen2["address"] == "10.6.6.6"


def test_a_negative_proxy_count_refuses_to_start(tmp_path):
    with pytest.raises(RuntimeError, match="PROXISERVICES_PROXY_COUNT"):
        make_app(f"sqlite:///{tmp_path / 'x.sqlite3'}", PROXY_COUNT=-1)


# --- /healthz --------------------------------------------------------------------------


def test_healthz_says_ok_when_the_database_answers(seeded_app):
    response = seeded_app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(
            "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2", id="postgresql"
        ),
        pytest.param("sqlite:///{tmp}/pas/de/dossier/base.sqlite3", id="sqlite"),
    ],
)
def test_healthz_says_503_without_details_when_the_database_is_unreachable(tmp_path, url):
    app = make_app(url.format(tmp=tmp_path))
    try:
        response = app.test_client().get("/healthz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "error", "database": "injoignable"}
        assert response.headers["Cache-Control"] == "no-store"
        for leak in ("Traceback", "OperationalError", "127.0.0.1", "sqlite", "psycopg"):
            assert leak not in response.text
        # Still a healthy answer for the rest: the headers are there, nothing crashed.
        assert response.headers["X-Frame-Options"] == "DENY"
        # The next check is answered the same way: a failed check leaves nothing broken.
        assert app.test_client().get("/healthz").status_code == 503
    finally:
        with app.app_context():
            db.engine.dispose()


def test_healthz_records_nothing_and_needs_no_login(seeded_app):
    from sqlalchemy import func, select

    from proxiservices.models.activity import ActivityEvent

    with seeded_app.app_context():
        before = db.session.scalar(select(func.count()).select_from(ActivityEvent))
        db.session.remove()
    for _ in range(3):
        assert seeded_app.test_client().get("/healthz").status_code == 200
    with seeded_app.app_context():
        after = db.session.scalar(select(func.count()).select_from(ActivityEvent))
        db.session.remove()
    assert after == before


# --- the production secret -------------------------------------------------------------


@pytest.fixture
def environment(monkeypatch):
    for name in ("SECRET_KEY", "PROXISERVICES_SECRET_KEY", "PROXISERVICES_ENV"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def sqlite_settings(tmp_path) -> dict[str, object]:
    return {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.sqlite3'}"}


@pytest.mark.parametrize("secret", [None, "", DEVELOPMENT_SECRET_KEY])
def test_production_refuses_to_start_without_a_real_secret_key(environment, tmp_path, secret):
    environment.setenv("PROXISERVICES_ENV", "production")
    if secret is not None:
        environment.setenv("SECRET_KEY", secret)
    with pytest.raises(RuntimeError) as refused:
        create_app(sqlite_settings(tmp_path))
    message = str(refused.value)
    assert "SECRET_KEY manquante" in message and "SECRET_KEY is missing" in message


def test_production_starts_with_a_secret_key(environment, tmp_path):
    environment.setenv("PROXISERVICES_ENV", "production")
    environment.setenv("SECRET_KEY", "une-longue-valeur-aleatoire-0123456789abcdef")
    app = create_app(sqlite_settings(tmp_path))
    assert app.config["ENV"] == "production"
    assert app.secret_key == "une-longue-valeur-aleatoire-0123456789abcdef"


def test_production_rule_holds_even_when_testing(environment, tmp_path):
    """The rule is PROXISERVICES_ENV alone: TESTING or DEBUG do not lift it."""
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({**sqlite_settings(tmp_path), "ENV": "production", "TESTING": True})


def test_outside_production_the_development_key_is_accepted(environment, tmp_path):
    app = create_app(sqlite_settings(tmp_path))
    assert app.config["ENV"] == "development"
    assert app.secret_key == DEVELOPMENT_SECRET_KEY


# --- templates keep the CSP working ----------------------------------------------------

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
FORBIDDEN = {
    "an inline <style> element": re.compile(r"<style\b", re.IGNORECASE),
    "a style= attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "an inline event handler (on…=)": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "an hx-on attribute (needs eval)": re.compile(r"\shx-on\b", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    # htmx evaluates these with Function(), which script-src 'self' forbids.
    "an htmx trigger filter [..] (needs eval)": re.compile(
        r"""hx-trigger["']?\s*[=:]\s*["'][^"']*\[""", re.IGNORECASE
    ),
    "hx-vals with js: or hx-vars (needs eval)": re.compile(
        r"""hx-vals["']?\s*[=:]\s*["']\s*(js|javascript):|hx-vars""", re.IGNORECASE
    ),
}


def test_the_template_scan_finds_what_it_looks_for():
    """The patterns below must catch the usual offenders (a scan that cannot fail is useless)."""
    bad = (
        '<script>alert(1)</script><p style="color:red" onclick="x()">'
        '<button hx-on:click="y()"><style>p{}</style><a href="javascript:void(0)">'
        '<input hx-trigger="keyup[key==\'Enter\']" hx-vals="js:{a: 1}">'
    )
    assert all(pattern.search(bad) for pattern in FORBIDDEN.values())
    assert inline_scripts(bad) == ["<script>"]
    fine = (
        '<script src="/static/js/app.js" defer></script>'
        '<script type="application/json" id="data">{}</script>'
        '<form action="/x" hx-confirm="Sûr ?"><button data-on-click="z">'
        '<input hx-trigger="input changed delay:250ms, search" hx-vals=\'{"lieu": "x"}\'>'
    )
    assert not any(pattern.search(fine) for pattern in FORBIDDEN.values())
    assert inline_scripts(fine) == []


def inline_scripts(text: str) -> list[str]:
    found = []
    for match in SCRIPT_TAG.finditer(text):
        attributes = match.group(1)
        if re.search(r"\ssrc\s*=", attributes):
            continue
        if re.search(r"""\stype\s*=\s*["']application/json["']""", attributes):
            continue
        found.append(match.group(0))
    return found


def test_no_template_needs_unsafe_inline():
    templates = sorted(TEMPLATES.rglob("*.html"))
    assert len(templates) > 20
    problems = []
    for path in templates:
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(TEMPLATES)
        problems += [f"{name}: inline script {tag}" for tag in inline_scripts(text)]
        problems += [f"{name}: {what}" for what, rx in FORBIDDEN.items() if rx.search(text)]
    assert not problems, "these would break under the CSP:\n" + "\n".join(problems)
