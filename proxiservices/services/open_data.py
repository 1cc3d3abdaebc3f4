"""Sites in and out of the *lieux de médiation numérique* CSV schema.

An import is all or nothing: every row is checked first (domain/mediation.py), and a file
with one error writes nothing. A clean file upserts its sites in one transaction: one audit
entry for the file, and one per site created or changed (before → after). Imported sites get
`edited_at`, so that `flask seed` leaves the administrator's import alone; a later import
may update them again, but a site a person edited in the application since (edited_at later
than its last import) is left as it is. A row never moves a site to another body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from proxiservices.domain.mediation import (
    CONSEILLERS_NUMERIQUES,
    FRANCE_SERVICES,
    SLUG_PREFIX,
    Checked,
    CommuneRef,
    Place,
    RowError,
    SiteRecord,
    check_file,
    slug_for,
    write_csv,
)
from proxiservices.domain.text import fold
from proxiservices.extensions import db
from proxiservices.models import AuditEntry, Body, BodyKind, Commune, Site, User
from proxiservices.services import audit
from proxiservices.services.manage import SITE_FIELDS
from proxiservices.services.rows import assign

DEFAULT_KIND = "CONSEILLER_NUMERIQUE"
IMPORT_SOURCE = "Fichier lieux de médiation numérique"
AUDIT_TYPE = "import"
AUDIT_ID = "lieux-mediation-numerique"


@dataclass
class ImportReport:
    """What an import found and did; `errors` non-empty means nothing was written."""

    filename: str
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # edited by a person: left alone
    bodies_created: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def error_lines(self) -> int:
        return len({e.line for e in self.errors})

    def summary(self) -> str:
        if not self.ok:
            return (
                f"{len(self.errors)} erreur(s) sur {self.error_lines} ligne(s) : "
                "aucune ligne n'a été importée."
            )
        text = (
            f"{self.rows} ligne(s) lue(s) : {len(self.created)} lieu(x) créé(s), "
            f"{len(self.updated)} mis à jour, {len(self.unchanged)} inchangé(s), "
            f"{len(self.kept)} conservé(s) car modifié(s) à la main, "
            f"{len(self.bodies_created)} organisme(s) créé(s)."
        )
        if self.dry_run:
            text = "Simulation, rien n'a été enregistré. " + text
        return text


def commune_refs() -> dict[str, CommuneRef]:
    return {
        c.insee: CommuneRef(c.insee, c.name, tuple(c.postcode_list))
        for c in db.session.scalars(select(Commune))
    }


def list_kinds() -> list[BodyKind]:
    return list(db.session.scalars(select(BodyKind).order_by(BodyKind.position)))


def import_sites(
    data: bytes,
    *,
    filename: str,
    actor: User | None,
    at: datetime,
    default_kind: str = DEFAULT_KIND,
    dry_run: bool = False,
) -> ImportReport:
    """Check the whole file; when clean, upsert its sites (FileError if unreadable)."""
    if db.session.get(BodyKind, default_kind) is None:
        raise ValueError(f"Type d'organisme inconnu : {default_kind}.")
    checked: Checked = check_file(data, commune_refs())
    report = ImportReport(filename=filename, dry_run=dry_run)
    report.rows = checked.rows
    report.errors = checked.errors
    if not checked.ok:
        return report
    try:
        bodies = _BodyFinder(default_kind, report)
        communes = {c.insee: c for c in db.session.scalars(select(Commune))}
        imported_at = _last_imports()
        for place in checked.places:
            _upsert_site(place, bodies, communes, imported_at, report, actor, at)
        if report.errors:
            db.session.rollback()
            return _refused(report)
        audit.record(
            actor,
            AUDIT_TYPE,
            AUDIT_ID,
            f"Import de lieux de médiation numérique : {filename}"[:300],
            audit.IMPORT,
            after={
                "fichier": filename,
                "lignes": report.rows,
                "lieux créés": len(report.created),
                "lieux mis à jour": len(report.updated),
                "lieux inchangés": len(report.unchanged),
                "lieux conservés (modifiés à la main)": len(report.kept),
                "organismes créés": len(report.bodies_created),
                "lieux": (report.created + report.updated)[:200],
            },
            at=at,
        )
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def _refused(report: ImportReport) -> ImportReport:
    """Errors found while writing: the transaction is rolled back, nothing was done."""
    report.errors.sort(key=lambda e: e.line)
    for done in (
        report.created,
        report.updated,
        report.unchanged,
        report.kept,
        report.bodies_created,
    ):
        done.clear()
    return report


def _naive_utc(at: datetime) -> datetime:
    """As edited_at is stored (naive UTC)."""
    if at.tzinfo is None:
        return at
    return at.astimezone(UTC).replace(tzinfo=None)


def _last_imports() -> dict[str, datetime]:
    """When each site was last changed by an import, by site id (as audited)."""
    stmt = (
        select(AuditEntry.object_id, func.max(AuditEntry.at))
        .where(AuditEntry.object_type == "site", AuditEntry.action == audit.IMPORT)
        .group_by(AuditEntry.object_id)
    )
    return {object_id: _naive_utc(at) for object_id, at in db.session.execute(stmt)}


def _edited_by_hand(site: Site, imported_at: dict[str, datetime]) -> bool:
    """edited_at set by a person, not by the site's last import."""
    return site.edited_at is not None and site.edited_at != imported_at.get(str(site.id))


class _BodyFinder:
    """Which body a row's site belongs to: the body named by structure_parente (slug or
    name); else, for a known site without one, its body; else the one body of the kind
    given by dispositif_programmes_nationaux (or chosen for the import), or a body
    `mednum-…` made for them."""

    def __init__(self, default_kind: str, report: ImportReport):
        self.default_kind = default_kind
        self.report = report
        self.by_slug = {b.slug: b for b in db.session.scalars(select(Body))}
        self.by_name: dict[str, list[Body]] = {}
        for body in self.by_slug.values():
            self.by_name.setdefault(fold(body.name), []).append(body)
        self.kinds = {k.code: k for k in db.session.scalars(select(BodyKind))}

    def known(self, parent: str) -> Body | None:
        if parent in self.by_slug:
            return self.by_slug[parent]
        named = self.by_name.get(fold(parent), [])
        return named[0] if len(named) == 1 else None

    def kind_for(self, place: Place) -> str:
        if FRANCE_SERVICES in place.programmes:
            return "FRANCE_SERVICES"
        if CONSEILLERS_NUMERIQUES in place.programmes:
            return "CONSEILLER_NUMERIQUE"
        return self.default_kind

    def body_for(self, place: Place, site: Site | None) -> Body:
        if (
            site is not None
            and place.parent
            and (place.parent == site.body.slug or fold(place.parent) == fold(site.body.name))
        ):
            return site.body
        if place.parent:
            body = self.known(place.parent)
            if body is not None:
                return body
        elif site is not None:
            return site.body
        kind = self.kinds[self.kind_for(place)]
        if not place.parent:
            of_kind = [b for b in self.by_slug.values() if b.kind_code == kind.code]
            if len(of_kind) == 1:
                return of_kind[0]
        if place.parent:
            slug, name = SLUG_PREFIX + slug_for(place.parent), place.parent
        else:
            slug = SLUG_PREFIX + slug_for(kind.code)
            name = f"{kind.short_label} – lieux importés"
        body = self.by_slug.get(slug[:120])
        if body is None:
            body = Body(slug=slug[:120], name=name[:200], kind_code=kind.code, source=IMPORT_SOURCE)
            db.session.add(body)
            db.session.flush()
            self.by_slug[body.slug] = body
            self.by_name.setdefault(fold(body.name), []).append(body)
            self.report.bodies_created.append(body.slug)
        return body


def _upsert_site(
    place: Place,
    bodies: _BodyFinder,
    communes: dict[str, Commune],
    imported_at: dict[str, datetime],
    report: ImportReport,
    actor: User | None,
    at: datetime,
) -> None:
    site = db.session.scalars(
        select(Site).where(Site.slug.in_([place.external_id, SLUG_PREFIX + place.slug]))
    ).first()
    if site is not None and _edited_by_hand(site, imported_at):
        report.kept.append(site.slug)
        return
    body = bodies.body_for(place, site)
    if site is not None and body.id != site.body_id:
        report.errors.append(
            RowError(
                place.line,
                "structure_parente",
                f"Le lieu « {site.slug} » appartient à « {site.body.name} » : un import ne "
                f"peut pas le rattacher à « {body.name} ». Corrigez la structure parente, ou "
                "changez l'organisme du lieu dans l'annuaire.",
            )
        )
        return
    commune = communes[place.commune_insee]
    exact = place.latitude is not None and place.longitude is not None
    values = {
        "body_id": body.id,
        "name": place.name,
        "address": place.address or None,
        "postcode": place.postcode,
        "commune_insee": commune.insee,
        "latitude": place.latitude if exact else commune.latitude,
        "longitude": place.longitude if exact else commune.longitude,
        "position_approx": not exact,
        "phone": place.phone,
        "email": place.email,
        "url": place.url,
        "opening_hours": place.opening_hours,
        "verified_on": place.updated_on,
    }
    # Free text we hold that the schema has no column for is kept unless the file says more.
    if place.accessibility:
        values["accessibility"] = place.accessibility
    if place.source or site is None:
        values["source"] = place.source or IMPORT_SOURCE
    if site is None:
        site = Site(slug=SLUG_PREFIX + place.slug, edited_at=_naive_utc(at), **values)
        db.session.add(site)
        db.session.flush()
        _audit_site(actor, site, None, at)
        report.created.append(site.slug)
        return
    before = audit.snapshot(site, SITE_FIELDS)
    if not assign(site, values):
        report.unchanged.append(site.slug)
        return
    site.edited_at = _naive_utc(at)
    db.session.flush()
    _audit_site(actor, site, before, at)
    report.updated.append(site.slug)


def _audit_site(actor: User | None, site: Site, before: dict | None, at: datetime) -> None:
    """The site's own history shows what the import did to it, field by field."""
    after = audit.snapshot(site, SITE_FIELDS)
    audit.record(actor, "site", site.id, site.name, audit.IMPORT, before, after, at)


def site_records(kind: str | None = None) -> list[SiteRecord]:
    """Every site (or those of one body kind) as the export writes them."""
    stmt = (
        select(Site)
        .join(Site.body)
        .options(joinedload(Site.body), joinedload(Site.commune))
        .order_by(Site.slug)
    )
    if kind:
        stmt = stmt.where(Body.kind_code == kind)
    return [
        SiteRecord(
            slug=s.slug,
            name=s.name,
            body_name=s.body.name,
            kind_code=s.body.kind_code,
            commune_name=s.commune.name,
            commune_insee=s.commune_insee,
            postcode=s.postcode or (s.commune.postcode_list[:1] or [None])[0],
            address=s.address,
            latitude=s.latitude,
            longitude=s.longitude,
            position_approx=s.position_approx,
            phone=s.phone,
            email=s.email,
            url=s.url,
            opening_hours=s.opening_hours,
            accessibility=s.accessibility,
            source=s.source,
            verified_on=s.verified_on,
            description=s.body.description,
        )
        for s in db.session.scalars(stmt).unique()
    ]


def export_sites_csv(kind: str | None = None) -> str:
    """The schema's CSV of our sites; an unknown kind is a ValueError."""
    if kind and db.session.get(BodyKind, kind) is None:
        raise ValueError(f"Type d'organisme inconnu : « {kind[:40]} ».")
    return write_csv(site_records(kind))
