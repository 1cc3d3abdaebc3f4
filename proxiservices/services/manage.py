"""Directory administration, the reading side: who may edit which body, the listings and
pages of /gestion, the hours previews and the histories. Writes are in `manage_edits`."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from proxiservices.domain import hours, roles
from proxiservices.domain import permanences as permanence_rules
from proxiservices.domain.text import fold
from proxiservices.extensions import db
from proxiservices.models import (
    AuditEntry,
    Body,
    BodyKind,
    Closure,
    Commune,
    Permanence,
    Site,
    Territory,
    User,
)
from proxiservices.services import audit
from proxiservices.services.orientation import closed_periods, site_overrides

PAGE_SIZE = 50
NATIONAL = "FR"  # the coverage code of national bodies, as in the seeds
PREVIEW_DAYS = 14
OCCURRENCE_WINDOW = 120  # days searched for the next occurrences of a permanence
OCCURRENCES = 6

BODY_FIELDS = (
    "name",
    "kind_code",
    "phone",
    "website",
    "email",
    "description",
    "source",
    "verified_on",
    "note",
)
# What a partner may change on its own body: how residents reach it.
CONTACT_FIELDS = ("phone", "website", "email")
SITE_FIELDS = (
    "name",
    "address",
    "postcode",
    "commune_insee",
    "latitude",
    "longitude",
    "phone",
    "email",
    "url",
    "opening_hours",
    "hours_note",
    "accessibility",
    "source",
    "verified_on",
    "note",
)
CLOSURE_FIELDS = ("kind", "starts_at", "ends_at", "message", "opening_hours")
PERMANENCE_FIELDS = (
    "schedule",
    "by_appointment",
    "note",
    "starts_on",
    "ends_on",
    "source",
    "verified_on",
)


class NotYours(Exception):
    """The actor may not edit this body's data (a partner of another body)."""


class ManageError(Exception):
    """A change refused for a reason the person can act on (French message)."""


HOST_REFUSED = (
    "Ce lieu ne peut pas accueillir les permanences de votre organisme. "
    + permanence_rules.HOST_RULE
)


class HostRefused(ManageError):
    """The host site chosen for a permanence is unknown or not one the actor may choose."""


# --- who may edit -------------------------------------------------------------------------


def is_admin(user: User) -> bool:
    return roles.may(user.role, roles.ADMINISTER)


def may_edit(user: User, body_id: int) -> bool:
    """Administrators edit everything; a partner, its own body only."""
    if not getattr(user, "is_authenticated", False) or not roles.may(
        user.role, roles.EDIT_DIRECTORY
    ):
        return False
    return is_admin(user) or (user.role == roles.PARTNER and user.body_id == body_id)


def check_may_edit(user: User, body: Body) -> None:
    if not may_edit(user, body.id):
        raise NotYours(
            f"Vous ne pouvez modifier que les informations de votre organisme : "
            f"« {body.name} » n'est pas le vôtre."
        )


def _paris_naive(at: datetime) -> datetime:
    return at.astimezone(hours.PARIS).replace(tzinfo=None)


# --- reading ------------------------------------------------------------------------------


@dataclass(frozen=True)
class BodyRow:
    body: Body
    site_count: int


@dataclass(frozen=True)
class BodyPage:
    rows: list[BodyRow]
    total: int
    page: int
    pages: int


def list_kinds() -> list[BodyKind]:
    return list(db.session.scalars(select(BodyKind).order_by(BodyKind.position, BodyKind.label)))


def list_bodies(query: str = "", kind: str = "", page: int = 1) -> BodyPage:
    """Bodies matching every word of `query` (accents and case ignored), one page of them.

    The names are matched in Python: some 600 short rows, one query, the same on SQLite and
    PostgreSQL; then one query for the page and one for its site counts."""
    stmt = select(Body.id, Body.name, Body.slug).order_by(Body.name, Body.id)
    if kind:
        stmt = stmt.where(Body.kind_code == kind)
    words = fold(query).split()
    ids = [
        row.id
        for row in db.session.execute(stmt)
        if all(word in f"{fold(row.name)} {row.slug}" for word in words)
    ]
    pages = max(1, math.ceil(len(ids) / PAGE_SIZE))
    page = min(max(page, 1), pages)
    shown = ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    if not shown:
        return BodyPage([], len(ids), page, pages)
    bodies = {
        b.id: b
        for b in db.session.scalars(
            select(Body).where(Body.id.in_(shown)).options(joinedload(Body.kind))
        )
    }
    counts = dict(
        db.session.execute(
            select(Site.body_id, func.count(Site.id))
            .where(Site.body_id.in_(shown))
            .group_by(Site.body_id)
        ).all()
    )
    rows = [BodyRow(bodies[i], counts.get(i, 0)) for i in shown]
    return BodyPage(rows, len(ids), page, pages)


def get_body_by_id(body_id: int | None) -> Body | None:
    if body_id is None:
        return None
    stmt = (
        select(Body)
        .where(Body.id == body_id)
        .options(joinedload(Body.kind), selectinload(Body.sites).joinedload(Site.commune))
    )
    return db.session.scalars(stmt).one_or_none()


def get_permanence(permanence_id: int) -> Permanence | None:
    stmt = (
        select(Permanence)
        .where(Permanence.id == permanence_id)
        .options(
            joinedload(Permanence.body),
            joinedload(Permanence.host_site).joinedload(Site.commune),
            joinedload(Permanence.host_site).selectinload(Site.closures),
        )
    )
    return db.session.scalars(stmt).one_or_none()


def at_commune_centre(site: Site) -> bool:
    """Placed at its commune's centre for want of coordinates: its form shows them empty,
    as they were left."""
    commune = site.commune
    return site.position_approx and (site.latitude, site.longitude) == (
        commune.latitude,
        commune.longitude,
    )


def list_body_permanences(body: Body) -> list[Permanence]:
    """The permanences a body holds, wherever they are hosted."""
    stmt = (
        select(Permanence)
        .where(Permanence.body_id == body.id)
        .options(joinedload(Permanence.host_site).joinedload(Site.commune))
        .order_by(Permanence.id)
    )
    return list(db.session.scalars(stmt))


def list_hosted_permanences(site: Site) -> list[Permanence]:
    stmt = (
        select(Permanence)
        .where(Permanence.host_site_id == site.id)
        .options(joinedload(Permanence.body))
        .order_by(Permanence.id)
    )
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class HostChoice:
    site_id: int
    label: str  # "commune – site"
    group: str  # the body's own sites first, then one group per kind of host


def may_host(actor: User, body: Body, host: Site, current_host_id: int | None = None) -> bool:
    """Administrators place a permanence anywhere; a partner at its own sites or at the
    usual hosts (`HOST_KINDS`), or keeps the host it already has (set by an administrator)."""
    if is_admin(actor) or host.id == current_host_id:
        return True
    return permanence_rules.may_host(host.body_id, host.body.kind_code, body.id)


def host_site_choices(
    actor: User, body: Body, current_host_id: int | None = None
) -> list[HostChoice]:
    """The sites the actor may choose as the host of `body`'s permanence, grouped (the body's
    own sites, then the usual hosts kind by kind, then for administrators every other kind)
    and ordered by commune name within a group. One query; sorted here so that accents
    order the same on SQLite and PostgreSQL."""
    stmt = (
        select(Site.id, Site.name, Site.body_id, BodyKind.code, BodyKind.label)
        .add_columns(BodyKind.position, Commune.name)
        .join(Body, Site.body_id == Body.id)
        .join(BodyKind, Body.kind_code == BodyKind.code)
        .join(Commune, Site.commune_insee == Commune.insee)
    )
    if not is_admin(actor):
        stmt = stmt.where(
            or_(
                Site.body_id == body.id,
                Body.kind_code.in_(permanence_rules.HOST_KINDS),
                Site.id == (current_host_id or 0),
            )
        )
    own = f"Lieux de {body.name}"
    ranked = []
    for site_id, name, body_id, kind, kind_label, position, commune in db.session.execute(stmt):
        if body_id == body.id:
            rank: tuple = (0,)
        elif kind in permanence_rules.HOST_KINDS:
            rank = (1, permanence_rules.HOST_KINDS.index(kind))
        else:
            rank = (2, position, kind_label)
        group = own if body_id == body.id else kind_label
        key = (rank, fold(commune), fold(name), site_id)
        ranked.append((key, HostChoice(site_id, f"{commune} – {name}", group)))
    return [choice for _key, choice in sorted(ranked, key=lambda pair: pair[0])]


def split_closures(site: Site, at: datetime) -> tuple[list[Closure], list[Closure]]:
    """(current and coming, soonest first; past ones, latest first)."""
    local = _paris_naive(at)
    coming = [c for c in site.closures if c.ends_at > local]
    past = [c for c in site.closures if c.ends_at <= local]
    return sorted(coming, key=lambda c: c.starts_at), sorted(
        past, key=lambda c: c.starts_at, reverse=True
    )


def coverage_names(codes: Iterable[str]) -> dict[str, str]:
    """Known area codes and their names: communes, EPCIs, the département, France."""
    codes = set(codes)
    if not codes:
        return {}
    names = {code: "France entière" for code in codes if code == NATIONAL}
    names.update(
        dict(
            db.session.execute(
                select(Territory.code, Territory.name).where(Territory.code.in_(codes))
            ).all()
        )
    )
    names.update(
        dict(
            db.session.execute(
                select(Commune.insee, Commune.name).where(Commune.insee.in_(codes))
            ).all()
        )
    )
    return names


def unknown_area_codes(codes: Iterable[str]) -> list[str]:
    codes = list(dict.fromkeys(codes))
    known = coverage_names(codes)
    return [code for code in codes if code not in known]


def commune_exists(insee: str) -> bool:
    return db.session.get(Commune, insee) is not None


# --- hours previews -----------------------------------------------------------------------


@dataclass(frozen=True)
class HoursPreview:
    """What the hours field shows under it: the parser's French error, or the coming days."""

    expr: str
    error: str | None
    days: list[hours.DayHours]
    occurrences: bool  # a permanence: its next occurrences rather than 14 days


def hours_preview(
    expr: str | None, site: Site | None, at: datetime, occurrences: bool = False
) -> HoursPreview:
    expr = (expr or "").strip()
    error = hours.validate(expr)
    if not expr or error:
        return HoursPreview(expr, error, [], occurrences)
    if occurrences:
        return HoursPreview(expr, None, next_occurrences(expr, site, at), True)
    return HoursPreview(expr, None, preview_days(expr, site, at), False)


def preview_days(expr: str | None, site: Site | None, at: datetime) -> list[hours.DayHours]:
    """The next 14 days as the site's fiche will print them, its closures and changed
    hours applied."""
    start = at.astimezone(hours.PARIS).date()
    overrides = site_overrides(site) if site is not None else []
    return hours.days_ahead(expr, start, PREVIEW_DAYS, overrides)


def next_occurrences(expr: str | None, site: Site | None, at: datetime) -> list[hours.DayHours]:
    """The next days a permanence is held, its host's closures applied."""
    start = at.astimezone(hours.PARIS).date()
    days = hours.days_ahead(expr, start, OCCURRENCE_WINDOW, closed_periods(site))
    return [day for day in days if day.intervals][:OCCURRENCES]


# --- history ------------------------------------------------------------------------------


def _history(conditions, limit: int = 200) -> list[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .where(or_(*conditions))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def site_history(site: Site) -> list[AuditEntry]:
    """The site's changes and those of its closures, newest first."""
    return _history(
        [
            (AuditEntry.object_type == "site") & (AuditEntry.object_id == str(site.id)),
            (AuditEntry.object_type == "closure")
            & AuditEntry.object_id.startswith(f"{site.id}/", autoescape=True),
        ]
    )


def body_history(body: Body) -> list[AuditEntry]:
    """The body's changes and those of the permanences it holds, newest first."""
    return _history(
        [
            (AuditEntry.object_type == "body") & (AuditEntry.object_id == str(body.id)),
            (AuditEntry.object_type == "permanence")
            & AuditEntry.object_id.startswith(f"{body.id}/", autoescape=True),
        ]
    )


def recent_changes(limit: int = 100) -> list[AuditEntry]:
    return audit.recent(limit)
