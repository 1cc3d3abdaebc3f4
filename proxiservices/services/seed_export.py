"""Write the directory and the tree back to the `seeds/` format, so that edits made in the
application can be reviewed and versioned like the seed files themselves.

Seeding an empty database from the exported folder gives the same rows (tested). YAML
comments of the committed files are not kept: they are not in the database.

The CSV files here are seed files, not spreadsheet exports: they are read back by
`flask seed` and compared line by line in version control, so every value is written
exactly as stored. Cells that look like formulas are NOT prefixed with `'` (that would
change the data the loader reads back); the export meant for spreadsheets is the mediation
CSV (domain/mediation.py `write_csv`), which is neutralised.
"""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from proxiservices.extensions import db
from proxiservices.models import (
    Body,
    BodyKind,
    Commune,
    Need,
    Question,
    Site,
    Territory,
    Theme,
)
from proxiservices.models.tree import CURATED
from proxiservices.services.seeding import NATIONAL

MAIRIE_COLUMNS = (
    "insee,name,address,postcode,city,latitude,longitude,approximate,phone,email,url,"
    "opening_hours,hours_note,accessibility,source,verified_on"
).split(",")
CATALOGUE = "catalogue"


class _Text(str):
    """A string written in double quotes, as people write text in the seed files."""


class _Flow(list):
    """A short list written on one line: [a, b]."""


class _FlowMap(dict):
    """A short mapping written on one line: {communes: ["88001"]}."""


class _Dumper(yaml.SafeDumper):
    """Indents list items under their key, as the seed files are written."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_Dumper.add_representer(
    _Text, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", str(v), style='"')
)
_Dumper.add_representer(
    _Flow, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _FlowMap, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True)
)


def _dump(data: Any, header: str) -> str:
    text = yaml.dump(
        data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100_000, indent=2
    )
    # A blank line before each top-level entry, as in the hand-written files.
    lines = []
    for line in text.splitlines():
        if line.startswith("  - "):
            lines.append("")
        lines.append(line)
    return header + "\n".join(lines) + "\n"


def _text(value: str | None) -> _Text | None:
    return None if value is None else _Text(value)


def _texts(values: Iterable[str]) -> _Flow:
    return _Flow(_Text(v) for v in values)


def _date(value: Any) -> _Text | None:
    return None if value is None else _Text(value.isoformat())


def _csv(columns: list[str], rows: Iterable[Iterable[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return out.getvalue()


def _coord(value: float | None) -> str:
    return "" if value is None else f"{value:.6f}"


# --- the files -----------------------------------------------------------------------------


def body_kinds_yaml() -> str:
    kinds = db.session.scalars(select(BodyKind).order_by(BodyKind.position, BodyKind.code))
    data = {
        "body_kinds": [
            {
                "code": k.code,
                "label": _Text(k.label),
                "short_label": _Text(k.short_label),
                "online_only": k.online_only,
                "help_desk": k.help_desk,
                "fallback_kind": k.fallback_kind,
                "description": _text(k.description),
            }
            for k in kinds
        ]
    }
    return _dump(data, "# Types d'organismes (BodyKind), exportés de Proxiservices.\n")


def territories_csv() -> str:
    territories = db.session.scalars(
        select(Territory)
        .where(Territory.code != NATIONAL)
        .order_by(Territory.kind.desc(), Territory.code)
    )
    return _csv(["code", "kind", "name"], ((t.code, t.kind, t.name) for t in territories))


def communes_csv() -> str:
    communes = list(db.session.scalars(select(Commune).order_by(Commune.insee)))
    return _csv(
        ["insee", "name", "postcodes", "population", "epci"],
        ((c.insee, c.name, c.postcodes, c.population, c.epci_code) for c in communes),
    )


def commune_positions_csv() -> str:
    communes = db.session.scalars(
        select(Commune).where(Commune.latitude.is_not(None)).order_by(Commune.insee)
    )
    return _csv(
        ["insee", "latitude", "longitude", "approximate", "method"],
        (
            (
                c.insee,
                _coord(c.latitude),
                _coord(c.longitude),
                "1" if c.position_approx else "0",
                "centroid" if c.position_approx else "mairie",
            )
            for c in communes
        ),
    )


def _is_mairie_row(body: Body) -> bool:
    """A town hall of mairies.csv: body `mairie-<INSEE>` with its one site of the same slug."""
    return (
        body.kind_code == "MAIRIE"
        and body.slug.startswith("mairie-")
        and len(body.sites) == 1
        and body.sites[0].slug == body.slug
        and body.sites[0].commune_insee == body.slug.removeprefix("mairie-")
    )


def _bodies() -> list[Body]:
    stmt = (
        select(Body)
        .options(
            selectinload(Body.sites).selectinload(Site.coverage),
            selectinload(Body.sites).selectinload(Site.commune),
        )
        .order_by(Body.id)
    )
    return list(db.session.scalars(stmt))


def mairies_csv(bodies: list[Body]) -> str:
    rows = []
    for body in sorted((b for b in bodies if _is_mairie_row(b)), key=lambda b: b.slug):
        site = body.sites[0]
        rows.append(
            (
                site.commune_insee,
                site.name,
                site.address,
                site.postcode,
                site.commune.name,
                _coord(site.latitude),
                _coord(site.longitude),
                "1" if site.position_approx else "0",
                site.phone or body.phone,
                site.email or body.email,
                site.url or body.website,
                site.opening_hours,
                site.hours_note,
                site.accessibility,
                site.source or body.source,
                site.verified_on.isoformat() if site.verified_on else None,
            )
        )
    return _csv(MAIRIE_COLUMNS, rows)


def _area_kinds() -> dict[str, str]:
    kinds = {t.code: t.kind for t in db.session.scalars(select(Territory))}
    return kinds


def _coverage(codes: frozenset[str], area_kinds: dict[str, str]) -> _FlowMap | None:
    if not codes:
        return None
    groups: dict[str, list[str]] = {"communes": [], "epcis": [], "departements": []}
    national = False
    for code in sorted(codes):
        if code == NATIONAL:
            national = True
        elif area_kinds.get(code) == "epci":
            groups["epcis"].append(code)
        elif area_kinds.get(code) == "departement":
            groups["departements"].append(code)
        else:
            groups["communes"].append(code)
    result = _FlowMap({k: _texts(v) for k, v in groups.items() if v})
    if national:
        result["national"] = True
    return result


def _body_coverage(body: Body) -> frozenset[str]:
    """The coverage the seed file gives the body: the one most of its sites share, when
    every site has one (seeding gives a body's coverage to its sites that have none)."""
    site_codes = [frozenset(c.area_code for c in s.coverage) for s in body.sites]
    if not site_codes:
        return frozenset({NATIONAL}) if body.national else frozenset()
    if not all(site_codes):
        return frozenset()
    common, _count = Counter(site_codes).most_common(1)[0]
    return common


def _site_entry(site: Site, own: frozenset[str] | None, area_kinds: dict[str, str]) -> dict:
    commune = site.commune
    at_centroid = (
        site.position_approx
        and site.latitude == commune.latitude
        and site.longitude == commune.longitude
    )
    entry: dict[str, Any] = {
        "slug": site.slug,
        "name": _Text(site.name),
        "address": _text(site.address),
        "postcode": _text(site.postcode),
        "commune": _Text(site.commune_insee),
        "latitude": None if at_centroid else site.latitude,
        "longitude": None if at_centroid else site.longitude,
    }
    if not at_centroid and site.position_approx:
        entry["approximate"] = True
    entry.update(
        phone=_text(site.phone),
        email=_text(site.email),
        url=_text(site.url),
        opening_hours=_text(site.opening_hours),
    )
    if site.hours_note:
        entry["hours_note"] = _Text(site.hours_note)
    entry.update(
        accessibility=_text(site.accessibility),
        coverage=_coverage(own, area_kinds) if own else None,
        source=_text(site.source),
        verified_on=_date(site.verified_on),
        note=_text(site.note),
    )
    return entry


def bodies_yaml(bodies: list[Body]) -> str:
    area_kinds = _area_kinds()
    entries = []
    for body in bodies:
        if _is_mairie_row(body):
            continue
        coverage = _body_coverage(body)
        sites = []
        for site in sorted(body.sites, key=lambda s: s.id):
            codes = frozenset(c.area_code for c in site.coverage)
            sites.append(_site_entry(site, None if codes == coverage else codes, area_kinds))
        entries.append(
            {
                "slug": body.slug,
                "name": _Text(body.name),
                "kind": body.kind_code,
                "phone": _text(body.phone),
                "website": _text(body.website),
                "email": _text(body.email),
                "description": _text(body.description),
                "coverage": _coverage(coverage, area_kinds),
                "source": _text(body.source),
                "verified_on": _date(body.verified_on),
                "note": _text(body.note),
                "sites": sites,
            }
        )
    return _dump(
        {"bodies": entries},
        "# Organismes (Body) et lieux d'accueil (Site), exportés de Proxiservices.\n"
        "# Les mairies (une par commune) sont dans mairies.csv. Voir seeds/SOURCES.md.\n",
    )


def needs_yaml() -> str:
    needs = db.session.scalars(
        select(Need)
        .where(Need.origin == CURATED)
        .options(selectinload(Need.theme))
        .order_by(Need.id)
    )
    entries = []
    for n in needs:
        entry: dict[str, Any] = {
            "slug": n.slug,
            "title": _Text(n.title),
            "theme": n.theme.slug if n.theme else None,
            "summary": _text(n.summary),
            "keywords": _Flow(n.keywords or []),
            "situations": _Flow(n.situations or []),
            "body_kind": n.body_kind_code,
            "place": n.place,
            "documents": _texts(n.documents or []),
            "online_url": _text(n.online_url),
            "online_label": _text(n.online_label),
            "self_service": _texts(n.self_service or []),
            "help_kinds": _Flow(n.help_kinds or []),
            "request_possible": n.request_possible,
        }
        for name in ("notice", "notice_url", "source_url"):
            if getattr(n, name):
                entry[name] = _Text(getattr(n, name))
        entries.append(entry)
    return _dump({"needs": entries}, "# Proxiservices — besoins, exportés de l'application.\n")


def tree_yaml() -> str:
    questions = {
        q.id: q
        for q in db.session.scalars(select(Question).options(selectinload(Question.answers)))
    }
    need_slugs = {nid: slug for nid, slug in db.session.execute(select(Need.id, Need.slug))}
    roots = {q.theme_id: q for q in questions.values() if q.parent_id is None}

    def question(q: Question) -> dict[str, Any]:
        entry: dict[str, Any] = {"slug": q.slug, "text": _Text(q.text)}
        if q.help:
            entry["help"] = _Text(q.help)
        answers = []
        for a in q.answers:
            answer: dict[str, Any] = {"label": _Text(a.label)}
            if a.next_question_id is not None:
                answer["question"] = question(questions[a.next_question_id])
            else:
                answer["need"] = need_slugs[a.need_id]
            answers.append(answer)
        entry["answers"] = answers
        return entry

    themes = []
    for theme in db.session.scalars(select(Theme).order_by(Theme.position, Theme.id)):
        entry: dict[str, Any] = {"slug": theme.slug, "title": _Text(theme.title)}
        if theme.description:
            entry["description"] = _Text(theme.description)
        if theme.id in roots:
            entry["question"] = question(roots[theme.id])
        themes.append(entry)
    return _dump({"themes": themes}, "# Proxiservices — arbre d'orientation, exporté.\n")


def seed_files() -> dict[str, str]:
    """Every seed file the database can rebuild, by name relative to the seed folder."""
    bodies = _bodies()
    return {
        "body_kinds.yaml": body_kinds_yaml(),
        "territories.csv": territories_csv(),
        "communes.csv": communes_csv(),
        "commune_positions.csv": commune_positions_csv(),
        "mairies.csv": mairies_csv(bodies),
        "bodies.yaml": bodies_yaml(bodies),
        "needs.yaml": needs_yaml(),
        "tree.yaml": tree_yaml(),
    }


def _catalogue_files(seed_dir: Path | None) -> list[Path]:
    folder = seed_dir / CATALOGUE if seed_dir else None
    if folder is None or not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file())


def export_seeds(target: Path, catalogue_from: Path | None = None) -> list[str]:
    """Write the seed files into `target` (created if needed); the service-public.fr
    catalogue, which comes from an importer and is not edited here, is copied as it is
    from `catalogue_from`/catalogue. Returns the names written."""
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in seed_files().items():
        (target / name).write_text(text, encoding="utf-8")
        written.append(name)
    for path in _catalogue_files(catalogue_from):
        (target / CATALOGUE).mkdir(exist_ok=True)
        shutil.copyfile(path, target / CATALOGUE / path.name)
        written.append(f"{CATALOGUE}/{path.name}")
    return written


def seeds_zip(catalogue_from: Path | None = None) -> bytes:
    """The same files as a zip under a `seeds/` folder, for download."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in seed_files().items():
            archive.writestr(f"seeds/{name}", text)
        for path in _catalogue_files(catalogue_from):
            archive.write(path, f"seeds/{CATALOGUE}/{path.name}")
    return out.getvalue()
