"""What the result page keeps between requests besides the answer (issue 8): the tree path
of a need, the service-public.fr trail of a fiche and the labels of the other offices it
names. An edit shows on the very next page; a warm page reads none of them again."""

from __future__ import annotations

from sqlalchemy import event, select

from proxiservices.extensions import db
from proxiservices.models import Answer, BodyKind, CatalogueTheme, Need, Question
from proxiservices.services import answer_cache
from proxiservices.services.catalogue import fiche_context
from proxiservices.services.tree import find_need_path
from tests.queries import count_queries
from tests.web.html import text_of

BRUYERES = "88078"


def _breadcrumb(client, need: str) -> str:
    response = client.get("/orientation", query_string={"need": need, "commune": BRUYERES})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    start = html.index('<nav class="breadcrumb"')
    return text_of(html[start : html.index("</nav>", start)])


def _page_text(client, need: str) -> str:
    response = client.get("/orientation", query_string={"need": need, "commune": BRUYERES})
    assert response.status_code == 200
    return text_of(response.get_data(as_text=True))


def test_a_need_moved_in_the_tree_shows_in_the_breadcrumb_at_once(workspace):
    client = workspace.test_client()
    before = _breadcrumb(client, "aide-logement")
    with workspace.app_context():
        need = db.session.scalars(select(Need).where(Need.slug == "aide-logement")).one()
        target = db.session.scalars(
            select(Question)
            .where(Question.theme_id != need.theme_id, Question.parent_id.is_not(None))
            .order_by(Question.id)
        ).first()
        answers = db.session.scalars(select(Answer).where(Answer.need_id == need.id)).all()
        for position, answer in enumerate(answers, start=100):
            answer.question_id, answer.position = target.id, position
        theme_title, question_text = target.theme.title, target.text
        db.session.commit()
    after = _breadcrumb(client, "aide-logement")
    assert after != before
    assert theme_title in after and question_text in after


def test_a_catalogue_theme_renamed_shows_in_the_trail_at_once(workspace):
    client = workspace.test_client()
    with workspace.app_context():
        need = db.session.scalars(select(Need).where(Need.slug == "sp-F2166")).one()
        theme = db.session.get(CatalogueTheme, need.catalogue_theme_id)
        old_title = theme.title
    before = _breadcrumb(client, "sp-F2166")
    assert before.endswith(old_title)  # the fiche's own theme ends the trail
    with workspace.app_context():
        db.session.get(CatalogueTheme, need.catalogue_theme_id).title = "Thème renommé ici"
        db.session.commit()
    assert _breadcrumb(client, "sp-F2166") == before.removesuffix(old_title) + "Thème renommé ici"


def test_the_other_offices_of_a_fiche_show_their_edits_at_once(workspace):
    client = workspace.test_client()
    with workspace.app_context():
        need = db.session.scalars(select(Need).where(Need.slug == "sp-F76")).one()
        slug, code = need.slug, need.other_kinds[0]  # the ADIL, then a Point-justice
        label = db.session.get(BodyKind, code).label
        other = db.session.scalars(
            select(BodyKind).where(BodyKind.code.not_in(need.other_kinds)).order_by(BodyKind.code)
        ).first()
        other_code, other_label = other.code, other.label
    assert f"la fiche cite aussi : {label}" in _page_text(client, slug)
    with workspace.app_context():
        db.session.get(BodyKind, code).label = "Bureau renommé ici"
        db.session.commit()
    assert "la fiche cite aussi : Bureau renommé ici" in _page_text(client, slug)
    with workspace.app_context():
        db.session.scalars(select(Need).where(Need.slug == slug)).one().other_kinds = [other_code]
        db.session.commit()
    assert f"la fiche cite aussi : {other_label}." in _page_text(client, slug)


def test_a_warm_page_reads_neither_path_nor_trail_again(seeded_app):
    client = seeded_app.test_client()
    assert client.get(f"/orientation?need=sp-F2166&commune={BRUYERES}").status_code == 200
    assert client.get(f"/orientation?need=aide-logement&commune={BRUYERES}").status_code == 200
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with seeded_app.test_request_context():
        needs = db.session.scalars(
            select(Need).where(Need.slug.in_(["sp-F2166", "sp-F76", "aide-ccas", "aide-logement"]))
        ).all()
        assert len(needs) == 4
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            shown = [
                (fiche_context(need, seeded_app.config["SEED_DIR"]), find_need_path(need))
                for need in needs
            ]
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
    assert statements == []
    assert sum(bool(path) for _, path in shown) >= 2  # the curated needs have a path
    assert sum(fiche is not None and bool(fiche.trail) for fiche, _ in shown) == 2


def test_a_new_pair_after_warm_up_keeps_a_query_ceiling(seeded_app):
    """After one page, another need for another commune reads its commune and its need and
    writes the visit (its row, then its counts in one statement): no query for the tree
    path, the trail or the labels of the offices."""
    client = seeded_app.test_client()
    with seeded_app.app_context():
        answer_cache.clear()
    assert client.get(f"/orientation?need=sp-F2166&commune={BRUYERES}").status_code == 200
    assert client.get("/orientation?need=aide-logement&commune=88160").status_code == 200
    fiche = count_queries(seeded_app, client, "/orientation?need=sp-F76&commune=88135")
    tree = count_queries(seeded_app, client, "/orientation?need=aide-ccas&commune=88465")
    assert fiche <= 4 and tree <= 4, (fiche, tree)
