"""Dead links: which web addresses the directory and the tree send people to, and what
trying each of them found.

No Flask and no database here: the service hands in plain rows and stores the results.
Trying an address uses the standard library only (urllib), so a check needs no package.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import zip_longest
from typing import Any
from urllib.parse import urlsplit

CURATED = "curated"

FIELD_LABELS = {
    "url": "site web du lieu",
    "website": "site web de l'organisme",
    "online_url": "démarche en ligne",
    "notice_url": "lien de l'avertissement",
    "source_url": "source",
    "online_services": "service en ligne",
}
KIND_LABELS = {"site": "lieu", "body": "organisme", "need": "démarche"}

# A server that answers HEAD with an error is asked again with GET before the link is
# called dead: some refuse HEAD (405, 501) and a few answer it wrongly (403, 404).
PER_HOST = 2  # requests at once to one server, whatever the concurrency


@dataclass(frozen=True)
class Usage:
    """One place an address is shown: a site's website, a need's online procedure..."""

    kind: str  # site | body | need
    slug: str
    label: str
    field: str

    @property
    def field_label(self) -> str:
        return FIELD_LABELS[self.field]

    def describe(self) -> str:
        return f"{KIND_LABELS[self.kind]} « {self.label} » ({self.field_label})"


@dataclass(frozen=True)
class LinkResult:
    url: str
    ok: bool
    status_code: int | None = None
    reason: str | None = None  # in French; None when the link works


def clean_url(value: Any) -> str | None:
    text = value.strip() if isinstance(value, str) else ""
    return text or None


def collect_links(
    sites: Iterable[Sequence[Any]],
    bodies: Iterable[Sequence[Any]],
    needs: Iterable[Sequence[Any]],
) -> dict[str, list[Usage]]:
    """Every address to check, once, with where it is used.

    Rows: sites (slug, name, url); bodies (slug, name, website); needs (slug, title, origin,
    online_url, notice_url, source_url, online_services). The desk's own needs are checked
    fully; catalogue fiches only for their online services: their source is the
    service-public.fr page of the fiche itself (2,926 pages of one site, whose copy is dated
    and says so), not an address the desk sends people to.
    """
    found: dict[str, list[Usage]] = {}

    def add(url: Any, usage: Usage) -> None:
        cleaned = clean_url(url)
        if cleaned is None:
            return
        usages = found.setdefault(cleaned, [])
        if usage not in usages:
            usages.append(usage)

    for slug, name, url in sites:
        add(url, Usage("site", slug, name, "url"))
    for slug, name, website in bodies:
        add(website, Usage("body", slug, name, "website"))
    for slug, title, origin, online_url, notice_url, source_url, services in needs:
        add(online_url, Usage("need", slug, title, "online_url"))
        if origin == CURATED:
            add(notice_url, Usage("need", slug, title, "notice_url"))
            add(source_url, Usage("need", slug, title, "source_url"))
        for service in services or []:
            if isinstance(service, dict):
                add(service.get("url"), Usage("need", slug, title, "online_services"))
    return found


def is_web_address(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def describe_status(code: int) -> tuple[bool, str | None]:
    """Whether an HTTP status (after redirects) means the page is there, and why not."""
    if 200 <= code < 300:
        return True, None
    if code == 401:
        # A login page that asks who you are is a page that works.
        return True, None
    if 300 <= code < 400:
        return False, f"redirection sans fin ou incomplète ({code})"
    if code == 403:
        return False, "accès refusé (403) : peut-être aux seuls robots, à ouvrir à la main"
    if code == 404:
        return False, "page introuvable (404)"
    if code == 410:
        return False, "page supprimée (410)"
    if code == 429:
        return False, "trop de requêtes (429) : à revérifier plus tard"
    if 400 <= code < 500:
        return False, f"requête refusée par le serveur ({code})"
    if 500 <= code < 600:
        return False, f"erreur du serveur ({code})"
    return False, f"réponse inattendue ({code})"


def describe_error(error: BaseException, timeout: float) -> str:
    """A network failure in words an administrator can act on."""
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        return describe_error(error.reason, timeout)
    if isinstance(error, TimeoutError):
        return f"pas de réponse en {timeout:g} s (délai dépassé)"
    if isinstance(error, socket.gaierror):
        return "nom de domaine introuvable"
    if isinstance(error, ConnectionRefusedError):
        return "connexion refusée"
    if isinstance(error, ConnectionResetError | http.client.RemoteDisconnected):
        return "connexion coupée par le serveur"
    if isinstance(error, ssl.SSLCertVerificationError):
        return "certificat TLS invalide"
    if isinstance(error, ssl.SSLError):
        return "erreur TLS (connexion sécurisée impossible)"
    if isinstance(error, http.client.HTTPException):
        return "réponse HTTP illisible"
    if isinstance(error, urllib.error.URLError):
        return f"erreur réseau : {error.reason}"[:300]
    if isinstance(error, OSError):
        return f"erreur réseau : {error.strerror or error}"[:300]
    if isinstance(error, ValueError):
        return "adresse invalide"
    return f"erreur inattendue : {type(error).__name__}"


class _KeepMethod(urllib.request.HTTPRedirectHandler):
    """urllib turns a redirected HEAD into a GET; keep it a HEAD."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            new.method = req.get_method()
        return new


def build_opener() -> urllib.request.OpenerDirector:
    """Redirects followed (urllib's limit of 10); proxies from the environment, as usual."""
    return urllib.request.build_opener(_KeepMethod)


def _status(
    opener: urllib.request.OpenerDirector, url: str, method: str, timeout: float, agent: str
) -> int:
    request = urllib.request.Request(
        url,
        method=method,
        headers={
            "User-Agent": agent,
            "Accept": "text/html,application/xhtml+xml,*/*;q=0.8",
            "Accept-Language": "fr",
        },
    )
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        error.close()
        return error.code


def probe(
    url: str,
    timeout: float,
    agent: str,
    opener: urllib.request.OpenerDirector | None = None,
) -> LinkResult:
    """Try one address: HEAD, confirmed by a GET when HEAD gets an error status. Never
    raises: a network failure is a dead link with its reason."""
    if not is_web_address(url):
        return LinkResult(url, False, None, "adresse invalide (http:// ou https:// attendu)")
    opener = opener or build_opener()
    try:
        code = _status(opener, url, "HEAD", timeout, agent)
        if code >= 400:
            code = _status(opener, url, "GET", timeout, agent)
    except Exception as error:
        return LinkResult(url, False, None, describe_error(error, timeout))
    ok, reason = describe_status(code)
    return LinkResult(url, ok, code, reason)


def interleave_hosts(urls: Iterable[str]) -> list[str]:
    """One address per server in turn, so that a pool does not hit one server at once."""
    by_host: dict[str, list[str]] = {}
    for url in urls:
        by_host.setdefault(host_of(url), []).append(url)
    return [url for batch in zip_longest(*by_host.values()) for url in batch if url is not None]


def check_links(
    urls: Iterable[str],
    timeout: float,
    concurrency: int,
    agent: str,
    try_one: Callable[[str, float, str], LinkResult] = probe,
) -> list[LinkResult]:
    """Try every address with a pool of threads, at most PER_HOST at once per server; the
    results come back in the order of `urls`."""
    urls = list(urls)
    gates = {host: threading.Semaphore(PER_HOST) for host in map(host_of, urls)}

    def run(url: str) -> LinkResult:
        with gates[host_of(url)]:
            return try_one(url, timeout, agent)

    ordered = interleave_hosts(urls)
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        results = dict(zip(ordered, pool.map(run, ordered), strict=True))
    return [results[url] for url in urls]
