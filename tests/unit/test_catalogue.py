"""The service-public.fr importer on real fiches of the npm copy (tests/data/fiches/):
what it keeps, how it maps "où s'adresser" to body kinds, and what it reports."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import yaml

from proxiservices.domain.catalogue import (
    PIVOT_KINDS,
    PLACE_OVERRIDES,
    RESOURCE_KINDS,
    UNMAPPED_KIND,
    FicheFormatError,
    fiche_record,
    is_procedure_for_individuals,
    mapping_report,
    modernise,
    parse_fiche,
    theme_records,
)
from proxiservices.domain.places import PLACE_LABELS

ROOT = Path(__file__).resolve().parents[2]
FICHES = ROOT / "tests" / "data" / "fiches"


def load(fiche_id: str) -> dict:
    return json.loads((FICHES / f"{fiche_id}.json").read_text(encoding="utf-8"))


def test_a_fiche_keeps_what_the_desk_needs():
    fiche = parse_fiche(load("F2166"))
    assert fiche.slug == "sp-F2166"
    assert fiche.title == "Permis de chasse perdu ou abîmé : quelles démarches pour le refaire ?"
    assert fiche.url == "https://www.service-public.fr/particuliers/vosdroits/F2166"
    # Theme, sub-theme, dossier.
    assert fiche.path == [("N19809", "Loisirs"), ("N19969", "Chasse et pêche"), ("N553", "Chasse")]
    assert fiche.description.startswith("En cas de perte ou de détérioration")
    assert fiche.modified == date(2019, 12, 10)
    assert fiche.kinds == ["PREFECTURE"]
    assert fiche.primary_kind == "PREFECTURE"
    assert [s.title for s in fiche.services] == [
        "Déclaration de perte et demande de duplicata d'un permis de chasser perdu, "
        "détruit, détérioré"
    ]
    assert all(s.url.startswith("https://") for s in fiche.services)


def test_an_office_without_pivot_is_mapped_by_its_resource_and_unmapped_pivots_are_kept():
    """F1341 (identity card): the "mairie délivrant des cartes d'identité" resource has no
    pivot; the consulate pivot has no body kind of ours and is reported, not dropped."""
    fiche = parse_fiche(load("F1341"))
    assert fiche.kinds == ["MAIRIE"]
    assert fiche.place == "equipped"
    assert "ambassade_france_etranger" in fiche.pivots
    assert fiche.unmapped == ["ambassade_france_etranger"]
    assert "Mairie délivrant des cartes d'identité" in fiche.places
    assert fiche_record(fiche)["place"] == "equipped"
    assert fiche.labels == ["Pour un majeur", "Première demande"]


def test_a_fiche_with_no_mapped_office_keeps_its_own_where_to_go():
    fiche = parse_fiche(load("F15819"))
    assert fiche.kinds == []
    assert fiche.primary_kind == UNMAPPED_KIND
    assert fiche.places == ["Fédération départementale des chasseurs"]
    record = fiche_record(fiche)
    assert record["kinds"] == [] and record["where"] == fiche.places
    assert "place" not in record


def test_names_of_2020_become_todays():
    fiche = parse_fiche(load("F89"))
    assert fiche.kinds == ["FRANCE_TRAVAIL"]
    assert fiche.places == ["France Travail"]
    assert modernise("Inscription au Pôle emploi") == "Inscription à France Travail"
    assert modernise("Maison de services au public (MSAP)") == "France Services"
    assert modernise("la MSAP de Bruyères") == "la France Services de Bruyères"
    assert modernise("pôle emploi") == "pôle emploi"  # only the proper name


def test_the_seed_record_is_compact_and_round_trips_through_json():
    record = fiche_record(parse_fiche(load("F2166")))
    assert json.loads(json.dumps(record, ensure_ascii=False)) == record
    assert set(record) == {
        "id", "title", "theme", "description", "keywords", "url", "services", "kinds",
        "where", "modified",
    }  # fmt: skip
    assert record["theme"] == "N553"


def test_themes_come_parents_first_and_sorted():
    fiches = [parse_fiche(load(f)) for f in ("F2166", "F1341", "F15819", "F89")]
    themes = theme_records(fiches)
    codes = [t["code"] for t in themes]
    for theme in themes:
        if theme["parent"]:
            assert codes.index(theme["parent"]) < codes.index(theme["code"])
    tops = [t["title"] for t in themes if t["parent"] is None]
    assert tops == sorted(tops)


def test_the_mapping_report_counts_unmapped_pivots_by_fiche():
    fiches = [parse_fiche(load(f)) for f in ("F2166", "F1341", "F15819", "F89")]
    report = mapping_report(fiches)
    assert report["fiches"] == 4
    assert report["with_kind"] == 3
    assert report["unmapped"] == {"ambassade_france_etranger": 1, "fdc": 1}
    # Offices without pivot named by the fiche left without kind: candidates for the table.
    assert list(report["unmapped_resources"]) == ["R18298 Fédération départementale des chasseurs"]


def test_every_mapped_kind_is_a_body_kind_of_the_seeds():
    seeds = yaml.safe_load((ROOT / "seeds" / "body_kinds.yaml").read_text(encoding="utf-8"))
    codes = {k["code"] for k in seeds["body_kinds"]}
    mapped = {k for k in PIVOT_KINDS.values() if k} | set(RESOURCE_KINDS.values())
    assert mapped <= codes
    assert UNMAPPED_KIND in codes
    # The renamed bodies of the issue: Pôle emploi, MSAP, maison du handicap.
    assert PIVOT_KINDS["pole_emploi"] == "FRANCE_TRAVAIL"
    assert PIVOT_KINDS["msap"] == "FRANCE_SERVICES"
    assert PIVOT_KINDS["maison_handicapees"] == "MDPH"


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"id": "F1", "children": []},
        {"id": "N19810", "children": [{"name": "Publication", "attributes": {"ID": "N19810"}}]},
        {"id": "F1", "children": [{"name": "Publication", "attributes": {"ID": "F1"}}]},
    ],
)
def test_what_is_not_a_fiche_is_refused_with_a_reason(document):
    with pytest.raises(FicheFormatError):
        parse_fiche(document)


def test_only_procedures_for_individuals_are_kept():
    assert is_procedure_for_individuals(load("F2166"))
    assert not is_procedure_for_individuals({"children": []})
    fiche = load("F2166")
    publication = fiche["children"][0]
    publication["attributes"] = {**publication["attributes"], "type": "Recherche guidée"}
    assert not is_procedure_for_individuals(fiche)
    # Several audiences: individuals among them is enough.
    associations = {"type": "element", "name": "Audience", "children": [
        {"type": "text", "text": "Associations"}]}  # fmt: skip
    fiche = load("F2166")
    fiche["children"][0]["children"].insert(0, associations)
    assert is_procedure_for_individuals(fiche)


def test_civil_status_copies_are_asked_where_the_event_took_place():
    assert {"F1427", "F1432", "F1444"} <= set(PLACE_OVERRIDES)
    assert set(PLACE_OVERRIDES.values()) <= set(PLACE_LABELS)


def test_the_committed_catalogue_is_what_the_importer_writes():
    """seeds/catalogue/fiches.jsonl holds these fiches exactly as the importer writes them
    (guards against hand edits that a refresh would silently undo)."""
    lines = (ROOT / "seeds" / "catalogue" / "fiches.jsonl").read_text(encoding="utf-8")
    committed = {r["id"]: r for r in map(json.loads, lines.splitlines())}
    assert len(committed) > 2900
    for fiche_id in ("F2166", "F1341", "F15819", "F89"):
        assert committed[fiche_id] == fiche_record(parse_fiche(load(fiche_id)))
