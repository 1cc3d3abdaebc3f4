"""Search as the desk uses it: the results page, the list under the search box, the pages
that avoid dead ends, what is kept of searches that found nothing, and the admin pages.

Pages that may find nothing write to the database (unanswered searches): those run on the
module's `workspace`; the shared `client` only gets queries that find needs."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from proxiservices.domain.catalogue import UNMAPPED_KIND
from proxiservices.extensions import db
from proxiservices.models import Need, Theme, UnansweredSearch
from proxiservices.models.tree import CATALOGUE
from proxiservices.services.catalogue import theme_title
from proxiservices.services.search import search_needs, spelling_suggestions
from tests.queries import count_queries
from tests.web.html import link_to, links, main_content, normalise, text_of, without_title

DOCELLES = "88135"
HTMX = {"HX-Request": "true", "HX-Target": "main", "HX-Current-URL": "http://localhost/"}
TYPING = {
    "HX-Request": "true",
    "HX-Target": "search-suggestions",
    "HX-Trigger": "q-header",
    "HX-Current-URL": "http://localhost/",
}
_RESULT = re.compile(
    r'<li><a href="(?P<href>[^"]+)"[^>]*>(?P<title>.*?)</a>\s*'
    r'<span class="hint">(?P<hint>.*?)</span></li>',
    re.S,
)


class _Tags(HTMLParser):
    """Every start tag of a page with its attributes, in order."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags(markup: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(markup)
    return parser.tags


def results_of(page: str) -> list[dict[str, str]]:
    """The results of a results page (or fragment): title, link and "theme – body" hint."""
    match = re.search(r'<ol class="choices results">(.*?)</ol>', page, re.S)
    if not match:
        return []
    return [
        {
            "href": html.unescape(m["href"]),
            "title": html.unescape(m["title"]).strip(),
            "hint": html.unescape(m["hint"]).strip(),
        }
        for m in _RESULT.finditer(match.group(1))
    ]


def slug_of(href: str) -> str:
    return parse_qs(urlsplit(href).query)["need"][0]


def options_of(fragment: str) -> list[dict[str, str | None]]:
    return [attrs for _, attrs in tags(fragment) if attrs.get("role") == "option"]


def search_page(client, query: str, **params) -> str:
    response = client.get("/recherche", query_string={"q": query, **params})
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def ranked_slugs(client, query: str) -> list[str]:
    return [slug_of(r["href"]) for r in results_of(search_page(client, query))]


# -- the results page -------------------------------------------------------------------


def test_results_page_without_javascript_is_a_whole_page(client):
    response = client.get("/recherche?q=aide+au+logement")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page
    assert re.search(r"<title>Recherche : aide au logement – Proxiservices</title>", page)
    assert 'id="q-header"' in page, "the header and its search box come with the page"
    assert 'value="aide au logement"' in page, "the box keeps what was typed"
    main = main_content(page)
    assert "<h1" in main
    assert results_of(main), "results listed in the main content"


def test_results_fragment_for_htmx_is_the_main_content(client):
    url = f"/recherche?q=aide+au+logement&commune={DOCELLES}"
    full = client.get(url).get_data(as_text=True)
    response = client.get(url, headers=HTMX)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment
    assert 'id="q-header"' not in fragment
    assert re.search(r"<title>[^<]+ – Proxiservices</title>", fragment)
    assert results_of(fragment)
    assert normalise(without_title(fragment)) == normalise(main_content(full))


def test_result_shows_title_theme_and_body_kind(client, seeded):
    results = results_of(search_page(client, "aide au logement"))
    shown = {slug_of(r["href"]): r for r in results}
    assert "aide-logement" in shown
    for slug, result in shown.items():
        need = db.session.scalar(select(Need).where(Need.slug == slug))
        assert result["title"] == need.title
        theme = theme_title(need) or "Sans thème"
        marker = (
            '<span class="badge">fiche service-public.fr</span> '
            if need.origin == CATALOGUE
            else ""
        )
        body = need.body_kind.short_label
        if need.origin == CATALOGUE and need.body_kind_code == UNMAPPED_KIND:
            body = "organisme non répertorié (voir la fiche)"
        assert result["hint"] == f"{marker}{theme} – {body}"
    assert shown["aide-logement"]["hint"] == "Logement – CAF"
    assert any(slug.startswith("sp-") for slug in shown), "fiches are found and marked too"


def test_result_links_go_to_the_orientation_with_a_commune(client):
    results = results_of(search_page(client, "aide au logement", commune=DOCELLES))
    assert results
    for result in results:
        slug = slug_of(result["href"])
        assert result["href"] == f"/orientation?need={slug}&commune={DOCELLES}&via=recherche"
    assert client.get(results[0]["href"]).status_code == 200


def test_result_links_ask_for_the_commune_without_one(client):
    results = results_of(search_page(client, "aide au logement"))
    assert results
    for result in results:
        assert result["href"] == f"/commune?need={slug_of(result['href'])}&via=recherche"
    first = client.get(results[0]["href"])
    assert first.status_code == 200
    assert "commune" in text_of(main_content(first.get_data(as_text=True))).lower()


def test_result_links_use_the_remembered_commune(seeded_app):
    client = seeded_app.test_client()
    client.get(f"/themes?commune={DOCELLES}")
    results = results_of(search_page(client, "aide au logement"))
    assert results[0]["href"].endswith(f"&commune={DOCELLES}&via=recherche")


# -- walk-in queries --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ma carte d'identitée est perdue", "cni-passeport-perte"),
        (
            "bonjour je voudrais refaire ma carte d'identité perdue hier au marché",
            "cni-passeport-perte",
        ),
        ("ma vitale ne marche plus", "carte-vitale"),
        ("vitale cassée", "carte-vitale"),
        ("flashé par un radar", "amende-payer"),
        ("inscripsion liste electorale", "inscription-liste-electorale"),
        ("permis de conduir perdu", "permis-perte"),
        ("demenagement carte grise", "carte-grise-adresse"),
    ],
)
def test_walk_in_query_lands_on_the_right_need_first(client, query, expected):
    slugs = ranked_slugs(client, query)
    assert slugs, query
    assert slugs[0] == expected, slugs[:5]


@pytest.mark.parametrize(
    ("query", "body_kind"),
    [
        ("carte d'identitée perdue", "MAIRIE"),
        ("c'est pour les allocs", "CAF"),
        ("le papier du radar", "ANTAI"),
        ("retraite agricole", "MSA"),
    ],
)
def test_walk_in_query_lands_on_the_right_body_first(client, seeded, query, body_kind):
    slugs = ranked_slugs(client, query)
    assert slugs, query
    kinds = {
        slug: kind for slug, kind in db.session.execute(select(Need.slug, Need.body_kind_code))
    }
    assert kinds[slugs[0]] == body_kind, [(s, kinds[s]) for s in slugs[:5]]


@pytest.mark.parametrize(
    ("query", "first", "behind"),
    [
        ("retraite agricole", "retraite-msa", "demande-retraite"),
        ("carte d'identité volée", "cni-passeport-vol", "cni-passeport-perte"),
        ("passeport perdu", "cni-passeport-perte", "cni-passeport-vol"),
        ("carte grise perdue", "carte-grise-duplicata", "carte-grise-adresse"),
    ],
)
def test_the_situation_outranks_the_general_need(client, query, first, behind):
    slugs = ranked_slugs(client, query)
    assert slugs[0] == first, slugs[:5]
    if behind in slugs:
        assert slugs.index(first) < slugs.index(behind)


def test_typo_in_the_situation_still_finds_it(client):
    assert ranked_slugs(client, "retraitte agricole")[0] == "retraite-msa"


# -- suggestions as the desk types ------------------------------------------------------


def suggest(client, query: str, **params):
    return client.get("/recherche/suggestions", query_string={"q": query, **params}, headers=TYPING)


def test_suggestions_are_a_listbox_of_options(client):
    response = suggest(client, "carte grise", commune=DOCELLES)
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert "<html" not in fragment and "<h1" not in fragment
    listbox = [attrs for _, attrs in tags(fragment) if attrs.get("role") == "listbox"]
    assert len(listbox) == 1
    assert listbox[0]["id"] == "search-listbox", "the combobox's aria-controls"
    options = options_of(fragment)
    assert options
    ids = [o["id"] for o in options]
    assert len(set(ids)) == len(ids)
    for option in options:
        href = html.unescape(option["data-href"])
        assert href == f"/orientation?need={slug_of(href)}&commune={DOCELLES}&via=recherche"
    assert slug_of(html.unescape(options[0]["data-href"])).startswith("carte-grise")


def test_suggestion_without_commune_asks_for_it(client):
    options = options_of(suggest(client, "carte grise").get_data(as_text=True))
    assert options
    for option in options:
        href = html.unescape(option["data-href"])
        assert href == f"/commune?need={slug_of(href)}&via=recherche"


def test_at_most_eight_suggestions(client):
    assert len(results_of(search_page(client, "carte"))) > 8, "a query with many results"
    options = options_of(suggest(client, "carte").get_data(as_text=True))
    assert len(options) == 8


def test_last_word_is_being_typed(client):
    options = options_of(suggest(client, "carte d'ide").get_data(as_text=True))
    slugs = [slug_of(html.unescape(o["data-href"])) for o in options]
    assert slugs and slugs[0].startswith("cni-passeport"), slugs
    assert {"cni-passeport-demande", "cni-passeport-perte"} <= set(slugs)


def test_empty_query_gives_an_empty_list(client):
    for query in ("", "   "):
        response = suggest(client, query)
        assert response.status_code == 200
        assert response.get_data(as_text=True).strip() == ""


def test_suggestions_opened_without_htmx_go_to_the_results_page(client):
    response = client.get(
        "/recherche/suggestions", query_string={"q": "carte d'ide", "commune": DOCELLES}
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/recherche"
    assert parse_qs(location.query) == {"q": ["carte d'ide"], "commune": [DOCELLES]}
    bare = client.get("/recherche/suggestions")
    assert bare.status_code == 302
    assert urlsplit(bare.headers["Location"]).path == "/recherche"


# -- no dead ends -----------------------------------------------------------------------


def test_no_result_says_so_and_offers_the_themes(workspace):
    client = workspace.test_client()
    response = client.get(f"/recherche?q=xqzwv+blorp&commune={DOCELLES}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    text = text_of(main_content(page))
    assert "Aucune démarche ne correspond à « xqzwv blorp »" in text
    assert link_to(page, "parcourir l'arbre des démarches") == f"/themes?commune={DOCELLES}"
    with workspace.app_context():
        themes = list(db.session.scalars(select(Theme)))
    assert themes
    shown = dict(links(page))
    for theme in themes:
        assert shown.get(theme.title) == f"/themes/{theme.slug}?commune={DOCELLES}", theme.slug
    fragment = client.get("/recherche?q=xqzwv+blorp", headers=HTMX).get_data(as_text=True)
    assert "<html" not in fragment
    assert "Aucune démarche ne correspond" in html.unescape(fragment)


def test_misspelt_query_gets_a_close_spelling(workspace):
    query = "pasport"  # two letters off "passeport": beyond the typo tolerance for 7 letters
    with workspace.app_context():
        assert search_needs(query) == []
        close = spelling_suggestions(query)
    assert close and close[0] == "passeport", close
    client = workspace.test_client()
    page = search_page(client, query)
    assert "Vouliez-vous dire" in html.unescape(page)
    href = link_to(page, "« passeport »")
    assert urlsplit(href).path == "/recherche"
    assert parse_qs(urlsplit(href).query) == {"q": ["passeport"]}
    assert results_of(client.get(href).get_data(as_text=True)), "the proposal finds needs"


# -- what is kept of searches that found nothing ----------------------------------------


def unanswered_rows(app, like: str) -> list[UnansweredSearch]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(UnansweredSearch)
                .where(UnansweredSearch.folded.contains(like))
                .order_by(UnansweredSearch.id)
            )
        )
        db.session.expunge_all()
        return rows


def test_unanswered_search_is_kept_without_personal_data(workspace):
    client = workspace.test_client()
    query = "zorbex xqz.wvk@blorp.zz 06 12 34 56 78 quiffle +33 6 98 76 54 32 4521"
    page = search_page(client, query)
    assert "Aucune démarche ne correspond" in html.unescape(page)
    rows = unanswered_rows(workspace, "zorbex")
    assert len(rows) == 1
    row = rows[0]
    assert row.text == "zorbex quiffle"
    assert row.folded == "zorbex quiffle"
    for kept in (row.text, row.folded):
        assert "@" not in kept and "blorp" not in kept
        assert not re.search(r"\d", kept)
    assert row.created_at.tzinfo is not None
    assert abs(datetime.now(UTC) - row.created_at) < timedelta(minutes=5)


def test_keystrokes_of_one_search_make_one_row(workspace):
    client = workspace.test_client()
    for typed in ("vrom", "vromb", "vrombl", "vromblix", "vromblix kx", "vromblix kxaz"):
        response = suggest(client, typed)
        assert response.status_code == 200
        assert "Aucune démarche trouvée" in html.unescape(response.get_data(as_text=True))
    search_page(client, "vromblix kxaz")  # then Enter
    rows = unanswered_rows(workspace, "vrom")
    assert [r.text for r in rows] == ["vromblix kxaz"]

    # Another search by the same desk is another row.
    for typed in ("plouz", "plouzgat"):
        suggest(client, typed)
    rows = unanswered_rows(workspace, "vrom") + unanswered_rows(workspace, "plouz")
    assert sorted(r.text for r in rows) == ["plouzgat", "vromblix kxaz"]


def test_the_same_words_from_another_desk_are_another_search(workspace):
    for _ in range(2):
        search_page(workspace.test_client(), "glomphir")
    assert len(unanswered_rows(workspace, "glomphir")) == 2


def test_short_or_empty_queries_are_not_kept(workspace):
    client = workspace.test_client()
    suggest(client, "qz")
    search_page(client, "4521 06 12 34 56 78")
    with workspace.app_context():
        texts = list(db.session.scalars(select(UnansweredSearch.text)))
    assert "qz" not in texts and "" not in texts


def test_searches_older_than_ninety_days_are_purged(workspace):
    now = datetime.now(UTC)
    with workspace.app_context():
        for label, age in (("ancien", 91), ("recent", 89)):
            db.session.add(
                UnansweredSearch(
                    text=f"fromvitz {label}",
                    folded=f"fromvitz {label}",
                    created_at=now - timedelta(days=age),
                )
            )
        db.session.commit()
    search_page(workspace.test_client(), "skwelbor")  # any search that finds nothing
    kept = [r.text for r in unanswered_rows(workspace, "fromvitz")]
    assert kept == ["fromvitz recent"]


# -- administration ---------------------------------------------------------------------


def test_unanswered_search_keeps_the_residents_commune(workspace):
    client = workspace.test_client()
    search_page(client, "vrombiflux", commune=DOCELLES)
    search_page(workspace.test_client(), "vrombiflux")
    assert [r.commune_insee for r in unanswered_rows(workspace, "vrombiflux")] == [DOCELLES, None]


def test_unanswered_aggregates_show_only_frequent_searches(workspace, client_as):
    for _ in range(5):
        search_page(workspace.test_client(), "grumflot")
    for _ in range(4):
        search_page(workspace.test_client(), "snarfbuckle")
    admin, _ = client_as(workspace, "admin")
    response = admin.get("/admin/recherches-sans-resultat")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    main = normalise(main_content(page))
    assert "<td>grumflot</td><td>5</td>" in main
    assert "snarfbuckle" not in page
    assert "zorbex" not in page, "seen once"
    assert "<h1" in main and "Recherches sans résultat" in text_of(main)
    explain = link_to(page, "expliquer")
    assert urlsplit(explain).path == "/admin/recherche"


def test_unanswered_page_is_for_administrators_only(workspace, client_as):
    desk, _ = client_as(workspace, "receptionist")
    assert desk.get("/admin/recherches-sans-resultat").status_code == 403
    assert desk.get("/admin/recherche?q=retraite").status_code == 403
    for url in ("/admin/recherches-sans-resultat", "/admin/recherche?q=retraite"):
        anonymous = workspace.test_client().get(url)
        assert anonymous.status_code == 302, url
        assert urlsplit(anonymous.headers["Location"]).path == "/connexion"


def _score_table(page: str, title: str) -> list[list[str]]:
    """Rows of the points table of one result of the explanation page."""
    main = main_content(page)
    start = main.index(f"<caption>Points de « {html.escape(title, quote=False)} »</caption>")
    table = main[start : main.index("</table>", start)]
    return [
        [text_of(cell) for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", table.split("<tbody>")[1], re.S)
    ]


def test_admin_explains_the_score(workspace, client_as):
    admin, _ = client_as(workspace, "admin")
    with workspace.app_context():
        title = db.session.scalar(select(Need.title).where(Need.slug == "retraite-msa"))
    response = admin.get("/admin/recherche?q=retraite+agricole")
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    text = text_of(main_content(page))
    assert "Mots retenus" in text
    first = re.search(r"<h3>1\. (.*?) <span", page).group(1)
    assert first == title
    table = _score_table(page, title)
    rows = {row[0]: row for row in table if row[0] != "expression"}
    assert set(rows) == {"retraite", "agricole"}
    fields = {"titre", "vocabulaire", "situation", "organisme", "thème", "résumé"}
    for word, (_, matched, how, field, idf, points) in rows.items():
        assert how == "mot exact", word
        assert field in fields
        assert float(idf) > 0 and re.fullmatch(r"\d+\.\d\d", points)
        assert matched
    score = float(re.search(r"<h3>1\. .*? – score ([\d.]+)</span>", page).group(1))
    assert sum(float(row[5]) for row in table) == pytest.approx(score, abs=0.01 * len(table))

    typo = html.unescape(admin.get("/admin/recherche?q=retraitte+agricole").get_data(as_text=True))
    rows = {row[0]: row for row in _score_table(typo, title)}
    assert rows["retraitte"][2] == "faute de frappe (1 lettre)"
    assert rows["agricole"][2] == "mot exact"
    assert "faute de frappe, 1 lettre" in text_of(main_content(typo)), "the words table"


def test_admin_explanation_fragment(workspace, client_as):
    admin, _ = client_as(workspace, "admin")
    response = admin.get("/admin/recherche?q=retraite", headers=HTMX)
    assert response.status_code == 200
    assert "<html" not in response.get_data(as_text=True)


# -- the header search box --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        f"/themes?commune={DOCELLES}",
        f"/themes/logement?commune={DOCELLES}",
        f"/orientation?need=aide-logement&commune={DOCELLES}",
        f"/recherche?q=carte+grise&commune={DOCELLES}",
        "/organismes/caf-vosges",
        f"/lieux/mairie-{DOCELLES}",
        f"/communes/{DOCELLES}",
        "/sources",
    ],
)
def test_header_search_box_on_every_page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    page = response.get_data(as_text=True)
    header = page[page.index("<header") : page.index("</header>")]
    found = tags(header)
    boxes = [attrs for tag, attrs in found if tag == "input" and attrs.get("role") == "combobox"]
    assert len(boxes) == 1, url
    box = boxes[0]
    assert box["name"] == "q"
    assert box["hx-get"] == "/recherche/suggestions"
    assert box["aria-controls"] == "search-listbox"
    assert box["aria-autocomplete"] == "list"
    assert [a for t, a in found if t == "label" and a.get("for") == box["id"]], "a label"
    form = [a for t, a in found if t == "form" and a.get("role") == "search"]
    assert form and form[0]["action"] == "/recherche" and form[0]["method"] == "get"


# -- queries do not grow with the words or the results ----------------------------------


ONE_WORD = "logement"
TEN_WORDS = "bonjour madame je voudrais refaire ma carte d'identité perdue hier au marché"
MANY = "carte"


def test_results_page_queries_stay_constant(seeded_app, seeded):
    assert len(TEN_WORDS.split()) >= 10
    assert len(search_needs(MANY, 50)) >= 20
    for query in (ONE_WORD, TEN_WORDS):
        assert search_needs(query), "a search that finds needs records nothing"
    client = seeded_app.test_client()
    client.get(f"/recherche?q={ONE_WORD}&commune={DOCELLES}")  # the index is built once
    counts = {
        query: count_queries(seeded_app, client, f"/recherche?q={query}&commune={DOCELLES}")
        for query in (ONE_WORD, TEN_WORDS, MANY)
    }
    assert len(set(counts.values())) == 1, counts


class _Typing:
    """A test client that sends the headers of htmx's search-as-you-type request."""

    def __init__(self, client):
        self.client = client

    def get(self, url):
        return self.client.get(url, headers=TYPING)


def test_suggestions_queries_stay_constant(seeded_app, seeded):
    client = _Typing(seeded_app.test_client())
    client.get(f"/recherche/suggestions?q={ONE_WORD}&commune={DOCELLES}")
    counts = {
        query: count_queries(
            seeded_app, client, f"/recherche/suggestions?q={query}&commune={DOCELLES}"
        )
        for query in (ONE_WORD, TEN_WORDS, MANY, "carte d'ide")
    }
    assert len(set(counts.values())) == 1, counts


def test_search_index_is_not_rebuilt_for_each_search(seeded_app, seeded):
    client = seeded_app.test_client()
    client.get(f"/recherche?q={ONE_WORD}")
    # The directory generation has not moved: no query at all (rebuilding reads the needs).
    assert count_queries(seeded_app, client, f"/recherche?q={MANY}") == 0


# -- input PostgreSQL cannot store ---------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/recherche?q=zorglub%00",
        "/recherche/suggestions?q=zorglub%00",
        "/recherche?q=apl&commune=%00",
        "/?commune=%00",
        "/api/v1/needs?q=%00",
        "/api/v1/needs?q=apl&a%00b=1",  # in a name
        "/recherche?q=%%00",  # "%" then a NUL
    ],
)
def test_a_nul_byte_is_a_clear_400(workspace, url):
    response = workspace.test_client().get(url, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "caractère invalide" in response.get_data(as_text=True)


def test_a_percent_sign_before_00_is_text_not_a_nul(workspace):
    """The query is checked raw: "%2500" is the text "%00", which PostgreSQL stores."""
    response = workspace.test_client().get("/api/v1/needs?q=zorglub%2500")
    assert response.status_code == 200


def test_a_need_found_by_search_keeps_it_through_the_commune_choice(client):
    """Without a commune yet, the result goes through the commune choice and still says
    that search found it, so the figures count it as found by search."""
    page = client.get("/commune?q=Docelles&need=aide-logement&via=recherche")
    assert page.status_code == 200
    assert f"/orientation?need=aide-logement&amp;commune={DOCELLES}&amp;via=recherche" in (
        page.get_data(as_text=True)
    )
    plain = client.get("/commune?q=Docelles&need=aide-logement").get_data(as_text=True)
    assert "via=" not in plain
