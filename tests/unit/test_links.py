"""Dead links: which addresses are collected, how answers and failures are told apart."""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.error
from datetime import date

import pytest

from proxiservices.domain import links
from proxiservices.domain.links import LinkResult, Usage
from proxiservices.services.upkeep import stale_cutoff

SERVICES = [
    {"title": "Espace particulier", "url": "https://impots.example/espace"},
    {"title": "Sans adresse"},
    "pas un objet",
]


def collect():
    sites = [
        ("mairie-a", "Mairie d'Alpha", "https://alpha.example/"),
        ("mairie-b", "Mairie de Bêta", "  https://alpha.example/  "),
        ("caf-accueil", "CAF", None),
        ("vide", "Vide", "   "),
    ]
    bodies = [("caf", "CAF des Vosges", "https://caf.example"), ("sip", "SIP", None)]
    needs = [
        (
            "apl",
            "Aide au logement",
            "curated",
            "https://caf.example/apl",
            "https://notice.example/apl",
            "https://source.example/apl",
            [],
        ),
        (
            "sp-F1",
            "Impôt sur le revenu",
            "catalogue",
            "https://impots.example/espace",
            None,
            "https://www.service-public.fr/particuliers/vosdroits/F1",
            SERVICES,
        ),
    ]
    return links.collect_links(sites, bodies, needs)


def test_each_address_once_with_every_place_it_is_used():
    found = collect()
    assert found["https://alpha.example/"] == [
        Usage("site", "mairie-a", "Mairie d'Alpha", "url"),
        Usage("site", "mairie-b", "Mairie de Bêta", "url"),
    ]
    assert found["https://caf.example"] == [Usage("body", "caf", "CAF des Vosges", "website")]
    # The fiche's online procedure is also one of its online services: one usage each.
    assert found["https://impots.example/espace"] == [
        Usage("need", "sp-F1", "Impôt sur le revenu", "online_url"),
        Usage("need", "sp-F1", "Impôt sur le revenu", "online_services"),
    ]


def test_curated_needs_are_checked_fully_catalogue_fiches_for_their_online_services():
    found = collect()
    assert set(found) == {
        "https://alpha.example/",
        "https://caf.example",
        "https://caf.example/apl",
        "https://notice.example/apl",
        "https://source.example/apl",
        "https://impots.example/espace",
    }
    assert "https://www.service-public.fr/particuliers/vosdroits/F1" not in found


def test_a_usage_says_what_and_where_in_french():
    usage = Usage("need", "apl", "Aide au logement", "online_url")
    assert usage.describe() == "démarche « Aide au logement » (démarche en ligne)"
    assert Usage("site", "s", "Mairie", "url").field_label == "site web du lieu"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.caf.fr/allocataires", True),
        ("http://127.0.0.1:8000/x", True),
        ("ftp://example.org/file", False),
        ("www.caf.fr", False),
        ("https://", False),
        ("http://[::1", False),
    ],
)
def test_only_http_addresses_are_tried(url, expected):
    assert links.is_web_address(url) is expected


def test_a_malformed_address_is_dead_without_touching_the_network():
    result = links.probe("www.caf.fr/allocataires", 1, "test")
    assert result == LinkResult(
        "www.caf.fr/allocataires", False, None, "adresse invalide (http:// ou https:// attendu)"
    )


@pytest.mark.parametrize(
    ("code", "ok", "reason"),
    [
        (200, True, None),
        (204, True, None),
        (401, True, None),
        (301, False, "redirection sans fin ou incomplète (301)"),
        (403, False, "accès refusé (403) : peut-être aux seuls robots, à ouvrir à la main"),
        (404, False, "page introuvable (404)"),
        (410, False, "page supprimée (410)"),
        (429, False, "trop de requêtes (429) : à revérifier plus tard"),
        (418, False, "requête refusée par le serveur (418)"),
        (500, False, "erreur du serveur (500)"),
        (503, False, "erreur du serveur (503)"),
    ],
)
def test_statuses(code, ok, reason):
    assert links.describe_status(code) == (ok, reason)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (TimeoutError("timed out"), "pas de réponse en 10 s (délai dépassé)"),
        (urllib.error.URLError(TimeoutError()), "pas de réponse en 10 s (délai dépassé)"),
        (
            urllib.error.URLError(socket.gaierror(-2, "Name or service not known")),
            "nom de domaine introuvable",
        ),
        (urllib.error.URLError(ConnectionRefusedError(111, "refused")), "connexion refusée"),
        (http.client.RemoteDisconnected("closed"), "connexion coupée par le serveur"),
        (ConnectionResetError(104, "reset"), "connexion coupée par le serveur"),
        (
            urllib.error.URLError(ssl.SSLCertVerificationError(1, "certificate verify failed")),
            "certificat TLS invalide",
        ),
        (ssl.SSLError(1, "wrong version number"), "erreur TLS (connexion sécurisée impossible)"),
        (http.client.BadStatusLine("nonsense"), "réponse HTTP illisible"),
        (urllib.error.URLError("unknown url type: foo"), "erreur réseau : unknown url type: foo"),
        (OSError(101, "Network is unreachable"), "erreur réseau : Network is unreachable"),
        (ValueError("bad"), "adresse invalide"),
        (RuntimeError("boom"), "erreur inattendue : RuntimeError"),
    ],
)
def test_network_failures_in_french(error, reason):
    assert links.describe_error(error, 10) == reason


def test_servers_take_turns():
    urls = ["https://a.example/1", "https://a.example/2", "https://a.example/3"]
    urls += ["https://b.example/1", "https://c.example/1", "https://b.example/2"]
    assert links.interleave_hosts(urls) == [
        "https://a.example/1",
        "https://b.example/1",
        "https://c.example/1",
        "https://a.example/2",
        "https://b.example/2",
        "https://a.example/3",
    ]


def test_the_pool_keeps_the_order_and_asks_one_server_at_most_twice_at_once():
    urls = [f"https://same.example/{i}" for i in range(8)] + ["https://other.example/"]
    lock = threading.Lock()
    running = {"now": 0, "most": 0}

    def slow(url, timeout, agent):
        with lock:
            if "same" in url:
                running["now"] += 1
                running["most"] = max(running["most"], running["now"])
        time.sleep(0.02)
        with lock:
            if "same" in url:
                running["now"] -= 1
        return LinkResult(url, url.endswith("/3") is False, 200, None)

    results = links.check_links(urls, 1, 8, "test", try_one=slow)
    assert [r.url for r in results] == urls
    assert [r.ok for r in results].count(False) == 1
    assert running["most"] == links.PER_HOST


@pytest.mark.parametrize(
    ("today", "cutoff"),
    [
        (date(2026, 11, 22), date(2026, 5, 22)),
        (date(2026, 3, 1), date(2025, 9, 1)),
        (date(2026, 8, 31), date(2026, 2, 28)),
        (date(2028, 8, 31), date(2028, 2, 29)),
        (date(2026, 6, 15), date(2025, 12, 15)),
    ],
)
def test_six_months_before(today, cutoff):
    assert stale_cutoff(today) == cutoff
