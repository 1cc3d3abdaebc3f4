"""The orientation result page stays light: its HTML plus every CSS, script and image it
loads, each gzip-compressed as a web server would send them, under 60 KB in total.

The desk may sit on a slow rural line; the map (Leaflet) lives on its own page."""

from __future__ import annotations

import gzip
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

DOCELLES = "88135"
BUDGET = 60 * 1024
# The fullest result pages of the seeds for Docelles (measured: identity papers, with the
# equipped town halls; a tax notice, with many online services) and the usual example.
NEEDS = ["aide-logement", "cni-passeport-demande", "avis-impot"]


class _Assets(HTMLParser):
    """Every resource the browser fetches on its own: stylesheets, scripts, images, icons."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        rel = (a.get("rel") or "").lower().split()
        fetched = {"stylesheet", "icon", "preload", "modulepreload"}
        if tag == "link" and a.get("href") and fetched & set(rel):
            self.urls.append(a["href"])
        elif tag in ("script", "img", "iframe") and a.get("src"):
            self.urls.append(a["src"])


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=6))


def breakdown(client, url: str) -> tuple[list[tuple[str, int, int]], list[str]]:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.get_data()
    parser = _Assets()
    parser.feed(html.decode("utf-8"))
    rows = [(url, len(html), gz(html))]
    for asset in parser.urls:
        parts = urlsplit(asset)
        assert not parts.netloc, f"resource from another host: {asset}"
        got = client.get(parts.path + (f"?{parts.query}" if parts.query else ""))
        assert got.status_code == 200, asset
        data = got.get_data()
        got.close()
        rows.append((asset, len(data), gz(data)))
    return rows, parser.urls


def table(rows: list[tuple[str, int, int]]) -> str:
    lines = [f"{'ressource':<60} {'brut':>8} {'gzip':>8}"]
    lines += [f"{name[:60]:<60} {raw:>8} {packed:>8}" for name, raw, packed in rows]
    lines.append(f"{'total':<60} {sum(r[1] for r in rows):>8} {sum(r[2] for r in rows):>8}")
    return "\n".join(lines)


def test_result_page_with_its_assets_is_under_budget(client):
    for need in NEEDS:
        rows, urls = breakdown(client, f"/orientation?need={need}&commune={DOCELLES}")
        total = sum(packed for _, _, packed in rows)
        assert any(u.endswith(".css") for u in urls) and any(u.endswith(".js") for u in urls), urls
        assert total < BUDGET, f"{need}: {total} octets compressés > {BUDGET}\n{table(rows)}"


@pytest.mark.parametrize("forbidden", ["leaflet", "map.js", "map.css"])
def test_result_page_does_not_load_the_map(client, forbidden):
    _, urls = breakdown(client, f"/orientation?need=aide-logement&commune={DOCELLES}")
    assert not [u for u in urls if forbidden in u.lower()], urls


def test_budget_counts_what_the_page_loads(client):
    """The measure can fail: htmx alone weighs a quarter of the budget, compressed."""
    rows, _ = breakdown(client, f"/orientation?need=aide-logement&commune={DOCELLES}")
    htmx = [packed for name, _, packed in rows if "htmx" in name]
    assert htmx and htmx[0] > 10 * 1024, table(rows)
