"""The README's deployment recipe, run for real on loopback: a new PostgreSQL database,
`flask db upgrade`, `flask seed`, then `gunicorn -c gunicorn.conf.py wsgi:app` with two
workers in production mode behind one (pretend) reverse proxy.

PostgreSQL: the server of TEST_DATABASE_URL when set, else the one on 127.0.0.1:5432 if it
answers; the test creates its own database there and drops it. Without either it is skipped.
"""

from __future__ import annotations

import http.client
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.conftest import new_postgres_database

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
LOCAL_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
SECRET = "deploy-test-" + uuid.uuid4().hex
# What a request may carry that must never reach the log.
TOKEN = "tok" + uuid.uuid4().hex
RESIDENT = "Jeanne Dupont-Lefèvre"
CLIENT_IP = "203.0.113.77"
PUBLIC_HOST = "proxiservices.exemple.fr"
LOG_KEYS = ["time", "request_id", "method", "route", "status", "duration_ms", "size", "role", "pid"]
# Settings of the developer's shell that must not leak into the deployed app.
FOREIGN = ("DATABASE_URL", "SECRET_KEY", "FLASK_APP", "FORWARDED_ALLOW_IPS", "GUNICORN_CMD_ARGS")


def postgres_server() -> str | None:
    """An URL on a PostgreSQL server where a database may be created, or None."""
    candidates = [os.environ.get("TEST_DATABASE_URL", ""), LOCAL_SERVER]
    for url in filter(None, candidates):
        if not url.startswith("postgresql"):
            continue
        engine = sa.create_engine(
            url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 2}
        )
        try:
            with engine.connect():
                return url
        except sa.exc.OperationalError:
            continue
        finally:
            engine.dispose()
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def tool(name: str) -> list[str]:
    """The venv's script when there is one (as the README runs it), else `python -m`."""
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


def base_env(**values: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PROXISERVICES_", "MAIL_")) and k not in FOREIGN
    }
    # Nothing leaves the machine: a closed loopback port for mail.
    env.update(MAIL_SERVER=HOST, MAIL_PORT="9", PYTHONUNBUFFERED="1", **values)
    return env


def get(port: int, path: str, headers: dict[str, str] | None = None):
    connection = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        connection.request("GET", path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def stop(process: subprocess.Popen) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    return process.returncode


@pytest.fixture(scope="module")
def database():
    server = postgres_server()
    if server is None:
        pytest.skip("pas de PostgreSQL : ni TEST_DATABASE_URL ni 127.0.0.1:5432")
    with new_postgres_database(server, "deploy") as url:
        yield url


@pytest.fixture(scope="module")
def deployed(database, tmp_path_factory):
    """The recipe of the README, step by step; yields (port, gunicorn process, its stderr)."""
    env = base_env(
        DATABASE_URL=database,
        SECRET_KEY=SECRET,
        PROXISERVICES_ENV="production",
        PROXISERVICES_PROXY_COUNT="1",
    )
    for step in (["db", "upgrade"], ["seed"]):
        done = subprocess.run(
            [*tool("flask"), "--app", "proxiservices", *step],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
    port = free_port()
    stderr_path = tmp_path_factory.mktemp("gunicorn") / "stderr.log"
    env.update(
        PROXISERVICES_BIND=f"{HOST}:{port}",
        PROXISERVICES_WORKERS="2",
        # Anonymous visits kept by the workers for an hour: written only when they stop.
        PROXISERVICES_ACTIVITY_BUFFER_SECONDS="3600",
    )
    with stderr_path.open("w") as stderr:
        process = subprocess.Popen(
            [*tool("gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None, stderr_path.read_text()[-2000:]
            try:
                # The first worker may answer while the master still forks the second
                # (slow on a loaded machine): wait for both.
                if get(port, "/healthz")[0] == 200 and len(children_of(process.pid)) == 2:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "gunicorn did not start 2 workers within 20 s"
            time.sleep(0.1)
        yield port, process, stderr_path
    finally:
        stop(process)


def test_healthz_answers_ok(deployed):
    port, _, _ = deployed
    status, headers, body = get(port, "/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "database": "ok"}
    assert headers["Cache-Control"] == "no-store"


def test_an_orientation_page_is_served_with_the_security_headers(deployed):
    port, _, _ = deployed
    status, headers, body = get(port, "/themes")
    assert status == 200
    assert "Papiers" in body.decode()  # the seeded themes, read from PostgreSQL
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"]


def test_the_proxys_scheme_and_host_are_honoured(deployed):
    port, _, _ = deployed
    feed = "/communes/88160/alertes.atom"
    proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": PUBLIC_HOST}
    status, _, body = get(port, feed, proxied)
    assert status == 200
    assert f"https://{PUBLIC_HOST}{feed}" in body.decode()
    _, _, direct = get(port, feed)
    assert f"http://{HOST}:{port}{feed}" in direct.decode()


def test_production_cookies_are_secure(deployed):
    port, _, _ = deployed
    _, headers, _ = get(port, "/connexion", {"X-Forwarded-Proto": "https"})
    cookie = headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_two_workers_serve(deployed):
    port, process, stderr_path = deployed
    workers = children_of(process.pid)
    assert len(workers) == 2
    served_by: set[int] = set()
    deadline = time.monotonic() + 20
    # Batches of concurrent requests until each worker has logged one: the kernel hands a
    # connection to whichever worker accepts first, so one batch may all land on one.
    while served_by != workers and time.monotonic() < deadline:
        with ThreadPoolExecutor(max_workers=4) as pool:
            answers = set(pool.map(lambda _: get(port, "/healthz")[1]["X-Request-ID"], range(40)))
        served_by |= {
            line["pid"]
            for line in map(json.loads, _json_lines(stderr_path))
            if line["request_id"] in answers
        }
    assert served_by == workers


def _json_lines(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("{")]


def test_request_logs_are_json_without_personal_data(deployed):
    port, _, stderr_path = deployed
    request_id = uuid.uuid4().hex
    status, headers, _ = get(
        port,
        f"/mot-de-passe/{TOKEN}?email=jeanne.dupont%40exemple.fr&nom=Jeanne+Dupont",
        {"X-Forwarded-For": CLIENT_IP, "X-Request-ID": request_id},
    )
    assert headers["X-Request-ID"] == request_id
    get(port, "/themes?commune=88135&nom=Jeanne+Dupont+Docelles", {"X-Forwarded-For": CLIENT_IP})
    time.sleep(0.2)  # the worker writes its line just after the response
    text = stderr_path.read_text()
    lines = [json.loads(line) for line in _json_lines(stderr_path)]
    assert lines and all(list(line) == LOG_KEYS for line in lines)
    (reset,) = [line for line in lines if line["request_id"] == request_id]
    assert (reset["method"], reset["route"], reset["status"]) == (
        "GET",
        "/mot-de-passe/<token>",
        status,
    )
    assert any(line["route"] == "/themes" for line in lines)
    for secret in (TOKEN, "Jeanne", "Dupont", "exemple.fr", CLIENT_IP, "Docelles", SECRET):
        assert secret not in text


def _api_visits(database: str) -> int:
    engine = sa.create_engine(database)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT count(*) FROM activity_event WHERE channel = 'api'")
            ).scalar_one()
    finally:
        engine.dispose()


def test_sigterm_stops_gunicorn_cleanly_and_the_visits_kept_are_written(deployed, database):
    port, process, stderr_path = deployed
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(
            pool.map(
                lambda _: get(port, "/api/v1/orientation?need=aide-logement&commune=88160")[0],
                range(12),
            )
        )
    assert statuses == [200] * 12
    assert _api_visits(database) == 0  # kept by the workers, not written yet
    workers = children_of(process.pid)
    assert stop(process) == 0
    assert "Shutting down: Master" in stderr_path.read_text()
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)
    assert _api_visits(database) == 12  # each worker wrote its own before exiting


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = base_env(
        PROXISERVICES_ENV="production",
        PROXISERVICES_BIND=f"{HOST}:{free_port()}",
        PROXISERVICES_WORKERS="2",
        DATABASE_URL=f"sqlite:///{tmp_path / 'jamais.sqlite3'}",
    )
    process = subprocess.Popen(
        [*tool("gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _, stderr = process.communicate(timeout=20)
    finally:
        stop(process)
    assert process.returncode != 0
    assert "SECRET_KEY manquante" in stderr
    assert "Booting worker" not in stderr  # preload_app: it stops before forking


def test_the_worker_count_is_one_per_core_plus_one_unless_set(monkeypatch):
    # A result page is CPU work in memory: more workers than cores + 1 only add process
    # switches and memory (gunicorn.conf.py says what was measured).
    path = str(ROOT / "gunicorn.conf.py")
    monkeypatch.delenv("PROXISERVICES_WORKERS", raising=False)
    for cores, expected in ((1, 2), (2, 3), (4, 5), (16, 8)):
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid, n=cores: set(range(n)))
        assert runpy.run_path(path)["workers"] == expected
    monkeypatch.setenv("PROXISERVICES_WORKERS", "6")
    assert runpy.run_path(path)["workers"] == 6
