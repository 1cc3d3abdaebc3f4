"""Load seeds/ into the database idempotently, keyed on natural keys.

Re-running changes nothing; a row a person edited in the application (edited_at set)
is never overwritten by the seed files.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from proxiservices.domain.places import PLACE_LABELS, RESIDENCE
from proxiservices.domain.text import fold
from proxiservices.domain.tree import QuestionNode, check_tree, iter_questions, parse_tree
from proxiservices.extensions import db
from proxiservices.models import (
    Answer,
    Body,
    BodyKind,
    Commune,
    Need,
    Question,
    Site,
    SiteCoverage,
    Territory,
    Theme,
)
from proxiservices.services.catalogue import seed_catalogue
from proxiservices.services.rows import assign

NATIONAL = "FR"


class SeedError(ValueError):
    """A seed file is inconsistent; the message names the file and the row."""


class Report(Counter):
    def __str__(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.items()))


def _read_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _blank(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _date(value: Any) -> date | None:
    value = _blank(value)
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _float(value: Any) -> float | None:
    value = _blank(value)
    return None if value is None else float(value)


LABELS = {
    "body_kind": "types d'organisme",
    "territory": "territoires",
    "commune": "communes",
    "body": "organismes",
    "site": "lieux",
    "theme": "thèmes",
    "question": "questions",
    "need": "besoins",
}


def _upsert(model: type, key: Mapping[str, Any], values: Mapping[str, Any], report: Report):
    """Create or update one row by natural key; leave person-edited rows alone."""
    name = LABELS.get(model.__tablename__, model.__tablename__)
    row = db.session.scalars(select(model).filter_by(**key)).one_or_none()
    if row is None:
        row = model(**key, **values)
        db.session.add(row)
        report[f"{name} créés"] += 1
        return row
    if getattr(row, "edited_at", None) is not None:
        report[f"{name} modifiés à la main, conservés"] += 1
        return row
    if assign(row, values):
        report[f"{name} mis à jour"] += 1
    return row


def seed_all(seed_dir: str | Path) -> Report:
    """Load every seed file, in dependency order, in one transaction."""
    seed_dir = Path(seed_dir)
    report = Report()
    try:
        _seed_body_kinds(seed_dir / "body_kinds.yaml", report)
        _seed_territories(seed_dir / "territories.csv", report)
        _seed_communes(seed_dir / "communes.csv", seed_dir / "commune_positions.csv", report)
        db.session.flush()
        if (seed_dir / "mairies.csv").exists():
            _seed_mairies(seed_dir / "mairies.csv", report)
        if (seed_dir / "bodies.yaml").exists():
            _seed_bodies(seed_dir / "bodies.yaml", report)
        if (seed_dir / "needs.yaml").exists():
            _seed_tree(seed_dir / "needs.yaml", seed_dir / "tree.yaml", report)
        if (seed_dir / "catalogue" / "fiches.jsonl").exists():
            seed_catalogue(seed_dir / "catalogue", report)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def _seed_body_kinds(path: Path, report: Report) -> None:
    for position, raw in enumerate(_read_yaml(path)["body_kinds"]):
        _upsert(
            BodyKind,
            {"code": raw["code"]},
            {
                "label": raw["label"],
                "short_label": raw.get("short_label") or raw["label"],
                "online_only": bool(raw.get("online_only")),
                "help_desk": bool(raw.get("help_desk")),
                "fallback_kind": _blank(raw.get("fallback_kind")),
                "description": _blank(raw.get("description")),
                "position": position,
            },
            report,
        )


def _seed_territories(path: Path, report: Report) -> None:
    _upsert(Territory, {"code": NATIONAL}, {"kind": "pays", "name": "France"}, report)
    for row in _read_csv(path):
        _upsert(
            Territory, {"code": row["code"]}, {"kind": row["kind"], "name": row["name"]}, report
        )
    db.session.flush()


def _seed_communes(path: Path, positions_path: Path, report: Report) -> None:
    positions = (
        {r["insee"]: r for r in _read_csv(positions_path)} if positions_path.exists() else {}
    )
    for row in _read_csv(path):
        pos = positions.get(row["insee"], {})
        _upsert(
            Commune,
            {"insee": row["insee"]},
            {
                "name": row["name"],
                "folded_name": fold(row["name"]),
                "postcodes": row["postcodes"],
                "population": int(row["population"]) if _blank(row["population"]) else None,
                "departement_code": row["insee"][:2],
                "epci_code": _blank(row["epci"]),
                "latitude": _float(pos.get("latitude")),
                "longitude": _float(pos.get("longitude")),
                "position_approx": pos.get("approximate", "1") != "0",
            },
            report,
        )


def _coverage_codes(raw: Mapping[str, Any] | None) -> set[str]:
    if not raw:
        return set()
    codes = {str(c) for key in ("communes", "epcis", "departements") for c in raw.get(key) or []}
    if raw.get("national"):
        codes.add(NATIONAL)
    return codes


def _sync_coverage(site: Site, codes: set[str], report: Report) -> None:
    if site.edited_at is not None:
        return
    current = {c.area_code: c for c in site.coverage}
    for code in codes - current.keys():
        site.coverage.append(SiteCoverage(area_code=code))
        report["couvertures ajoutées"] += 1
    for code in current.keys() - codes:
        site.coverage.remove(current[code])
        report["couvertures retirées"] += 1


def _site_values(raw: Mapping[str, Any], body: Body, communes: dict[str, Commune]) -> dict:
    insee = str(raw["commune"])
    commune = communes.get(insee)
    if commune is None:
        raise SeedError(f"Lieu {raw['slug']} : commune inconnue {insee}")
    lat, lon = _float(raw.get("latitude")), _float(raw.get("longitude"))
    approx = bool(raw.get("approximate")) if lat is not None else True
    if lat is None or lon is None:
        lat, lon = commune.latitude, commune.longitude
    return {
        "body_id": body.id,
        "name": raw["name"],
        "address": _blank(raw.get("address")),
        "postcode": _blank(str(raw["postcode"])) if raw.get("postcode") else None,
        "commune_insee": insee,
        "latitude": lat,
        "longitude": lon,
        "position_approx": approx,
        "phone": _blank(raw.get("phone")),
        "email": _blank(raw.get("email")),
        "url": _blank(raw.get("url")),
        "opening_hours": _blank(raw.get("opening_hours")),
        "hours_note": _blank(raw.get("hours_note")),
        "accessibility": _blank(raw.get("accessibility")),
        "source": _blank(raw.get("source")),
        "verified_on": _date(raw.get("verified_on")),
        "note": _blank(raw.get("note")),
    }


def _all_communes() -> dict[str, Commune]:
    return {c.insee: c for c in db.session.scalars(select(Commune))}


def _seed_mairies(path: Path, report: Report) -> None:
    communes = _all_communes()
    for row in _read_csv(path):
        slug = f"mairie-{row['insee']}"
        body = _upsert(
            Body,
            {"slug": slug},
            {
                "name": row["name"],
                "kind_code": "MAIRIE",
                "phone": _blank(row["phone"]),
                "website": _blank(row["url"]),
                "email": _blank(row["email"]),
                "source": _blank(row["source"]),
                "verified_on": _date(row["verified_on"]),
            },
            report,
        )
        db.session.flush()
        raw = dict(row, slug=slug, commune=row["insee"], approximate=row["approximate"] == "1")
        site = _upsert(Site, {"slug": slug}, _site_values(raw, body, communes), report)
        _sync_coverage(site, {row["insee"]}, report)


def _seed_bodies(path: Path, report: Report) -> None:
    communes = _all_communes()
    for raw in _read_yaml(path)["bodies"]:
        coverage = _coverage_codes(raw.get("coverage"))
        body = _upsert(
            Body,
            {"slug": raw["slug"]},
            {
                "name": raw["name"],
                "kind_code": raw["kind"],
                "phone": _blank(raw.get("phone")),
                "website": _blank(raw.get("website")),
                "email": _blank(raw.get("email")),
                "description": _blank(raw.get("description")),
                "national": NATIONAL in coverage,
                "source": _blank(raw.get("source")),
                "verified_on": _date(raw.get("verified_on")),
                "note": _blank(raw.get("note")),
            },
            report,
        )
        db.session.flush()
        for site_raw in raw.get("sites") or []:
            site = _upsert(
                Site, {"slug": site_raw["slug"]}, _site_values(site_raw, body, communes), report
            )
            own = _coverage_codes(site_raw.get("coverage"))
            _sync_coverage(site, own or coverage, report)


def _need_values(raw: Mapping[str, Any], themes: dict[str, Theme]) -> dict[str, Any]:
    theme = themes.get(raw.get("theme"))
    if theme is None:
        raise SeedError(f"Besoin {raw['slug']} : thème inconnu {raw.get('theme')}")
    return {
        "title": raw["title"],
        "theme_id": theme.id,
        "summary": _blank(raw.get("summary")),
        "keywords": [str(k) for k in raw.get("keywords") or []],
        "situations": [str(k) for k in raw.get("situations") or []],
        "body_kind_code": raw["body_kind"],
        "documents": list(raw.get("documents") or []),
        "online_url": _blank(raw.get("online_url")),
        "online_label": _blank(raw.get("online_label")),
        "self_service": list(raw.get("self_service") or []),
        "help_kinds": list(raw.get("help_kinds") or []),
        "request_possible": bool(raw.get("request_possible")),
        "place": raw.get("place") or RESIDENCE,
        "notice": _blank(raw.get("notice")),
        "notice_url": _blank(raw.get("notice_url")),
        "source_url": _blank(raw.get("source_url")),
    }


def _seed_tree(needs_path: Path, tree_path: Path, report: Report) -> None:
    raw_needs = _read_yaml(needs_path)["needs"]
    kinds = set(db.session.scalars(select(BodyKind.code)))
    for raw in raw_needs:
        unknown = ({raw["body_kind"]} | set(raw.get("help_kinds") or [])) - kinds
        if unknown:
            raise SeedError(f"Besoin {raw['slug']} : type d'organisme inconnu {unknown}")
        if raw.get("place", RESIDENCE) not in PLACE_LABELS:
            raise SeedError(f"Besoin {raw['slug']} : lieu compétent inconnu {raw['place']}")
    tree = parse_tree(_read_yaml(tree_path))
    check_tree(tree, {n["slug"] for n in raw_needs})

    themes: dict[str, Theme] = {}
    for position, node in enumerate(tree):
        themes[node.slug] = _upsert(
            Theme,
            {"slug": node.slug},
            {"title": node.title, "description": node.description, "position": position},
            report,
        )
    db.session.flush()
    needs = {
        raw["slug"]: _upsert(Need, {"slug": raw["slug"]}, _need_values(raw, themes), report)
        for raw in raw_needs
    }
    questions: dict[str, Question] = {}
    for theme, parent, node in iter_questions(tree):
        questions[node.slug] = _upsert(
            Question,
            {"slug": node.slug},
            {
                "text": node.text,
                "help": node.help,
                "theme_id": themes[theme.slug].id,
                "parent_id": questions[parent.slug].id if parent else None,
            },
            report,
        )
        db.session.flush()
    for _theme, _parent, node in iter_questions(tree):
        _sync_answers(questions[node.slug], node, questions, needs, report)


def _sync_answers(
    question: Question,
    node: QuestionNode,
    questions: Mapping[str, Question],
    needs: Mapping[str, Need],
    report: Report,
) -> None:
    if question.edited_at is not None:
        return
    wanted = [
        (
            a.label,
            questions[a.question.slug].id if a.question else None,
            needs[a.need].id if a.need else None,
        )
        for a in node.answers
    ]
    current = [(a.label, a.next_question_id, a.need_id) for a in question.answers]
    if wanted == current:
        return
    question.answers.clear()
    db.session.flush()
    for position, (label, next_id, need_id) in enumerate(wanted):
        question.answers.append(
            Answer(position=position, label=label, next_question_id=next_id, need_id=need_id)
        )
    report["réponses réécrites"] += 1
