"""Rate limits (proxiservices/limits.py): the POSTs of login, password reset and request
submission answer 429 past their limit, per client address and per account, in memory or
in Redis; GETs are never counted.

Each test builds an app of its own on the seeded database, with the limits it needs, so no
count leaks from one test to another (the shared apps of conftest run with the limits off).
The posts are refused by the form (an empty password, a request without its resident) or
aim at unknown accounts: nothing is written, and the login throttle kept in the database
(services/authentication.py) is never reached.
"""

from __future__ import annotations

import logging
import re
import socket
import uuid

import pytest

from proxiservices.config import load
from proxiservices.limits import EXTENSION, RULES, limit_endpoint, wait_text
from proxiservices.web import ERROR_TITLES
from tests.conftest import make_app
from tests.plugins.accounts import csrf_token, login, make_user
from tests.web.html import text_of

REDIS_URL = "redis://127.0.0.1:6379/0"
NEW_URL = "/demandes/nouvelle?need=aide-logement&commune=88078"
REFUSED_BY_VIEW = (409, 422)
HTMX = {"HX-Request": "true", "HX-Target": "main", "HX-Current-URL": "http://localhost/"}
# Generous unless a test lowers one: only the limit under test can be reached.
OPEN = {rule.setting: "1000 per minute" for rule in RULES}


@pytest.fixture
def limited(seeded_app):
    """limited(**settings): a new app on the seeded database with the limits on."""
    apps = []

    def make(**settings):
        app = make_app(
            seeded_app.config["SQLALCHEMY_DATABASE_URI"],
            RATELIMIT_ENABLED=True,
            **{**OPEN, **settings},
        )
        apps.append(app)
        return app

    yield make
    from proxiservices.extensions import db

    for app in apps:
        with app.app_context():
            db.engine.dispose()


def unique_address() -> str:
    """A client address of its own (a WSGI environ value: no traffic goes anywhere)."""
    return f"127.{uuid.uuid4().int % 250 + 1}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


def unknown_email() -> str:
    return f"personne-{uuid.uuid4().hex[:10]}@example.org"


def post_login(client, email: str, address: str, headers=None):
    """A login the form refuses (empty password): counted, but no password is checked."""
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client, "/connexion", environ_base=environ)
    return client.post(
        "/connexion",
        data={"email": email, "password": "", "csrf_token": token},
        environ_base=environ,
        headers=headers or {},
    )


def assert_too_many(response, *, at_most: int) -> None:
    """429, the French page and a Retry-After of at most `at_most` seconds."""
    assert response.status_code == 429, text_of(response.get_data(as_text=True))[:300]
    text = text_of(response.get_data(as_text=True))
    assert ERROR_TITLES[429] in text
    assert "Trop de tentatives en peu de temps. Vous pourrez réessayer dans" in text
    assert 1 <= int(response.headers["Retry-After"]) <= at_most + 1  # reset_at rounds up


# --- login --------------------------------------------------------------------------------


def test_login_posts_are_limited_per_address_and_the_page_stays_open(limited):
    app = limited(RATELIMIT_LOGIN="3 per minute")
    client, address = app.test_client(), unique_address()
    for _ in range(3):
        assert post_login(client, unknown_email(), address).status_code == 422
    refused = post_login(client, unknown_email(), address)
    assert_too_many(refused, at_most=60)
    assert "<html" in refused.get_data(as_text=True)  # the whole page
    # Showing the form is never counted; another address is not held back.
    assert client.get("/connexion", environ_base={"REMOTE_ADDR": address}).status_code == 200
    assert post_login(client, unknown_email(), unique_address()).status_code == 422


def test_a_breach_is_logged_without_the_address_or_the_account(limited, caplog):
    app = limited(RATELIMIT_LOGIN="1 per minute", RATELIMIT_LOGIN_ACCOUNT="1 per minute")
    client, address, email = app.test_client(), unique_address(), unknown_email()
    with caplog.at_level(logging.INFO, logger="flask-limiter"):
        post_login(client, email, address)
        assert_too_many(post_login(client, email, address), at_most=60)
    breaches = [r.getMessage() for r in caplog.records if r.name == "flask-limiter"]
    assert breaches and all("exceeded at endpoint: accounts.login" in m for m in breaches)
    assert all("clé masquée" in m for m in breaches), breaches
    assert not any(address in m or email in m for m in caplog.messages)


def test_login_posts_are_limited_per_typed_email_whatever_the_address(limited):
    app = limited(RATELIMIT_LOGIN_ACCOUNT="2 per minute")
    client, email = app.test_client(), unknown_email()
    assert post_login(client, email, unique_address()).status_code == 422
    assert post_login(client, f"  {email.upper()} ", unique_address()).status_code == 422
    assert_too_many(post_login(client, email, unique_address()), at_most=60)
    # Another account from the same desks goes on.
    assert post_login(client, unknown_email(), unique_address()).status_code == 422
    # The counters hold no e-mail address, only its keyed hash.
    storage = app.extensions[EXTENSION].storage
    keys = " ".join(storage.storage)
    assert "e-mail:" in keys and "@" not in keys and email.split("@")[0] not in keys


def test_a_limited_htmx_post_gets_the_fragment(limited):
    app = limited(RATELIMIT_LOGIN="1 per minute")
    client, address = app.test_client(), unique_address()
    assert post_login(client, unknown_email(), address, HTMX).status_code == 422
    refused = post_login(client, unknown_email(), address, HTMX)
    assert_too_many(refused, at_most=60)
    assert "<html" not in refused.get_data(as_text=True)


def test_a_genuine_login_still_works_under_the_limit(limited, seeded_app):
    app = limited(RATELIMIT_LOGIN="2 per minute")
    user = make_user(seeded_app, "admin")
    client, address = app.test_client(), unique_address()
    assert login(client, user.email, remote_addr=address).status_code == 302
    assert int(client.get("/compte").status_code) == 200
    # The second POST of the minute is the last one this address may send.
    assert post_login(client, user.email, address).status_code in (302, 422)
    assert_too_many(post_login(client, user.email, address), at_most=60)


# --- password reset -----------------------------------------------------------------------


def post_forgot(client, email: str, address: str):
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client, "/mot-de-passe-oublie", environ_base=environ)
    return client.post(
        "/mot-de-passe-oublie",
        data={"email": email, "csrf_token": token},
        environ_base=environ,
    )


def test_reset_requests_are_limited_per_address(limited):
    app = limited(RATELIMIT_PASSWORD_RESET="2 per minute")
    client, address = app.test_client(), unique_address()
    for _ in range(2):
        assert post_forgot(client, unknown_email(), address).status_code == 200
    assert_too_many(post_forgot(client, unknown_email(), address), at_most=60)


def test_reset_requests_are_limited_per_typed_email(limited):
    """No mail bombing: one link an hour for one address, whoever asks."""
    app = limited(RATELIMIT_PASSWORD_RESET_ACCOUNT="1 per hour")
    client, email = app.test_client(), unknown_email()
    assert post_forgot(client, email, unique_address()).status_code == 200
    refused = post_forgot(client, email, unique_address())
    assert_too_many(refused, at_most=3600)
    assert re.search(r"dans (\d+ minutes?|moins d'une minute)", text_of(refused.text))
    assert post_forgot(client, unknown_email(), unique_address()).status_code == 200


def test_the_new_password_form_is_limited_per_address(limited):
    """Guessing reset links: every POST counts, the unknown ones (404) included."""
    app = limited(RATELIMIT_PASSWORD_RESET="2 per minute")
    client, address = app.test_client(), unique_address()
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client, "/connexion", environ_base=environ)
    for _ in range(2):
        guess = client.post(
            f"/mot-de-passe/{uuid.uuid4().hex}",
            data={"password": "x", "confirm": "x", "csrf_token": token},
            environ_base=environ,
        )
        assert guess.status_code == 404
    refused = client.post(
        f"/mot-de-passe/{uuid.uuid4().hex}",
        data={"password": "x", "confirm": "x", "csrf_token": token},
        environ_base=environ,
    )
    assert_too_many(refused, at_most=60)
    # The request form keeps its own count.
    assert post_forgot(client, unknown_email(), address).status_code == 200


# --- request submission -------------------------------------------------------------------


def desk_client(app, seeded_app, address: str):
    user = make_user(seeded_app, "receptionist", commune_insee="88078")
    client = app.test_client()
    assert login(client, user.email, remote_addr=address).status_code == 302
    return client


def post_request(client, address: str):
    """A request without its resident: refused by the view (422, or 409 while no partner of
    the seeded database takes requests), nothing is sent; the limits count it all the same."""
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client, NEW_URL, environ_base=environ)
    return client.post(
        NEW_URL, data={"csrf_token": token, "channel": "phone"}, environ_base=environ
    )


def test_request_submission_is_limited_per_account_not_per_town_hall(limited, seeded_app):
    app = limited(RATELIMIT_REQUESTS_ACCOUNT="2 per minute")
    address = unique_address()  # one town hall behind one NAT address
    first, second = desk_client(app, seeded_app, address), desk_client(app, seeded_app, address)
    for _ in range(2):
        assert post_request(first, address).status_code in REFUSED_BY_VIEW
    assert_too_many(post_request(first, address), at_most=60)
    assert first.get(NEW_URL, environ_base={"REMOTE_ADDR": address}).status_code == 200
    assert post_request(second, address).status_code in REFUSED_BY_VIEW


def test_request_submission_is_limited_per_address(limited, seeded_app):
    app = limited(RATELIMIT_REQUESTS="2 per minute")
    address = unique_address()
    first, second = desk_client(app, seeded_app, address), desk_client(app, seeded_app, address)
    assert post_request(first, address).status_code in REFUSED_BY_VIEW
    assert post_request(second, address).status_code in REFUSED_BY_VIEW
    assert_too_many(post_request(second, address), at_most=60)
    assert post_request(first, unique_address()).status_code in REFUSED_BY_VIEW


def test_a_database_failure_is_not_taken_for_a_storage_failure(
    limited, seeded_app, monkeypatch, caplog
):
    """The per-agent key loads the account: with the database down, its error must reach
    the app's outage handling, not make the limiter give up on its storage."""
    from sqlalchemy.exc import OperationalError

    from proxiservices.blueprints import accounts

    app = limited(RATELIMIT_REQUESTS_ACCOUNT="5 per minute")
    address = unique_address()
    client = desk_client(app, seeded_app, address)
    environ = {"REMOTE_ADDR": address}
    token = csrf_token(client, NEW_URL, environ_base=environ)

    def database_down(session_id):
        raise OperationalError("SELECT", {}, ConnectionRefusedError("base arrêtée"))

    monkeypatch.setattr(accounts, "load_user", database_down)
    with caplog.at_level(logging.INFO, logger="flask-limiter"):
        answer = client.post(NEW_URL, data={"csrf_token": token}, environ_base=environ)
    assert answer.status_code == 503  # proxiservices/outage.py
    assert not [r for r in caplog.records if r.name == "flask-limiter"], caplog.text
    assert not app.extensions[EXTENSION]._storage_dead


# --- the JSON API, the switch, the settings -----------------------------------------------


def test_a_limited_api_answer_is_json(limited):
    """The API takes no POST today; were one of its routes limited, it would answer JSON."""
    app = limited()
    limit_endpoint(app, "api.need", "1 per minute", "address", methods=("GET",))
    client = app.test_client()
    assert client.get("/api/v1/needs/aide-logement").status_code == 200
    refused = client.get("/api/v1/needs/aide-logement")
    assert refused.status_code == 429 and refused.is_json
    assert refused.get_json()["error"].startswith("Trop de tentatives en peu de temps.")
    assert 1 <= int(refused.headers["Retry-After"]) <= 61


def test_pages_pay_nothing_for_the_limits(limited):
    """Only the wrapped views reach the limiter: no Flask-Limiter hook runs around the other
    requests (the orientation pages are measured against a bare Flask app)."""
    app = limited()
    hooks = [
        *app.before_request_funcs.get(None, []),
        *app.after_request_funcs.get(None, []),
        *app.teardown_request_funcs.get(None, []),
    ]
    owners = {getattr(getattr(hook, "func", hook), "__module__", "") for hook in hooks}
    assert not {owner for owner in owners if owner.startswith("flask_limiter")}
    assert "accounts.login" in app.extensions["proxiservices_limited_endpoints"]


def test_limits_off_means_no_limiter(seeded_app):
    app = make_app(
        seeded_app.config["SQLALCHEMY_DATABASE_URI"],
        RATELIMIT_ENABLED=False,
        RATELIMIT_LOGIN="1 per minute",
    )
    assert EXTENSION not in app.extensions
    client, address = app.test_client(), unique_address()
    for _ in range(3):
        assert post_login(client, unknown_email(), address).status_code == 422


def test_a_malformed_limit_stops_the_start(tmp_path):
    with pytest.raises(RuntimeError, match="PROXISERVICES_RATELIMIT_LOGIN invalide"):
        make_app(f"sqlite:///{tmp_path / 'x.sqlite3'}", RATELIMIT_LOGIN="beaucoup")


def test_limits_and_storage_come_from_the_environment():
    config = load(
        "/srv/inst",
        {
            "PROXISERVICES_RATELIMIT_LOGIN": "5 per minute",
            "PROXISERVICES_RATELIMIT_STORAGE_URI": REDIS_URL,
            "PROXISERVICES_RATELIMIT_ENABLED": "false",
        },
    )
    assert config["RATELIMIT_LOGIN"] == "5 per minute"
    assert config["RATELIMIT_STORAGE_URI"] == REDIS_URL
    assert config["RATELIMIT_ENABLED"] is False
    defaults = load("/srv/inst", {})
    assert defaults["RATELIMIT_STORAGE_URI"] == "memory://" and defaults["RATELIMIT_ENABLED"]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (5, "dans moins d'une minute"),
        (60, "dans 1 minute"),
        (61, "dans 2 minutes"),
        (3600, "dans 60 minutes"),
        (3 * 3600, "dans 3 heures"),
    ],
)
def test_wait_text(seconds, text):
    assert wait_text(seconds) == text


# --- Redis --------------------------------------------------------------------------------


def redis_client():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"Redis does not answer on 127.0.0.1:6379 ({error})")
    return client


@pytest.fixture
def redis_prefix():
    """A key prefix of this test's own in the local Redis, deleted afterwards."""
    client = redis_client()
    prefix = f"proxiservices-test-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(client.scan_iter(f"*{prefix}*"))
    if keys:
        client.delete(*keys)


def test_workers_share_their_counts_in_redis(limited, redis_prefix):
    """Two apps on the same Redis, as two gunicorn workers: one count between them."""
    settings = dict(
        RATELIMIT_STORAGE_URI=REDIS_URL,
        RATELIMIT_KEY_PREFIX=redis_prefix,
        RATELIMIT_LOGIN="2 per minute",
    )
    one, two = limited(**settings), limited(**settings)
    address = unique_address()
    assert post_login(one.test_client(), unknown_email(), address).status_code == 422
    assert post_login(two.test_client(), unknown_email(), address).status_code == 422
    assert_too_many(post_login(one.test_client(), unknown_email(), address), at_most=60)
    assert_too_many(post_login(two.test_client(), unknown_email(), address), at_most=60)
    keys = [key.decode() for key in redis_client().scan_iter(f"*{redis_prefix}*")]
    assert keys and all(address in key or "e-mail:" in key for key in keys)
    assert not any("@" in key for key in keys)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_redis_falls_back_to_memory_with_a_warning(limited, caplog):
    """Redis down: the desks keep working, the limits are counted per process meanwhile."""
    app = limited(
        RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
        RATELIMIT_LOGIN="2 per minute",
    )
    client, address = app.test_client(), unique_address()
    with caplog.at_level(logging.WARNING, logger="flask-limiter"):
        for _ in range(2):
            assert post_login(client, unknown_email(), address).status_code == 422
        assert_too_many(post_login(client, unknown_email(), address), at_most=60)
    assert "falling back to in-memory storage" in caplog.text
