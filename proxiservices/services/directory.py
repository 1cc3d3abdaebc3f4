"""Directory pages: bodies, sites and the sites serving a commune."""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from proxiservices.extensions import db
from proxiservices.models import Body, BodyKind, Commune, Permanence, Site, SiteCoverage, Territory


def get_body(slug: str) -> Body | None:
    stmt = (
        select(Body)
        .where(Body.slug == slug)
        .options(
            joinedload(Body.kind),
            selectinload(Body.sites).joinedload(Site.commune),
            selectinload(Body.sites).selectinload(Site.closures),
        )
    )
    return db.session.scalars(stmt).one_or_none()


def get_site(slug: str) -> Site | None:
    stmt = (
        select(Site)
        .where(Site.slug == slug)
        .options(
            joinedload(Site.body).joinedload(Body.kind),
            joinedload(Site.commune),
            selectinload(Site.coverage),
            selectinload(Site.closures),
        )
    )
    return db.session.scalars(stmt).one_or_none()


def describe_coverage(site: Site) -> list[str]:
    """Human names of the areas a site covers ("Vosges", "CA d'Épinal", "Docelles")."""
    codes = [c.area_code for c in site.coverage]
    if not codes:
        return []
    names = {
        t.code: t.name
        for t in db.session.scalars(select(Territory).where(Territory.code.in_(codes)))
    }
    names.update(
        {
            c.insee: c.name
            for c in db.session.scalars(select(Commune).where(Commune.insee.in_(codes)))
        }
    )
    return sorted(names.get(code, code) for code in codes)


def _permanences(condition, on: date | None) -> list[Permanence]:
    stmt = (
        select(Permanence)
        .where(condition)
        .options(
            joinedload(Permanence.body).joinedload(Body.kind),
            joinedload(Permanence.host_site).joinedload(Site.commune),
            joinedload(Permanence.host_site).selectinload(Site.closures),
        )
        .order_by(Permanence.id)
    )
    if on is not None:  # a permanence whose season is over is no longer listed
        stmt = stmt.where(or_(Permanence.ends_on.is_(None), Permanence.ends_on >= on))
    return list(db.session.scalars(stmt).unique())


def list_hosted_permanences(site: Site, on: date | None = None) -> list[Permanence]:
    """Permanences a site hosts (current on `on` when given), with their body and host loaded."""
    return _permanences(Permanence.host_site_id == site.id, on)


def list_body_permanences(body: Body, on: date | None = None) -> list[Permanence]:
    """A body's permanences at host sites (current on `on` when given)."""
    return _permanences(Permanence.body_id == body.id, on)


def list_sites_for_commune(commune: Commune) -> list[tuple[BodyKind, list[Site]]]:
    """Sites whose coverage includes the commune, grouped by body kind in the usual order."""
    covered = select(SiteCoverage.site_id).where(
        SiteCoverage.area_code.in_(commune.territory_codes | {"FR"})
    )
    stmt = (
        select(Site)
        .where(Site.id.in_(covered))
        .options(joinedload(Site.body).joinedload(Body.kind), joinedload(Site.commune))
    )
    groups: dict[str, list[Site]] = {}
    kinds: dict[str, BodyKind] = {}
    for site in db.session.scalars(stmt):
        kinds[site.body.kind_code] = site.body.kind
        groups.setdefault(site.body.kind_code, []).append(site)
    ordered = sorted(kinds.values(), key=lambda k: k.position)
    return [(k, sorted(groups[k.code], key=lambda s: s.name)) for k in ordered]


def list_unverified() -> list[str]:
    """Bodies and sites that carry a caution note, for the sources page."""
    notes = [
        f"{b.name} : {b.note}"
        for b in db.session.scalars(select(Body).where(Body.note.is_not(None)).order_by(Body.name))
    ]
    notes += [
        f"{s.name} : {s.note}"
        for s in db.session.scalars(select(Site).where(Site.note.is_not(None)).order_by(Site.name))
    ]
    return notes
