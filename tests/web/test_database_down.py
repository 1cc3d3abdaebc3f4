"""The database goes down during traffic: clean 503s in French, never a 500, and the app
recovers by itself when the database is back.

The outage test stops and restarts a throwaway PostgreSQL cluster (tests/pgcluster.py) on
its own loopback port, served by a real threaded HTTP server; it runs in both CI passes
whatever TEST_DATABASE_URL says. The other tests need no cluster.
"""

from __future__ import annotations

import http.client
import itertools
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from html import unescape
from urllib.parse import urlencode

import psycopg
import pytest
import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from flask_migrate import upgrade
from werkzeug.serving import make_server

from proxiservices.extensions import db
from proxiservices.outage import MESSAGE, WRITE_MESSAGE, database_unavailable, engine_options
from proxiservices.services.seeding import seed_all
from tests.conftest import ROOT, make_app
from tests.pgcluster import HOST, Cluster, find_bin_dir, wait_until
from tests.plugins.accounts import PASSWORD, csrf_in, make_user

FRENCH = "ne répond pas pour le moment"
PAGE = "/orientation?need=aide-logement&commune=88078"
API = "/api/v1/orientation?need=aide-logement&commune=88078"
# What each kind of visitor asks for, and the success it expects.
KINDS = {
    "page": (PAGE, {}, 200),
    "htmx": (PAGE, {"HX-Request": "true"}, 200),
    "api": (API, {}, 200),
    "agent": ("/demandes", {}, 200),  # logged in: the user loader queries first
    "health": ("/healthz", {}, 200),
    # Logged in, on an address that does not exist: the 404 page draws the agent's menu.
    "lost": ("/nulle-part", {}, 404),
}
SIGNED_IN = {"agent", "lost"}


# --- classification, no server needed ------------------------------------------------------


class _PgError(Exception):
    def __init__(self, sqlstate):
        super().__init__("x")
        self.sqlstate = sqlstate


def _operational(orig: Exception, **kwargs) -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", {}, orig, **kwargs)


def _sqlite_error(sql: str, path: str = ":memory:") -> sqlite3.Error:
    try:
        sqlite3.connect(path).execute(sql)
    except sqlite3.Error as error:
        return error
    raise AssertionError("no error")


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        pytest.param(_operational(_PgError(None)), True, id="pg-connection-refused"),
        pytest.param(_operational(_PgError("57P01")), True, id="pg-admin-shutdown"),
        pytest.param(_operational(_PgError("57P03")), True, id="pg-starting-up"),
        pytest.param(_operational(_PgError("08006")), True, id="pg-connection-failure"),
        pytest.param(_operational(_PgError("53300")), True, id="pg-too-many-connections"),
        pytest.param(_operational(_PgError("57014")), False, id="pg-statement-timeout"),
        pytest.param(_operational(_PgError("55P03")), False, id="pg-lock-not-available"),
        pytest.param(
            sa_exc.ProgrammingError("SELECT", {}, _PgError("42P01")), False, id="pg-no-table"
        ),
        pytest.param(sa_exc.IntegrityError("INSERT", {}, _PgError("23505")), False, id="pg-unique"),
        pytest.param(
            sa_exc.ProgrammingError("SELECT", {}, _PgError("42P01"), connection_invalidated=True),
            True,
            id="invalidated-connection",
        ),
        pytest.param(
            sa_exc.InterfaceError("SELECT", {}, Exception("closed")), True, id="interface"
        ),
        pytest.param(sa_exc.TimeoutError("QueuePool limit"), True, id="pool-timeout"),
        pytest.param(
            _operational(_sqlite_error("SELECT * FROM nothing")), False, id="sqlite-no-table"
        ),
        pytest.param(_operational(_sqlite_error("SELEC 1")), False, id="sqlite-syntax"),
        pytest.param(
            _operational(_sqlite_error("SELECT 1", "/nonexistent/dir/db.sqlite3")),
            True,
            id="sqlite-cannot-open",
        ),
        pytest.param(sa_exc.InvalidRequestError("no"), False, id="not-a-driver-error"),
        pytest.param(ValueError("no"), False, id="not-sqlalchemy"),
    ],
)
def test_only_failures_of_the_database_itself_count_as_unavailable(error, unavailable):
    assert database_unavailable(error) is unavailable


@pytest.fixture
def faulty_app(tmp_path):
    """A working SQLite app with routes that fail the way a bug or an outage would."""
    app = make_app(f"sqlite:///{tmp_path / 'ok.sqlite3'}", PROPAGATE_EXCEPTIONS=False)

    def bad_query():
        db.session.execute(sa.text("SELECT * FROM no_such_table"))
        return "no"

    def outage():
        raise _operational(_PgError("57P01"))

    def good_query():
        return str(db.session.scalar(sa.text("SELECT 41 + 1")))

    app.add_url_rule("/_test/bad-query", view_func=bad_query)
    app.add_url_rule("/api/_test/bad-query", endpoint="api_bad_query", view_func=bad_query)
    app.add_url_rule("/_test/outage", view_func=outage)
    app.add_url_rule("/_test/good", view_func=good_query)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_bad_query_stays_a_500_not_a_503(faulty_app):
    client = faulty_app.test_client()
    page = client.get("/_test/bad-query")
    assert page.status_code == 500
    assert "Erreur interne" in page.text and "Retry-After" not in page.headers
    api = client.get("/api/_test/bad-query")
    assert api.status_code == 500 and FRENCH not in api.text


def test_an_outage_inside_a_view_is_a_503_and_the_next_request_works(faulty_app):
    client = faulty_app.test_client()
    response = client.get("/_test/outage")
    assert response.status_code == 503
    assert FRENCH in response.text and response.headers["Retry-After"] == "30"
    assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/_test/good").text == "42"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(
            "postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2", id="postgresql"
        ),
        pytest.param("sqlite:///{tmp}/pas/de/dossier/base.sqlite3", id="sqlite"),
    ],
)
def test_every_kind_of_answer_is_a_clean_503_when_the_database_is_unreachable(tmp_path, url):
    app = make_app(url.format(tmp=tmp_path), DATABASE_RETRY_AFTER=12)
    try:
        client = app.test_client()
        for kind, (path, headers, _) in KINDS.items():
            if kind in SIGNED_IN:
                continue  # nobody can log in without the database: see the outage test
            answer = client.get(path, headers=headers)
            check_unavailable(kind, answer.status_code, answer.headers, answer.text)
        assert client.get("/", headers={"HX-Request": "true"}).headers["Retry-After"] == "12"
        token = csrf_in(client.get("/connexion").text)  # the login form needs no table
        posted = client.post(
            "/connexion", data={"email": "a@example.org", "password": "x", "csrf_token": token}
        )
        check_unavailable("page", posted.status_code, posted.headers, posted.text)
        assert WRITE_MESSAGE.strip() in unescape(posted.text)
    finally:
        with app.app_context():
            db.engine.dispose()


def check_unavailable(kind: str, status: int, headers, text: str) -> None:
    """An answer given while the database is away: a 503 as each kind of client expects it
    (the 404 of a missing page stays a 404), with nothing of the failure inside."""
    for leak in ("Traceback", "OperationalError", "psycopg", "sqlite", "127.0.0.1"):
        assert leak not in text, (kind, leak)
    if kind == "lost":
        # Not the database's answer to give: still a 404, drawn for an anonymous visitor.
        assert status == 404 and "Page introuvable" in text and "se connecter" in text
        return
    assert status == 503, (kind, status, text[:300])
    assert int(headers["Retry-After"]) > 0, kind
    if kind == "health":
        assert json.loads(text) == {"status": "error", "database": "injoignable"}
    elif kind == "api":
        assert headers["Content-Type"].startswith("application/json")
        assert json.loads(text) == {"error": MESSAGE}
    elif kind == "htmx":
        assert "<html" not in text and FRENCH in text
    else:
        assert "<html" in text and FRENCH in text
        assert "Service momentanément indisponible" in text
        assert "se connecter" in text  # the menu was drawn without loading the account


# --- PostgreSQL stopped and restarted under traffic ------------------------------------------


@pytest.fixture(scope="module")
def cluster():
    bin_dir = find_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) not installed")
    cluster = Cluster(bin_dir)
    try:
        cluster.init()
        cluster.start()
        cluster.create_database("proxiservices")
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture(scope="module")
def served(cluster):
    """The app on the throwaway cluster, behind a real threaded HTTP server."""
    # PROPAGATE_EXCEPTIONS off, as in production: an error escaping a handler gets Flask's
    # 500 handling instead of reaching the server.
    app = make_app(
        cluster.url("proxiservices"), OUTBOX_SEND_AFTER_RESPONSE=False, PROPAGATE_EXCEPTIONS=False
    )
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_all(ROOT / "seeds")
        db.session.remove()
    agent = make_user(app, "receptionist", commune_insee="88078")

    def lost_after_render():
        """The page is computed, then the server drops this request's connection."""
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        with psycopg.connect(cluster.url().replace("postgresql+psycopg", "postgresql")) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return "page calculée"

    app.add_url_rule("/_test/lost-after-render", view_func=lost_after_render)
    server = make_server(HOST, 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, server.server_port, agent.email
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


def test_a_connection_lost_after_the_page_was_computed_still_sends_the_page(served):
    _, port, _ = served
    for _ in range(2):
        status, _, text = fetch(port, "/_test/lost-after-render")
        assert (status, text) == (200, "page calculée")
    assert fetch(port, API)[0] == 200  # and the pool hands out a live connection next


@dataclass
class Answer:
    kind: str
    started: float
    finished: float
    status: int
    headers: dict[str, str]
    text: str


def fetch(port: int, path: str, headers=None, method="GET", body=None):
    connection = http.client.HTTPConnection(HOST, port, timeout=15)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        connection.close()


def log_in(port: int, email: str) -> str:
    """The session cookie of a logged-in agent, through the real login form."""
    _, headers, page = fetch(port, "/connexion")
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    form = urlencode({"email": email, "password": PASSWORD, "csrf_token": csrf_in(page)})
    status, headers, _ = fetch(
        port,
        "/connexion",
        {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        "POST",
        form,
    )
    assert status == 302
    return headers["Set-Cookie"].split(";", 1)[0]


@dataclass
class Traffic:
    """A few clients requesting every kind of page in turn until told to stop."""

    port: int
    cookie: str
    answers: list[Answer] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def client(self, offset: int) -> None:
        kinds = itertools.islice(itertools.cycle(KINDS), offset, None)
        for kind in kinds:
            if self.stop.is_set():
                return
            path, headers, _ = KINDS[kind]
            headers = {**headers, "Cookie": self.cookie} if kind in SIGNED_IN else headers
            started = time.monotonic()
            try:
                status, response_headers, text = fetch(self.port, path, headers)
            except (OSError, http.client.HTTPException) as error:
                # Recorded as an answer, so that this test fails with it (not a later one).
                status, response_headers, text = 0, {}, repr(error)
            with self.lock:
                self.answers.append(
                    Answer(kind, started, time.monotonic(), status, response_headers, text)
                )
            time.sleep(0.01)

    def since(self, moment: float) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if a.started >= moment]


def describe(answer: Answer) -> str:
    return f"{answer.kind} {answer.status}: {unescape(answer.text)[:2000]}"


def test_postgresql_stopped_under_traffic_gives_503_then_recovers(served, cluster):
    _, port, email = served
    cookie = log_in(port, email)
    for kind, (path, headers, expected) in KINDS.items():
        headers = {**headers, "Cookie": cookie} if kind in SIGNED_IN else headers
        assert fetch(port, path, headers)[0] == expected, kind

    # The login form, fetched now to be posted during the outage.
    _, headers, page = fetch(port, "/connexion")
    form_headers = {
        "Cookie": headers["Set-Cookie"].split(";", 1)[0],
        "Content-Type": "application/x-www-form-urlencoded",
    }
    form = urlencode({"email": email, "password": PASSWORD, "csrf_token": csrf_in(page)})

    traffic = Traffic(port, cookie)
    clients = [threading.Thread(target=traffic.client, args=(n,)) for n in range(4)]
    for thread in clients:
        thread.start()
    try:
        time.sleep(0.5)
        stopped_at = time.monotonic()
        cluster.stop("immediate")
        down = time.monotonic()

        def every_kind_refused():
            refused = {a.kind for a in traffic.since(down) if a.status == 503}
            return refused == set(KINDS) - {"lost"}

        wait_until(every_kind_refused, timeout=10)
        # A form posted during the outage: 503 too, saying it may not have been saved.
        status, _, text = fetch(port, "/connexion", form_headers, "POST", form)
        assert status == 503 and WRITE_MESSAGE.strip() in unescape(text)

        cluster.start()
        back = time.monotonic()

        def every_kind_served_again():
            served_again = {a.kind for a in traffic.since(back) if a.status == KINDS[a.kind][2]}
            return served_again == set(KINDS)

        recovery = wait_until(every_kind_served_again, timeout=10)
        recovered = time.monotonic()
        time.sleep(0.5)
    finally:
        traffic.stop.set()
        for thread in clients:
            thread.join(20)

    answers = traffic.answers
    assert len(answers) > 50

    def normal(answer: Answer) -> bool:
        return answer.status == KINDS[answer.kind][2] and (
            answer.kind != "lost" or "Mon compte" in answer.text
        )

    for answer in answers:
        if not normal(answer):
            check_unavailable(answer.kind, answer.status, answer.headers, answer.text)
            # Only while the database was away, never once it was answering again.
            assert answer.finished >= stopped_at and answer.started <= recovered, describe(answer)
    before = [a for a in answers if a.finished < stopped_at]
    assert before and [describe(a) for a in before if not normal(a)] == []
    after = [a for a in answers if a.started > recovered]
    assert after and [describe(a) for a in after if not normal(a)] == []
    assert recovery < 10
    print(f"\nrecovered {recovery:.2f} s after the restart; {len(answers)} answers")


def test_database_errors_do_not_carry_the_bound_values(tmp_path):
    """A failing statement's message names the columns, never the resident's data."""
    assert engine_options({})["hide_parameters"] is True
    app = make_app(f"sqlite:///{tmp_path / 'hidden.sqlite3'}")
    with app.app_context():
        with pytest.raises(sa_exc.DBAPIError) as failure:
            db.session.execute(sa.text("SELECT * FROM no_such_table WHERE x = :v"), {"v": "Dupont"})
        assert "Dupont" not in str(failure.value)
