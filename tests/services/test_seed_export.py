"""Exporting the directory and the tree to the seeds/ format: seeding an empty database
from the export gives the same rows, table by table; an unchanged database reproduces the
committed seed data."""

from __future__ import annotations

import csv
import difflib
import io
from pathlib import Path

import pytest
import yaml
from flask_migrate import upgrade
from sqlalchemy import select

from proxiservices.extensions import db
from proxiservices.models import (
    Answer,
    Body,
    BodyKind,
    CatalogueTheme,
    Commune,
    Need,
    Question,
    Site,
    SiteCoverage,
    Territory,
    Theme,
)
from proxiservices.services.seed_export import _bodies, export_seeds, mairies_csv
from proxiservices.services.seeding import seed_all
from tests.conftest import ROOT, make_app, scratch_database

SEEDS = ROOT / "seeds"
MODELS = (
    BodyKind, Territory, Commune, Body, Site, SiteCoverage, Theme, Question, Answer, Need,
    CatalogueTheme,
)  # fmt: skip
# Tables whose integer ids are replaced by their natural key in the comparison.
NATURAL_KEYS = {
    "body": "slug",
    "site": "slug",
    "theme": "slug",
    "question": "slug",
    "need": "slug",
    "catalogue_theme": "code",
}


def table_contents() -> dict[str, list[tuple]]:
    """Every row of the seeded tables, ids replaced by natural keys, sorted."""
    keys = {
        table: dict(db.session.execute(select(model.id, getattr(model, key))).all())
        for model in MODELS
        for table, key in NATURAL_KEYS.items()
        if model.__tablename__ == table
    }
    contents = {}
    for model in MODELS:
        table = model.__table__
        rows = []
        for row in db.session.execute(select(table)).mappings():
            values = []
            for column in table.columns:
                if column.name == "id" and table.name in NATURAL_KEYS | {
                    "answer": None,
                    "site_coverage": None,
                }:
                    continue
                value = row[column.name]
                targets = [fk.column.table.name for fk in column.foreign_keys]
                if targets and targets[0] in keys and value is not None:
                    value = keys[targets[0]][value]
                values.append((column.name, value))
            rows.append(tuple(values))
        contents[table.name] = sorted(rows, key=repr)
    return contents


@pytest.fixture(scope="module")
def exported(seeded_app, tmp_path_factory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("export") / "seeds"
    with seeded_app.app_context():
        written = export_seeds(folder, SEEDS)
        original = table_contents()
        db.session.rollback()
    assert "bodies.yaml" in written
    return folder, original


def test_seeding_an_empty_database_from_the_export_gives_the_same_rows(exported, tmp_path):
    folder, original = exported
    with scratch_database(tmp_path, "reseeded") as url:
        app = make_app(url)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            seed_all(folder)
            again = table_contents()
            db.session.remove()
            db.engine.dispose()
    assert set(again) == set(original)
    for table in original:
        assert len(again[table]) == len(original[table]), table
        assert again[table] == original[table], f"table {table} differs after the round trip"
    assert len(original["site"]) > 500 and len(original["need"]) > 100


@pytest.mark.parametrize("name", ["body_kinds.yaml", "bodies.yaml", "needs.yaml", "tree.yaml"])
def test_the_yaml_files_hold_the_same_data_as_the_committed_ones(exported, name):
    folder, _original = exported
    mine = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
    theirs = yaml.safe_load((SEEDS / name).read_text(encoding="utf-8"))

    def without_nulls(value):
        if isinstance(value, dict):
            return {k: without_nulls(v) for k, v in value.items() if v not in (None, [], "")}
        if isinstance(value, list):
            return [without_nulls(v) for v in value]
        return value

    if name == "bodies.yaml":
        # A body's coverage is stored on its sites: a body without sites keeps none.
        for body in theirs["bodies"]:
            if (
                not body.get("sites")
                and body.get("coverage")
                and not body["coverage"].get("national")
            ):
                body["coverage"] = None
        for body in theirs["bodies"] + mine["bodies"]:
            for site in body.get("sites") or []:
                site["postcode"] = str(site["postcode"]) if site.get("postcode") else None
    if name == "needs.yaml":
        for need in theirs["needs"]:
            need.setdefault("place", "residence")
            # Seeding reads keywords such as 115 or 3919 as text.
            for key in ("keywords", "situations"):
                need[key] = [str(k) for k in need.get(key) or []]
    assert without_nulls(mine) == without_nulls(theirs)


@pytest.mark.parametrize(
    ("name", "closeness"),
    [
        ("territories.csv", 1.0),
        ("communes.csv", 1.0),
        ("commune_positions.csv", 1.0),
        ("mairies.csv", 0.98),  # `city` is the annuaire's spelling, not kept
        ("body_kinds.yaml", 0.9),  # comments are lost
        ("bodies.yaml", 0.9),
        ("needs.yaml", 0.85),  # explicit nulls and comments are lost
        ("tree.yaml", 0.95),
    ],
)
def test_an_unchanged_database_writes_files_close_to_the_committed_ones(exported, name, closeness):
    folder, _original = exported
    ours = (folder / name).read_text(encoding="utf-8").splitlines()
    committed = (SEEDS / name).read_text(encoding="utf-8").splitlines()
    ratio = difflib.SequenceMatcher(None, committed, ours, autojunk=False).ratio()
    assert ratio >= closeness, f"{name}: {ratio:.3f}"


def test_the_catalogue_is_copied_as_it_is(exported):
    folder, _original = exported
    for path in (SEEDS / "catalogue").iterdir():
        assert (folder / "catalogue" / path.name).read_bytes() == path.read_bytes()


def test_seed_csv_files_keep_values_as_stored_they_are_not_spreadsheet_exports(seeded_app):
    """Seed files are read back by `flask seed`: a `'` added against formulas would be
    loaded as part of the name. Only the mediation CSV export is neutralised."""
    formula = '=HYPERLINK("http://evil.example","x")'
    with seeded_app.app_context():
        try:
            db.session.scalar(select(Site).filter_by(slug="mairie-88135")).name = formula
            rows = list(csv.DictReader(io.StringIO(mairies_csv(_bodies()))))
        finally:
            db.session.rollback()
    (row,) = [r for r in rows if r["insee"] == "88135"]
    assert row["name"] == formula
    assert row["longitude"] == "6.618260"
