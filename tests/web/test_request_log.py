"""The request log: one JSON line per request on stderr, naming the route rule, never the path,
the query string, the form, the client address or who the person is."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from proxiservices import create_app
from proxiservices.request_log import enabled, request_id_from, utc_timestamp
from tests.plugins.accounts import csrf_token

KEYS = ["time", "request_id", "method", "route", "status", "duration_ms", "size", "role", "pid"]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
# Personal data and secrets a request can carry; none may reach the log.
RESIDENT = "Jeanne Dupont-Lefèvre"
EMAIL = "jeanne.dupont@exemple.fr"
CLIENT_IP = "203.0.113.77"


@pytest.fixture
def logging_app(seeded_app, monkeypatch):
    """The shared app with its request log on (it is off under TESTING by default)."""
    monkeypatch.setitem(seeded_app.config, "REQUEST_LOG", True)
    return seeded_app


def log_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_a_token_in_the_path_and_personal_data_in_the_query_stay_out(logging_app, capsys):
    token = "tok" + uuid.uuid4().hex
    client = logging_app.test_client()
    capsys.readouterr()
    response = client.get(
        f"/mot-de-passe/{token}",
        query_string={"email": EMAIL, "nom": RESIDENT},
        headers={"X-Forwarded-For": CLIENT_IP, "User-Agent": "Navigateur de Jeanne"},
        environ_base={"REMOTE_ADDR": CLIENT_IP},
    )
    err = capsys.readouterr().err
    (line,) = log_lines(err)
    assert list(line) == KEYS
    assert line["route"] == "/mot-de-passe/<token>"
    assert line["method"] == "GET"
    assert line["status"] == response.status_code
    assert line["size"] == len(response.get_data())
    assert line["pid"] == os.getpid()
    assert line["role"] is None
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert ISO_UTC.fullmatch(line["time"])
    assert response.headers["X-Request-ID"] == line["request_id"]
    for secret in (token, "jeanne", "Dupont", "exemple.fr", CLIENT_IP, "Navigateur", "?"):
        assert secret not in err


def test_search_text_and_a_posted_form_stay_out(logging_app, capsys):
    client = logging_app.test_client()
    token = csrf_token(client)
    capsys.readouterr()
    client.get("/recherche", query_string={"q": RESIDENT})
    client.post(
        "/connexion", data={"email": EMAIL, "password": "mot de passe secret", "csrf_token": token}
    )
    err = capsys.readouterr().err
    lines = log_lines(err)
    assert [(line["method"], line["route"]) for line in lines] == [
        ("GET", "/recherche"),
        ("POST", "/connexion"),
    ]
    for secret in ("Jeanne", "Dupont", EMAIL, "secret", token):
        assert secret not in err


def test_an_unknown_address_logs_no_route_and_a_made_up_method_logs_other(logging_app, capsys):
    client = logging_app.test_client()
    capsys.readouterr()
    client.get(f"/dossier-de-{RESIDENT.replace(' ', '-')}")
    client.open("/", method="JEANNE")
    lines = log_lines(capsys.readouterr().err)
    assert [(line["method"], line["route"], line["status"]) for line in lines] == [
        ("GET", None, 404),
        ("OTHER", None, 405),  # no rule matched that method
    ]


def test_the_signed_in_persons_role_is_logged_not_who_they_are(logging_app, client_as, capsys):
    client, user = client_as(logging_app, "receptionist")
    capsys.readouterr()
    client.get("/")
    err = capsys.readouterr().err
    (line,) = log_lines(err)
    assert line["role"] == "receptionist"
    assert user.email not in err
    assert f'"{user.id}"' not in err and f":{user.id}," not in err


def test_the_proxys_request_id_is_echoed_when_it_looks_like_one(logging_app, capsys):
    nginx_id = uuid.uuid4().hex
    client = logging_app.test_client()
    capsys.readouterr()
    kept = client.get("/healthz", headers={"X-Request-ID": nginx_id})
    replaced = client.get("/healthz", headers={"X-Request-ID": EMAIL})
    first, second = log_lines(capsys.readouterr().err)
    assert kept.headers["X-Request-ID"] == first["request_id"] == nginx_id
    assert replaced.headers["X-Request-ID"] == second["request_id"] != EMAIL
    assert re.fullmatch(r"[0-9a-f]{32}", second["request_id"])


@pytest.mark.parametrize(
    ("header", "kept"),
    [
        ("0123456789abcdef0123456789abcdef", True),
        ("3f1c9a4e-8b2d-4c6e-9f10-2a3b4c5d6e7f", True),
        ("abc", False),  # too short to be an id
        ("x" * 32, False),
        ("10.0.0.1:5123_127.0.0.1:80_1700000000", False),  # HAProxy's default holds the IP
        ("0" * 65, False),
        ("", False),
        (None, False),
    ],
)
def test_request_id_shape(header, kept):
    assert (request_id_from(header) == header) is kept


def test_off_under_testing_unless_asked(seeded_app, monkeypatch, capsys):
    assert seeded_app.config["REQUEST_LOG"] == "auto" and not enabled(seeded_app)
    capsys.readouterr()
    response = seeded_app.test_client().get("/healthz")
    assert "X-Request-ID" not in response.headers
    assert log_lines(capsys.readouterr().err) == []
    monkeypatch.setitem(seeded_app.config, "REQUEST_LOG", "false")
    monkeypatch.setitem(seeded_app.config, "TESTING", False)
    assert not enabled(seeded_app)
    monkeypatch.setitem(seeded_app.config, "REQUEST_LOG", "auto")
    assert enabled(seeded_app)


def test_a_wrong_setting_stops_the_start():
    with pytest.raises(RuntimeError, match="PROXISERVICES_REQUEST_LOG"):
        create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "REQUEST_LOG": "peut-être"}
        )


def test_the_time_is_utc():
    assert utc_timestamp(0) == "1970-01-01T00:00:00.000Z"


def test_a_crash_is_logged_with_the_route_rule_not_the_path(caplog, capsys):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "test"})

    @app.get("/essai/<token>")
    def crash(token):
        raise ValueError("panne")

    token = "tok" + uuid.uuid4().hex
    with caplog.at_level(logging.ERROR, logger="proxiservices"):
        response = app.test_client().get(f"/essai/{token}", query_string={"nom": RESIDENT})
    assert response.status_code == 500
    crash_logs = [r for r in caplog.records if r.name == "proxiservices"]
    assert [r.getMessage() for r in crash_logs] == [
        f"Exception on /essai/<token> [GET] request_id={response.headers['X-Request-ID']}"
    ]
    (line,) = log_lines(capsys.readouterr().err)
    assert (line["route"], line["status"]) == ("/essai/<token>", 500)
    assert token not in caplog.text


@contextmanager
def as_set_up() -> Iterator[logging.Logger]:
    """The request logger as the application leaves it: while a test runs, pytest's logging
    plugin adds its capture handlers to it, which send every line through logging."""
    from proxiservices import request_log

    logger = request_log.log
    saved = logger.handlers
    logger.handlers = [h for h in saved if type(h) is request_log._StderrHandler]
    try:
        yield logger
    finally:
        logger.handlers = saved


def test_lines_go_through_logging_once_it_is_configured_otherwise(logging_app, capsys):
    """The line is written to stderr directly only while the logger is as the app set it up;
    a filter, a handler or a level added by whoever deploys it are obeyed as with logging."""
    client = logging_app.test_client()
    with as_set_up() as logger:

        def not_through_logging(*args, **kwargs):
            raise AssertionError("written through logging")

        logger.info = not_through_logging  # hides Logger.info for this logger
        try:
            capsys.readouterr()
            client.get("/healthz")
        finally:
            del logger.info
        direct = log_lines(capsys.readouterr().err)
        assert [line["route"] for line in direct] == ["/healthz"]

        seen: list[str] = []

        def keep(record: logging.LogRecord) -> bool:
            seen.append(record.getMessage())
            return False  # and drop it

        logger.addFilter(keep)
        try:
            client.get("/healthz")
        finally:
            logger.removeFilter(keep)
        assert log_lines(capsys.readouterr().err) == []
        assert [json.loads(text)["route"] for text in seen] == ["/healthz"]

        logger.setLevel(logging.WARNING)
        try:
            client.get("/healthz")
        finally:
            logger.setLevel(logging.INFO)
        assert log_lines(capsys.readouterr().err) == []

        handler = logging.StreamHandler(stream=io.StringIO())
        logger.addHandler(handler)
        try:
            client.get("/healthz")
        finally:
            logger.removeHandler(handler)
        added = handler.stream.getvalue().splitlines()
        assert [json.loads(text)["route"] for text in added] == ["/healthz"]
        assert [line["route"] for line in log_lines(capsys.readouterr().err)] == ["/healthz"]


def test_a_stderr_that_cannot_be_written_never_fails_the_page(logging_app, monkeypatch):
    class Broken:
        def write(self, text):
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("sys.stderr", Broken())
    monkeypatch.setattr(logging, "raiseExceptions", False)  # as in production
    with as_set_up():
        assert logging_app.test_client().get("/healthz").status_code == 200
