"""The service-public.fr catalogue: loading its seed files, browsing its theme hierarchy."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from proxiservices.domain.catalogue import SLUG_PREFIX, UNMAPPED_KIND
from proxiservices.domain.places import PLACE_LABELS, RESIDENCE
from proxiservices.extensions import db
from proxiservices.models import BodyKind, CatalogueTheme, Need
from proxiservices.models.tree import CATALOGUE
from proxiservices.services import answer_cache
from proxiservices.services.rows import assign

# Where a resident gets help with any fiche: the help desks of DESIGN.md.
HELP_KINDS = ["FRANCE_SERVICES", "CONSEILLER_NUMERIQUE"]


@dataclass(frozen=True)
class Copy:
    """Which copy of the fiches is loaded: shown with its licence wherever they are."""

    version: str
    date: date | None


@lru_cache(maxsize=4)
def read_copy(seed_dir: str) -> Copy:
    """The importer's seeds/catalogue/meta.json (version and date of the npm copy)."""
    path = Path(seed_dir) / "catalogue" / "meta.json"
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Copy("?", None)
    copied = meta.get("copy_date")
    return Copy(str(meta.get("version", "?")), date.fromisoformat(copied) if copied else None)


class CatalogueError(ValueError):
    """A catalogue seed file is inconsistent; the message names the file and the line."""


def seed_catalogue(folder: Path, report: Counter) -> None:
    """Load seeds/catalogue/ in the caller's transaction, with one query per table read
    (a few thousand fiches: a query per row would make `flask seed` slow)."""
    themes = _seed_themes(folder / "themes.csv", report)
    kinds = set(db.session.scalars(select(BodyKind.code)))
    existing = {n.slug: n for n in db.session.scalars(select(Need).where(Need.origin == CATALOGUE))}
    seen: set[str] = set()
    path = folder / "fiches.jsonl"
    with path.open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                values = _fiche_values(record, themes, kinds)
            except (ValueError, KeyError, TypeError) as error:
                raise CatalogueError(f"{path.name}, ligne {number} : {error}") from error
            slug = SLUG_PREFIX + record["id"]
            if slug in seen:
                raise CatalogueError(f"{path.name}, ligne {number} : fiche {slug} en double")
            seen.add(slug)
            need = existing.get(slug)
            if need is None:
                db.session.add(Need(slug=slug, **values))
                report["fiches du catalogue créées"] += 1
            elif need.edited_at is not None:
                report["fiches du catalogue modifiées à la main, conservées"] += 1
            elif assign(need, values):
                report["fiches du catalogue mises à jour"] += 1
    # A fiche gone from the copy may still be named by a request: keep it, say so.
    gone = set(existing) - seen
    if gone:
        report["fiches du catalogue absentes du fichier, conservées"] += len(gone)


def _seed_themes(path: Path, report: Counter) -> dict[str, CatalogueTheme]:
    existing = {t.code: t for t in db.session.scalars(select(CatalogueTheme))}
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for position, row in enumerate(rows):
        code, title, parent_code = row["code"], row["title"].strip(), row["parent"] or None
        if not code or not title:
            raise CatalogueError(f"{path.name}, ligne {position + 2} : code ou titre vide")
        if parent_code and parent_code not in existing:
            raise CatalogueError(
                f"{path.name}, ligne {position + 2} : thème parent {parent_code} inconnu "
                "(les parents viennent avant leurs enfants)"
            )
        parent = existing.get(parent_code) if parent_code else None
        theme = existing.get(code)
        if theme is None:
            theme = CatalogueTheme(code=code, title=title, parent=parent, position=position)
            db.session.add(theme)
            existing[code] = theme
            report["thèmes du catalogue créés"] += 1
        elif (theme.title, theme.parent, theme.position) != (title, parent, position):
            theme.title, theme.parent, theme.position = title, parent, position
            report["thèmes du catalogue mis à jour"] += 1
    db.session.flush()
    return existing


def _fiche_values(
    record: dict[str, Any], themes: dict[str, CatalogueTheme], kinds: set[str]
) -> dict[str, Any]:
    title = record["title"].strip()
    if not title:
        raise ValueError("titre vide")
    fiche_kinds = list(record.get("kinds") or [])
    for kind in fiche_kinds:
        if kind not in kinds:
            raise ValueError(f"type d'organisme inconnu : {kind}")
    theme_code = record.get("theme")
    if theme_code and theme_code not in themes:
        raise ValueError(f"thème inconnu : {theme_code}")
    services = [
        {"title": s["title"], "url": s["url"]} for s in record.get("services") or [] if s["url"]
    ]
    places = [p for p in record.get("where") or [] if p]
    modified = record.get("modified")
    place = record.get("place") or RESIDENCE
    if place not in PLACE_LABELS:
        raise ValueError(f"lieu compétent inconnu : {place}")
    return {
        "title": title,
        "theme_id": None,
        "catalogue_theme_id": themes[theme_code].id if theme_code else None,
        "summary": record.get("description") or None,
        "keywords": list(record.get("keywords") or []),
        "situations": [],
        "body_kind_code": fiche_kinds[0] if fiche_kinds else UNMAPPED_KIND,
        "other_kinds": fiche_kinds[1:],
        "documents": [],
        "online_url": services[0]["url"] if services else None,
        "online_label": services[0]["title"] if services else None,
        "online_services": services,
        "self_service": [],
        "help_kinds": list(HELP_KINDS),
        "request_possible": False,
        "place": place,
        "notice": None,
        "notice_url": None,
        "source_url": record["url"],
        "where_text": "\n".join(places) or None,
        "source_date": date.fromisoformat(modified) if modified else None,
        "origin": CATALOGUE,
    }


# -- browsing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ThemeEntry:
    code: str
    title: str
    fiches: int  # fiches under this node and its children


@dataclass(frozen=True)
class ThemePage:
    theme: CatalogueTheme | None
    trail: list[CatalogueTheme]
    children: list[ThemeEntry]
    fiches: list[Need]


def theme_page(code: str | None) -> ThemePage | None:
    """A node of the hierarchy with its children (and their fiche counts) and its own
    fiches, in three queries whatever the size of the catalogue; None if unknown."""
    themes = list(db.session.scalars(select(CatalogueTheme).order_by(CatalogueTheme.position)))
    by_id = {t.id: t for t in themes}
    current = next((t for t in themes if t.code == code), None) if code else None
    if code and current is None:
        return None
    counts = dict(
        db.session.execute(
            select(Need.catalogue_theme_id, func.count())
            .where(Need.origin == CATALOGUE)
            .group_by(Need.catalogue_theme_id)
        ).all()
    )
    totals: Counter = Counter()
    for theme_id, count in counts.items():
        node = by_id.get(theme_id)
        while node is not None:
            totals[node.id] += count
            node = by_id.get(node.parent_id)
    parent_id = current.id if current else None
    children = [
        ThemeEntry(t.code, t.title, totals[t.id])
        for t in themes
        if t.parent_id == parent_id and totals[t.id]
    ]
    trail = _trail(current, by_id)
    fiches: list[Need] = []
    if current is not None:
        fiches = list(
            db.session.scalars(
                select(Need)
                .where(Need.origin == CATALOGUE, Need.catalogue_theme_id == current.id)
                .order_by(Need.title)
            )
        )
    return ThemePage(current, trail, children, fiches)


def theme_title(need: Need, themes: dict[int, CatalogueTheme] | None = None) -> str | None:
    """The curated theme, or the top of a catalogue fiche's service-public.fr path."""
    if need.theme is not None:
        return need.theme.title
    if need.catalogue_theme_id is None:
        return None
    trail = theme_trail(need, themes)
    return trail[0].title if trail else None


def theme_trail(need: Need, themes: dict[int, CatalogueTheme] | None = None):
    """The path from the top theme down to a catalogue need's own theme; from `themes`
    (all of them by id) when given, so that a loop over many needs queries nothing."""
    if themes is None:
        themes = {t.id: t for t in db.session.scalars(select(CatalogueTheme))}
    return _trail(themes.get(need.catalogue_theme_id), themes)


def _trail(node: CatalogueTheme | None, themes: dict[int, CatalogueTheme]):
    trail: list[CatalogueTheme] = []
    while node is not None:
        trail.insert(0, node)
        node = themes.get(node.parent_id)
    return trail


@dataclass(frozen=True)
class TrailStep:
    """One theme of a fiche's service-public.fr path, as its breadcrumb shows it."""

    code: str
    title: str


@dataclass(frozen=True)
class KindLabel:
    """An office a fiche names besides its own."""

    code: str
    label: str


@dataclass(frozen=True)
class FicheContext:
    """What a result page adds for a catalogue fiche: where it sits in service-public.fr,
    the other offices the fiche names, and how old the copy is."""

    trail: list[TrailStep]
    other_kinds: list[KindLabel]
    places: list[str]
    copy: Copy
    # No office of the fiche is one we know: the fiche's own words are the answer.
    unmapped: bool


@dataclass(frozen=True)
class _Labels:
    """Every catalogue theme (id -> code, title, parent id) and office label, kept per
    directory generation: a result page reads them without a query."""

    themes: dict[int, tuple[str, str, int | None]]
    kinds: dict[str, str]


def _labels() -> _Labels:
    generation, labels = answer_cache.get(_LABELS_KEY)
    if labels is None:
        t = CatalogueTheme
        labels = _Labels(
            themes={
                id_: (code, title, parent_id)
                for id_, code, title, parent_id in db.session.execute(
                    select(t.id, t.code, t.title, t.parent_id)
                )
            },
            kinds=dict(db.session.execute(select(BodyKind.code, BodyKind.label)).all()),
        )
        answer_cache.put(generation, _LABELS_KEY, labels)
    return labels


_LABELS_KEY = "catalogue.fiche_labels"


def top_theme_title(theme_id: int) -> str | None:
    """The title of the top of a catalogue theme's path (the theme a need is listed under)."""
    themes = _labels().themes
    node = themes.get(theme_id)
    while node is not None and node[2] in themes:
        node = themes[node[2]]
    return node[1] if node is not None else None


def fiche_context(need: Need, seed_dir: str) -> FicheContext | None:
    """The fiche's part of its result page, from labels kept between requests: no query."""
    if need.origin != CATALOGUE:
        return None
    labels = _labels()
    trail: list[TrailStep] = []
    node = labels.themes.get(need.catalogue_theme_id)
    while node is not None:
        trail.insert(0, TrailStep(node[0], node[1]))
        node = labels.themes.get(node[2])
    return FicheContext(
        trail=trail,
        other_kinds=[
            KindLabel(code, labels.kinds[code])
            for code in dict.fromkeys(need.other_kinds)
            if code in labels.kinds
        ],
        places=(need.where_text or "").splitlines(),
        copy=read_copy(seed_dir),
        unmapped=need.body_kind_code == UNMAPPED_KIND,
    )
