"""The link checker against a real HTTP server on loopback (never a host outside this
machine): what each kind of answer or failure becomes, what is stored, what is printed."""

from __future__ import annotations

import socket
import threading
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from proxiservices.domain import links
from proxiservices.extensions import db
from proxiservices.models import Body, LinkCheck, Need
from proxiservices.services import upkeep
from tests.factories import build_directory

AGENT = "Mozilla/5.0 (compatible; Proxiservices-liens/1.0; +http://test)"
TIMEOUT = 0.4
SLOW_SECONDS = 3


class Handler(BaseHTTPRequestHandler):
    """200, 404, 500, a redirect, a HEAD refused with 405, a redirect loop and a slow page."""

    def do_HEAD(self):
        self.answer(head=True)

    def do_GET(self):
        self.answer(head=False)

    def answer(self, head: bool) -> None:
        server = self.server
        server.seen.append((self.command, self.path, self.headers.get("User-Agent", "")))
        if self.path == "/slow":
            server.release.wait(SLOW_SECONDS)
        status, location = {
            "/ok": (200, None),
            "/missing": (404, None),
            "/broken": (500, None),
            "/moved": (302, "/ok"),
            "/loop": (302, "/loop"),
            "/no-head": (405 if head else 200, None),
            "/slow": (200, None),
        }.get(self.path, (404, None))
        try:
            self.send_response(status)
            if location:
                self.send_header("Location", location)
            self.send_header("Content-Length", "2")
            self.end_headers()
            if not head:
                self.wfile.write(b"ok")
        except OSError:
            pass  # the checker gave up waiting (the slow page)

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass


@pytest.fixture(scope="module")
def server():
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    httpd.seen = []
    httpd.release = threading.Event()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    # A loopback port nobody listens on: bound, then closed.
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        closed_port = probe_socket.getsockname()[1]
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield SimpleNamespace(
        base=base,
        httpd=httpd,
        refused=f"http://127.0.0.1:{closed_port}/",
        unresolvable="http://lien-mort.invalid/",
    )
    httpd.release.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def test_an_invalid_domain_fails_fast_here():
    """RFC 6761: `.invalid` never resolves; the check must not wait for the network."""
    started = time.monotonic()
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("lien-mort.invalid", 80)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("path", "ok", "status", "reason"),
    [
        ("/ok", True, 200, None),
        ("/missing", False, 404, "page introuvable (404)"),
        ("/broken", False, 500, "erreur du serveur (500)"),
        ("/moved", True, 200, None),
        ("/no-head", True, 200, None),
        ("/loop", False, 302, "redirection sans fin ou incomplète (302)"),
        ("/slow", False, None, f"pas de réponse en {TIMEOUT:g} s (délai dépassé)"),
    ],
)
def test_each_answer(server, path, ok, status, reason):
    result = links.probe(server.base + path, TIMEOUT, AGENT)
    assert (result.ok, result.status_code, result.reason) == (ok, status, reason)


def test_network_failures_are_dead_links_not_crashes(server):
    refused = links.probe(server.refused, TIMEOUT, AGENT)
    unresolvable = links.probe(server.unresolvable, TIMEOUT, AGENT)
    assert (refused.ok, refused.reason) == (False, "connexion refusée")
    assert (unresolvable.ok, unresolvable.reason) == (False, "nom de domaine introuvable")


def test_head_first_then_get_when_head_is_refused_redirects_followed_as_head(server):
    server.httpd.seen.clear()
    links.probe(server.base + "/no-head", TIMEOUT, AGENT)
    links.probe(server.base + "/moved", TIMEOUT, AGENT)
    links.probe(server.base + "/ok", TIMEOUT, AGENT)
    assert [(method, path) for method, path, _ in server.httpd.seen] == [
        ("HEAD", "/no-head"),
        ("GET", "/no-head"),
        ("HEAD", "/moved"),
        ("HEAD", "/ok"),
        ("HEAD", "/ok"),
    ]
    assert {agent for _, _, agent in server.httpd.seen} == {AGENT}


# --- through the database and the command -------------------------------------------------


def point_directory_at(server) -> dict[str, str]:
    """The hand-written directory, every address on the loopback server (or the failures)."""
    built = build_directory()
    urls = {
        "ok": server.base + "/ok",
        "missing": server.base + "/missing",
        "broken": server.base + "/broken",
        "moved": server.base + "/moved",
        "no_head": server.base + "/no-head",
        "slow": server.base + "/slow",
        "refused": server.refused,
        "unresolvable": server.unresolvable,
    }
    for body in db.session.scalars(select(Body)):
        body.website = None
    for need in db.session.scalars(select(Need)):
        need.online_url = None
    built["sites"]["caf"].url = urls["ok"]
    built["sites"]["mairie-A"].url = urls["missing"]
    built["sites"]["mairie-B"].url = urls["missing"]
    db.session.get(Body, built["sites"]["fs"].body_id).website = urls["moved"]
    apl = built["needs"]["apl"]
    apl.online_url, apl.notice_url, apl.source_url = urls["no_head"], urls["broken"], urls["slow"]
    fiche = built["needs"]["impots"]
    fiche.origin = "catalogue"
    fiche.source_url = server.base + "/never-checked"
    fiche.online_services = [
        {"title": "Espace", "url": urls["refused"]},
        {"title": "Ailleurs", "url": urls["unresolvable"]},
    ]
    db.session.commit()
    return urls


def stored() -> dict[str, LinkCheck]:
    return {row.url: row for row in db.session.scalars(select(LinkCheck))}


def test_check_stores_one_row_per_address_and_forgets_unused_ones(blank, server):
    urls = point_directory_at(server)
    db.session.add(
        LinkCheck(url="http://127.0.0.1:9/plus-utilise", checked_at=datetime.now(UTC), ok=False)
    )
    db.session.commit()
    first = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    report = upkeep.run_link_check(TIMEOUT, 4, only_dead=False, agent=AGENT, at=first)

    rows = stored()
    assert set(rows) == set(urls.values()), "each address once; the unused one is gone"
    assert server.base + "/never-checked" not in rows, "a fiche's own source is not checked"
    assert {url for url, row in rows.items() if row.ok} == {
        urls["ok"],
        urls["moved"],
        urls["no_head"],
    }
    assert rows[urls["missing"]].status_code == 404
    assert rows[urls["missing"]].error == "page introuvable (404)"
    assert rows[urls["refused"]].error == "connexion refusée"
    assert rows[urls["unresolvable"]].error == "nom de domaine introuvable"
    assert rows[urls["slow"]].status_code is None
    assert {row.checked_at for row in rows.values()} == {first}
    assert len(report.dead) == 5
    assert [u.slug for u in report.usages[urls["missing"]]] == ["mairie-88001", "mairie-88002"]

    # Again, later: the same rows, updated in place.
    ids = {url: row.id for url, row in rows.items()}
    second = datetime(2026, 11, 8, 3, 0, tzinfo=UTC)
    upkeep.run_link_check(TIMEOUT, 4, only_dead=False, agent=AGENT, at=second)
    db.session.expire_all()
    rows = stored()
    assert {url: row.id for url, row in rows.items()} == ids
    assert {row.checked_at for row in rows.values()} == {second}


def test_only_dead_rechecks_the_dead_links_only(blank, server):
    urls = point_directory_at(server)
    first = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)
    upkeep.run_link_check(TIMEOUT, 4, only_dead=False, agent=AGENT, at=first)
    # The administrator fixes the site's address; the dead page now answers.
    db.session.expire_all()
    later = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
    report = upkeep.run_link_check(TIMEOUT, 4, only_dead=True, agent=AGENT, at=later)
    assert {r.url for r in report.results} == {
        urls[k] for k in ("missing", "broken", "slow", "refused", "unresolvable")
    }
    db.session.expire_all()
    rows = stored()
    assert rows[urls["ok"]].checked_at == first
    assert rows[urls["missing"]].checked_at == later


def test_the_command_prints_a_french_summary_and_where_dead_links_are_used(
    blank, scratch_app, server
):
    urls = point_directory_at(server)
    result = scratch_app.test_cli_runner().invoke(
        args=["links", "check", "--timeout", str(TIMEOUT), "--concurrency", "3"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "8 adresses vérifiées : 3 fonctionnent, 5 mortes." in out
    assert f"{urls['missing']}\n  page introuvable (404)\n" in out
    assert "utilisé par : lieu « mairie-88001 » (site web du lieu)" in out
    assert "utilisé par : démarche « apl » (lien de l'avertissement)" in out
    assert f"{urls['unresolvable']}\n  nom de domaine introuvable\n" in out
    assert urls["ok"] not in out
    assert len(stored()) == 8

    again = scratch_app.test_cli_runner().invoke(
        args=["links", "check", "--only-dead", "--timeout", str(TIMEOUT)]
    )
    assert again.exit_code == 0, again.output
    assert "5 liens morts revérifiés : 0 fonctionnent, 5 mortes." in again.output


def test_the_command_refuses_a_concurrency_of_zero(scratch_app):
    result = scratch_app.test_cli_runner().invoke(args=["links", "check", "--concurrency", "0"])
    assert result.exit_code == 2
    assert "--concurrency" in result.output
