"""The search index: kept in step with the needs, the same on every database, and what is
kept of a search that found nothing."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from sqlalchemy import select

from proxiservices.extensions import db
from proxiservices.models import CatalogueTheme, Need, Theme, UnansweredSearch, User
from proxiservices.services import answer_cache
from proxiservices.services.catalogue import theme_title
from proxiservices.services.search import (
    current_revision,
    need_theme_title,
    search_needs,
    strip_personal,
)
from proxiservices.services.seeding import seed_all
from tests.conftest import ROOT, make_app

PHRASES = [
    case["phrase"]
    for name in ("search_tuning.json", "orientation_public.json")
    for case in json.loads((ROOT / "tests" / "data" / name).read_text(encoding="utf-8"))
]


# -- the same ranking on every database -------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_twin(tmp_path_factory):
    """A SQLite database seeded from the same seeds: with TEST_DATABASE_URL set, the
    workspace is PostgreSQL, so this compares the two engines."""
    folder = tmp_path_factory.mktemp("twin")
    app = make_app(f"sqlite:///{folder / 'twin.sqlite3'}")
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        seed_all(ROOT / "seeds")
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def ranking(app, phrase: str, limit: int = 20) -> list[tuple[str, float]]:
    with app.app_context():
        return [(r.slug, r.score) for r in search_needs(phrase, limit)]


def test_phrases_are_there():
    assert len(PHRASES) > 100


@pytest.mark.parametrize("phrase", PHRASES)
def test_same_results_on_both_databases(workspace, sqlite_twin, phrase):
    assert ranking(workspace, phrase) == ranking(sqlite_twin, phrase)


def test_same_results_while_typing(workspace, sqlite_twin):
    for phrase in PHRASES[:40]:
        typed = phrase[: max(3, len(phrase) * 2 // 3)]
        with workspace.app_context():
            here = [(r.slug, r.score) for r in search_needs(typed, 8, typing=True)]
        with sqlite_twin.app_context():
            there = [(r.slug, r.score) for r in search_needs(typed, 8, typing=True)]
        assert here == there, typed


# -- the index follows the needs --------------------------------------------------------


def test_index_follows_a_new_keyword(workspace):
    with workspace.app_context():
        assert search_needs("zorglubette") == []
        need = db.session.scalar(select(Need).where(Need.slug == "cantine"))
        before = list(need.keywords)
        need.keywords = [*before, "zorglubette"]
        db.session.commit()
        try:
            assert [r.slug for r in search_needs("zorglubette")] == ["cantine"]
        finally:
            need.keywords = before
            db.session.commit()
        assert search_needs("zorglubette") == []


def test_index_follows_a_new_and_a_deleted_need(workspace):
    with workspace.app_context():
        theme = db.session.scalar(select(Theme).where(Theme.slug == "vie-locale"))
        need = Need(
            slug="adoption-quokka",
            title="Adopter un quokka",
            theme_id=theme.id,
            body_kind_code="MAIRIE",
            keywords=["quokka", "marsupial"],
            summary="Essai.",
        )
        db.session.add(need)
        db.session.commit()
        found = search_needs("je voudrais adopter un quokka")
        assert found and found[0].slug == "adoption-quokka"
        assert (found[0].theme, found[0].body_kind) == (theme.title, "MAIRIE")
        assert search_needs("marsupial")[0].slug == "adoption-quokka"

        db.session.delete(need)
        db.session.commit()
        assert "adoption-quokka" not in [r.slug for r in search_needs("quokka marsupial")]


def test_index_follows_a_renamed_theme(workspace):
    with workspace.app_context():
        theme = db.session.scalar(select(Theme).where(Theme.slug == "logement"))
        before = theme.title
        theme.title = "Logement et habitat"
        db.session.commit()
        try:
            found = {r.slug: r for r in search_needs("aide au logement")}
            assert found["aide-logement"].theme == "Logement et habitat"
        finally:
            theme.title = before
            db.session.commit()
        assert {r.slug: r for r in search_needs("aide au logement")}["aide-logement"].theme == (
            before
        )


def test_other_writes_leave_the_index_alone(workspace):
    with workspace.app_context():
        revision = current_revision()
        assert revision
        db.session.add(UnansweredSearch(text="x", folded="x", created_at=datetime.now(UTC)))
        user = db.session.scalars(select(User)).first()
        if user is not None:
            user.name = (user.name or "") + " "
        db.session.commit()
        assert current_revision() == revision
        need = db.session.scalar(select(Need).where(Need.slug == "cantine"))
        need.title = need.title  # not a change
        db.session.commit()
        assert current_revision() == revision


def test_a_change_of_need_gives_a_new_revision(workspace):
    with workspace.app_context():
        revision = current_revision()
        need = db.session.scalar(select(Need).where(Need.slug == "cantine"))
        before = need.summary
        need.summary = (before or "") + " Essai."
        db.session.commit()
        changed = current_revision()
        assert changed != revision
        need.summary = before
        db.session.commit()
        assert current_revision() not in (revision, changed), "never an old revision again"


def test_a_pending_edit_of_a_need_is_searched_before_its_commit(workspace):
    """As before the revision was read outside the ORM: the session's own edits count."""
    with workspace.app_context():
        need = db.session.scalar(select(Need).where(Need.slug == "cantine"))
        before = list(need.keywords or [])
        need.keywords = [*before, "zorglubine"]
        assert [r.slug for r in search_needs("zorglubine")] == ["cantine"]
        db.session.rollback()
        assert search_needs("zorglubine") == []


def test_the_theme_of_each_need_is_its_theme_title(workspace):
    """need_theme_title (API answers) says what theme_title says, need by need, and
    follows a renamed service-public.fr theme."""
    with workspace.app_context():
        needs = list(db.session.scalars(select(Need)))
        assert any(n.theme is None and n.catalogue_theme_id for n in needs)
        assert [need_theme_title(n) for n in needs] == [theme_title(n) for n in needs]
        fiche = next(n for n in needs if n.theme is None and n.catalogue_theme_id)
        top = db.session.get(CatalogueTheme, fiche.catalogue_theme_id)
        while top.parent_id is not None:
            top = db.session.get(CatalogueTheme, top.parent_id)
        before = top.title
        top.title = "Thème renommé"
        db.session.commit()
        try:
            assert need_theme_title(fiche) == "Thème renommé"
        finally:
            top.title = before
            db.session.commit()
        assert need_theme_title(fiche) == before


# -- what may be kept of a query --------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "kept"),
    [
        ("écrire à jean.dupont@example.org svp", "écrire à svp"),
        ("mail: Marie-Claire.Durand+caf@orange.fr", "mail:"),
        ("rappeler au 06 12 34 56 78 demain", "rappeler au demain"),
        ("+33 6 12 34 56 78", ""),
        ("tel +33 6 12 34 56 78 caf", "tel caf"),
        ("0612345678", ""),
        ("son numéro 06.12.34.56.78", "son numéro"),
        ("06-12-34-56-78 apl", "apl"),
        ("0033 6 12 34 56 78", ""),
        ("03 29 82 12 34 mairie", "mairie"),
        ("dossier 4521 caf", "dossier caf"),
        ("j'ai 22 ans", "j'ai ans"),
        ("allocataire n° 1234567", "allocataire n°"),
        ("NIR 1 85 05 78 006 084 36", "NIR"),
        ("carte d'identité perdue", "carte d'identité perdue"),
        # Digits and at signs typed in other Unicode forms, and control characters.
        ("zorglub x⁰⁶¹²³⁴⁵⁶⁷⁸", "zorglub x"),
        ("zorglub ①②③④⑤⑥", "zorglub"),
        ("écrire à jean.dupont＠gmail.com", "écrire à"),
        ("zorglub\x00\x07 blorp", "zorglub blorp"),
        ("ｚｏｒｇｌｕｂ ０６１２", "zorglub"),
    ],
)
def test_strip_personal(query, kept):
    assert strip_personal(query) == kept


def test_strip_personal_never_keeps_digits_or_addresses():
    for query in (
        "06 12 34 56 78",
        "appelez moi 0612345678 ou a.b@c.fr",
        "2eme enfant né le 12/03/2024",
        "x" * 300 + " 06 12 34 56 78",
    ):
        kept = strip_personal(query)
        assert not re.search(r"\d", kept)
        assert "@" not in kept
        assert len(kept) <= 200


def test_a_need_edited_by_another_process_is_searched_after_the_generation_check(workspace):
    """Another worker's commit moves the revision and the directory generation (here by
    hand, on a connection of our own): this process searches it once it reads the
    generation again (DIRECTORY_CHECK_SECONDS), and runs no query for a search until then."""
    with workspace.app_context():
        search_needs("cantine")  # the index and the generation, read
        engine = sa.create_engine(db.engine.url)
        try:
            with engine.begin() as conn:
                old = conn.execute(
                    sa.text("SELECT keywords FROM need WHERE slug = 'cantine'")
                ).scalar_one()
                keywords = json.loads(old) if isinstance(old, str) else old
                conn.execute(
                    sa.text("UPDATE need SET keywords = :k WHERE slug = 'cantine'"),
                    {"k": json.dumps([*keywords, "zorglubine"])},
                )
                conn.execute(sa.text("UPDATE catalogue_revision SET token = 'par-un-autre'"))
                answer_cache.bump(conn)
            db.session.rollback()
            assert search_needs("zorglubine") == []  # within the check period: as it was
            answer_cache._state().read_at = -1e9  # the period is over
            assert [r.slug for r in search_needs("zorglubine")] == ["cantine"]
        finally:
            with engine.begin() as conn:
                conn.execute(
                    sa.text("UPDATE need SET keywords = :k WHERE slug = 'cantine'"),
                    {"k": json.dumps(keywords)},
                )
                conn.execute(sa.text("UPDATE catalogue_revision SET token = 'remis'"))
                answer_cache.bump(conn)
            engine.dispose()
            answer_cache._state().read_at = -1e9
            db.session.rollback()
        assert search_needs("zorglubine") == []
