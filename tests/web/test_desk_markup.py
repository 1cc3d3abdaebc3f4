"""Keyboard and reading aids visible in the markup, without a browser: the skip link comes
first, the search box is labelled and announces its shortcut, focus styles are never
removed, the result page says where to go before the rest, and it prints."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.web.html import main_content, text_of

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "proxiservices" / "static"
DOCELLES = "88135"
PAGES = [
    "/",
    f"/themes/logement?commune={DOCELLES}",
    f"/orientation?need=aide-logement&commune={DOCELLES}",
    f"/recherche?q=carte+grise&commune={DOCELLES}",
    "/connexion",
]


class _Focusables(HTMLParser):
    """Elements reachable with Tab, in document order, with their attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []
        self.labels: dict[str, str] = {}
        self._label: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "label" and a.get("for"):
            self._label = a["for"]
            self.labels[self._label] = ""
        tabbable = (
            (tag == "a" and "href" in a)
            or tag in ("button", "select", "textarea", "summary")
            or (tag == "input" and a.get("type") != "hidden")
            or a.get("tabindex", "-1").isdigit()
        )
        if tabbable and "disabled" not in a:
            self.found.append((tag, a))

    def handle_data(self, data):
        if self._label:
            self.labels[self._label] += data

    def handle_endtag(self, tag):
        if tag == "label":
            self._label = None


def parse(html: str) -> _Focusables:
    parser = _Focusables()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("url", PAGES)
def test_skip_link_is_the_first_stop_and_leads_to_main(client, url):
    html = client.get(url).get_data(as_text=True)
    first_tag, first = parse(html).found[0]
    assert first_tag == "a" and first.get("class") == "skip-link", (url, first)
    assert first["href"] == "#main"
    assert re.search(r'<a class="skip-link" href="#main">Aller au contenu</a>', html)
    assert re.search(r'<main id="main"[^>]*tabindex="-1"', html), "main takes the focus"


@pytest.mark.parametrize("url", PAGES)
def test_search_box_is_labelled_with_its_shortcut(client, url):
    parser = parse(client.get(url).get_data(as_text=True))
    label = " ".join(parser.labels.get("q-header", "").split())
    assert label.startswith("Rechercher une démarche"), label
    assert "touche /" in label


def test_page_has_a_polite_live_region_outside_the_swapped_content(client):
    html = client.get(f"/themes?commune={DOCELLES}").get_data(as_text=True)
    assert re.search(r'<div id="announcer" class="visually-hidden" aria-live="polite">', html)
    assert 'id="announcer"' not in main_content(html), "a swap of #main would remove it"


def test_result_says_where_to_go_and_what_to_bring_before_the_rest(client):
    html = client.get(f"/orientation?need=aide-logement&commune={DOCELLES}").get_data(as_text=True)
    text = text_of(main_content(html))
    order = [
        text.index("s'adresser à : Caisse d'allocations familiales"),
        text.index("Où aller"),
        text.index("CAF des Vosges"),
        text.index("Documents à apporter"),
        text.index("Faire la démarche soi-même"),
        text.index("Se faire aider"),
        text.index("Et ensuite"),
    ]
    assert order == sorted(order), order
    block = re.search(r'<div class="essentials">(.*?)<section aria-labelledby="help"', html, re.S)
    assert block and 'id="where"' in block.group(1) and 'id="docs"' in block.group(1)


def css(name: str) -> str:
    return re.sub(r"/\*.*?\*/", "", (STATIC / "css" / name).read_text(encoding="utf-8"), flags=re.S)


def rules(text: str) -> list[tuple[str, str]]:
    """(selector, declarations) of every rule, media queries flattened."""
    return [(s.strip(), d) for s, d in re.findall(r"([^{}]+)\{([^{}]*)\}", text)]


def test_focus_is_never_hidden_and_the_ring_is_thick():
    for path in sorted((STATIC / "css").glob("*.css")):
        for selector, body in rules(css(path.name)):
            if ":focus" in selector:
                assert not re.search(r"outline\s*:\s*(none|0)\b", body), (path.name, selector)
    ring = [body for selector, body in rules(css("app.css")) if selector == ":focus-visible"]
    assert ring, "a :focus-visible rule for every element"
    width = re.search(r"outline\s*:\s*(\d+)px solid", ring[0])
    assert width and int(width.group(1)) >= 3, ring[0]


def test_styles_use_no_outside_resource_and_stay_small():
    total = 0
    for path in sorted((STATIC / "css").glob("*.css")):
        text = css(path.name)
        total += len(text.encode())
        assert "@import" not in text, path.name
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), path.name
        assert "@font-face" not in text, f"{path.name}: system fonts only"
    assert total < 40_000, f"{total} bytes of CSS"


def test_base_size_and_targets():
    app = css("app.css")
    assert re.search(r":root\s*\{[^}]*font-size:\s*112\.5%", app), "18 px base"
    assert re.search(r"--target:\s*2\.75rem", app), "44 px targets"
    for selector in ("button, .button", ".choices a", ".breadcrumb a"):
        body = dict(rules(app)).get(selector, "")
        assert "min-height: var(--target)" in body, selector


def test_print_layouts_hide_the_chrome_and_fit_a4():
    app = css("app.css")
    printing = app[app.index("@media print") :]
    hidden = (
        r"\.site-header, \.site-footer, \.skip-link, \.breadcrumb, \.actions"
        r"[^{]*\{ display: none"
    )
    assert re.search(hidden, printing)
    assert "size: A4" in printing
    assert re.search(r"@page\s*\{\s*size:\s*A4", css("fiche.css"))


def test_app_js_documents_its_keys():
    head = (STATIC / "js" / "app.js").read_text(encoding="utf-8").split("*/", 1)[0]
    for key in ("/ ", "↓ ↑", "Entrée", "Échap", "Début / Fin", "history.back()", "#announcer"):
        assert key in head, key


@pytest.mark.parametrize(
    "url",
    [*PAGES, f"/orientation/fiche?need=aide-logement&commune={DOCELLES}", "/ecran"],
)
def test_every_page_names_its_icon_so_no_browser_asks_for_favicon_ico(client, url):
    """Without a declared icon, browsers fetch /favicon.ico on every first visit: a 404
    rendered as a whole page, and noise in the request log."""
    html = client.get(url).get_data(as_text=True)
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    assert icon, url
    with client.get(icon.group(1)) as served:
        assert served.status_code == 200 and served.mimetype == "image/svg+xml"
        assert b"<svg" in served.get_data()
