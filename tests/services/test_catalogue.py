"""Loading the catalogue seeds: complete, fast enough to query once per table, idempotent,
respectful of edits, and strict about broken files."""

from __future__ import annotations

import json
import shutil
from datetime import datetime

import pytest
from sqlalchemy import event, func, select

from proxiservices.extensions import db
from proxiservices.models import CatalogueTheme, Need
from proxiservices.models.tree import CATALOGUE, CURATED
from proxiservices.services.catalogue import CatalogueError, seed_catalogue, theme_page
from proxiservices.services.seeding import Report, seed_all
from tests.conftest import ROOT

SEEDS = ROOT / "seeds"


def count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(Need).where(*where))


def test_the_catalogue_is_loaded_beside_the_curated_tree(seeded):
    lines = (SEEDS / "catalogue" / "fiches.jsonl").read_text(encoding="utf-8").splitlines()
    assert count(Need.origin == CATALOGUE) == len(lines)
    assert count(Need.origin == CURATED) >= 130
    assert not db.session.scalar(
        select(func.count()).where(Need.origin == CATALOGUE, ~Need.slug.startswith("sp-F"))
    )
    fiche = db.session.scalars(select(Need).where(Need.slug == "sp-F2166")).one()
    assert fiche.body_kind_code == "PREFECTURE"
    assert fiche.theme_id is None
    assert fiche.catalogue_theme.code == "N553"
    assert fiche.catalogue_theme.parent.title == "Chasse et pêche"
    assert fiche.catalogue_theme.parent.parent.title == "Loisirs"
    birth = db.session.scalars(select(Need).where(Need.slug == "sp-F1427")).one()
    assert birth.place == "event"  # a copy comes from the commune of birth
    assert fiche.source_url == "https://www.service-public.fr/particuliers/vosdroits/F2166"
    assert fiche.online_services[0]["url"].startswith("https://")
    assert fiche.online_url == fiche.online_services[0]["url"]
    assert fiche.help_kinds == ["FRANCE_SERVICES", "CONSEILLER_NUMERIQUE"]
    unmapped = db.session.scalars(select(Need).where(Need.slug == "sp-F15819")).one()
    assert unmapped.body_kind_code == "SERVICE_PUBLIC_ONLINE"
    assert unmapped.where_text == "Fédération départementale des chasseurs"


def test_loading_reads_each_table_once_not_once_per_fiche(blank):
    seed_all(SEEDS)
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        report = Report()
        seed_catalogue(SEEDS / "catalogue", report)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert dict(report) == {}
    assert len(statements) < 10


def test_a_second_load_changes_nothing_and_an_edited_fiche_is_kept(blank):
    seed_all(SEEDS)
    fiche = db.session.scalars(select(Need).where(Need.slug == "sp-F2166")).one()
    fiche.title = "Titre revu par l'administrateur"
    fiche.edited_at = datetime(2026, 11, 1, 9, 0)
    other = db.session.scalars(select(Need).where(Need.slug == "sp-F89")).one()
    other.summary = "Modifié sans marquer la modification"
    db.session.commit()
    report = seed_all(SEEDS)
    assert report["fiches du catalogue modifiées à la main, conservées"] == 1
    assert report["fiches du catalogue mises à jour"] == 1
    assert db.session.get(Need, fiche.id).title == "Titre revu par l'administrateur"
    assert db.session.get(Need, other.id).summary != "Modifié sans marquer la modification"


def broken_copy(tmp_path, line: str):
    folder = tmp_path / "catalogue"
    shutil.copytree(SEEDS / "catalogue", folder)
    with (folder / "fiches.jsonl").open("a", encoding="utf-8") as f:
        f.write(line + "\n")
    return folder


@pytest.mark.parametrize(
    "line, message",
    [
        ("{pas du json", "ligne"),
        (json.dumps({"id": "F999999", "title": "X", "url": "u", "kinds": ["LICORNE"]}), "LICORNE"),
        (json.dumps({"id": "F999998", "title": "X", "url": "u", "theme": "N0"}), "N0"),
        (json.dumps({"id": "F2166", "title": "X", "url": "u"}), "en double"),
        (json.dumps({"id": "F999997", "title": " ", "url": "u"}), "titre vide"),
    ],
)
def test_a_broken_line_stops_the_load_and_names_the_line(blank, tmp_path, line, message):
    seed_all(SEEDS)
    folder = broken_copy(tmp_path, line)
    total = len((folder / "fiches.jsonl").read_text(encoding="utf-8").splitlines())
    with pytest.raises(CatalogueError) as error:
        seed_catalogue(folder, Report())
    db.session.rollback()
    assert message in str(error.value)
    assert f"ligne {total}" in str(error.value)


def test_the_theme_hierarchy_counts_the_fiches_below_each_node(seeded):
    top = theme_page(None)
    assert top.theme is None and top.fiches == []
    total = count(Need.origin == CATALOGUE, Need.catalogue_theme_id.is_not(None))
    assert sum(entry.fiches for entry in top.children) == total
    loisirs = next(e for e in top.children if e.title == "Loisirs")
    page = theme_page(loisirs.code)
    sub = next(e for e in page.children if e.title == "Chasse et pêche")
    assert sum(e.fiches for e in page.children) + len(page.fiches) == loisirs.fiches
    chasse = next(e for e in theme_page(sub.code).children if e.title == "Chasse")
    hunting = theme_page(chasse.code)
    assert [t.title for t in hunting.trail] == ["Loisirs", "Chasse et pêche", "Chasse"]
    assert "Examen du permis de chasse" in [n.title for n in hunting.fiches]
    assert len(hunting.fiches) == chasse.fiches
    assert theme_page("N0") is None
    assert db.session.scalar(select(func.count()).select_from(CatalogueTheme)) > 200
