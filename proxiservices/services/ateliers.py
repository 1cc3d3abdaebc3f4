"""Ateliers: the collective workshops of conseillers numériques and France Services.

Who may publish them (an administrator anywhere; a partner at its own body's sites, or as
organiser elsewhere), where they are listed (site pages, body pages, results of digital-help
needs) and the audited edits. Dates are Europe/Paris wall-clock times (naive).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from proxiservices.domain import roles
from proxiservices.extensions import db
from proxiservices.models import Atelier, Body, BodyKind, Commune, Site, User
from proxiservices.services import audit
from proxiservices.services.alerts import wall_clock
from proxiservices.services.rows import get_by_id

# Results of digital-help needs offer the ateliers of the next 60 days.
ORIENTATION_DAYS = 60
ORIENTATION_LIMIT = 6
SITE_LIMIT = 20
PAST_SHOWN = 50
DIGITAL_THEME = "numerique"
FIELDS = (
    "site_id",
    "body_id",
    "title",
    "theme",
    "description",
    "starts_at",
    "ends_at",
    "places",
    "signup",
    "signup_url",
)


class AtelierScopeError(PermissionError):
    """The actor may not publish or edit this atelier; the message is shown as is."""


@dataclass(frozen=True)
class AtelierInput:
    site_id: int
    body_id: int | None
    title: str
    theme: str
    description: str
    starts_at: datetime
    ends_at: datetime
    places: int | None
    signup: str
    signup_url: str | None


def _query():
    return select(Atelier).options(
        joinedload(Atelier.site).joinedload(Site.body),
        joinedload(Atelier.site).joinedload(Site.commune),
        joinedload(Atelier.body),
    )


def is_admin(actor: User) -> bool:
    return roles.may(actor.role, roles.ADMINISTER)


def may_publish_at(actor: User, site: Site, body_id: int | None) -> bool:
    """An administrator anywhere; a partner at its body's sites or as the organiser."""
    if is_admin(actor):
        return True
    if not roles.may(actor.role, roles.EDIT_DIRECTORY) or actor.body_id is None:
        return False
    return site.body_id == actor.body_id or body_id == actor.body_id


def _check(actor: User, site: Site, body_id: int | None) -> None:
    if not may_publish_at(actor, site, body_id):
        raise AtelierScopeError(
            "Cet atelier n'est ni dans un lieu de votre organisme, ni organisé par lui."
        )


def list_site_choices(actor: User) -> list[tuple[str, list[tuple[int, str]]]]:
    """Sites offered in the form, grouped: the actor's own, the help desks, the others
    (administrators only: a partner publishes elsewhere as the organiser, at a help desk)."""
    stmt = (
        select(Site.id, Site.name, Site.body_id, BodyKind.help_desk)
        .join(Site.body)
        .join(Body.kind)
        .order_by(Site.name)
    )
    rows = db.session.execute(stmt).all()
    own = [(r.id, r.name) for r in rows if actor.body_id and r.body_id == actor.body_id]
    desks = [(r.id, r.name) for r in rows if r.help_desk and r.body_id != actor.body_id]
    groups = []
    if own:
        groups.append(("Lieux de votre organisme", own))
    groups.append(("Lieux d'aide au numérique", desks))
    if is_admin(actor):
        groups.append(("Autres lieux", [(r.id, r.name) for r in rows if not r.help_desk]))
    return groups


def list_organiser_choices() -> list[tuple[int, str]]:
    """Bodies an administrator may name as organiser (town halls are the host sites)."""
    stmt = select(Body.id, Body.name).where(Body.kind_code != "MAIRIE").order_by(Body.name)
    return [(r.id, r.name) for r in db.session.execute(stmt)]


def list_coming_at_site(site: Site, at: datetime, limit: int = SITE_LIMIT) -> list[Atelier]:
    """The site page: ateliers not yet over, soonest first."""
    stmt = (
        _query()
        .where(Atelier.site_id == site.id, Atelier.ends_at >= wall_clock(at))
        .order_by(Atelier.starts_at)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def list_coming_for_body(body: Body, at: datetime, until: datetime | None = None) -> list[Atelier]:
    """Ateliers the body organises or that take place at its sites."""
    at_its_sites = select(Site.id).where(Site.body_id == body.id)
    stmt = _query().where(
        or_(Atelier.body_id == body.id, Atelier.site_id.in_(at_its_sites)),
        Atelier.ends_at >= wall_clock(at),
    )
    if until is not None:
        stmt = stmt.where(Atelier.starts_at <= wall_clock(until))
    return list(db.session.scalars(stmt.order_by(Atelier.starts_at)))


def list_coming_at_sites(site_ids: Iterable[int], at: datetime, until: datetime) -> list[Atelier]:
    ids = set(site_ids)
    if not ids:
        return []
    stmt = _query().where(
        Atelier.site_id.in_(ids),
        Atelier.ends_at >= wall_clock(at),
        Atelier.starts_at <= wall_clock(until),
    )
    return list(db.session.scalars(stmt.order_by(Atelier.starts_at)))


def offers_ateliers(theme_slug: str | None, help_desk_shown: bool) -> bool:
    """A digital-help need: the digital theme, or a result that shows help desks."""
    return theme_slug == DIGITAL_THEME or help_desk_shown


def list_for_orientation(
    site_ids: Iterable[int], epci_code: str | None, at: datetime, limit: int = ORIENTATION_LIMIT
) -> list[Atelier]:
    """Ateliers of the next 60 days at the help desks shown or in the commune's EPCI, in one
    query whatever the number of sites."""
    ids = set(site_ids)
    local = wall_clock(at)
    near = [Atelier.site_id.in_(ids)] if ids else []
    if epci_code:
        in_epci = select(Site.id).join(Site.commune).where(Commune.epci_code == epci_code)
        near.append(Atelier.site_id.in_(in_epci))
    if not near:
        return []
    stmt = (
        _query()
        .where(
            or_(*near),
            Atelier.ends_at >= local,
            Atelier.starts_at <= local + timedelta(days=ORIENTATION_DAYS),
        )
        .order_by(Atelier.starts_at, Atelier.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def pick_for_orientation(
    ateliers: Iterable[Atelier],
    site_ids: Iterable[int],
    epci_code: str | None,
    at: datetime,
    limit: int = ORIENTATION_LIMIT,
) -> list[Atelier]:
    """What list_for_orientation selects, from ateliers already loaded with their site's
    commune and sorted by start then id (the orientation answer's rows kept in memory)."""
    ids = set(site_ids)
    local = wall_clock(at)
    until = local + timedelta(days=ORIENTATION_DAYS)
    chosen = [
        a
        for a in ateliers
        if (a.site_id in ids or (epci_code and a.site.commune.epci_code == epci_code))
        and a.ends_at >= local
        and a.starts_at <= until
    ]
    return chosen[:limit]


@dataclass
class ManagedAteliers:
    coming: list[Atelier]
    past: list[Atelier]


def list_managed(actor: User, at: datetime) -> ManagedAteliers:
    """Everything for an administrator; a partner's own (organised or at its sites)."""
    stmt = _query()
    if not is_admin(actor):
        own_sites = select(Site.id).where(Site.body_id == actor.body_id)
        stmt = stmt.where(or_(Atelier.body_id == actor.body_id, Atelier.site_id.in_(own_sites)))
    local = wall_clock(at)
    coming = db.session.scalars(stmt.where(Atelier.ends_at >= local).order_by(Atelier.starts_at))
    past = db.session.scalars(
        stmt.where(Atelier.ends_at < local).order_by(Atelier.starts_at.desc()).limit(PAST_SHOWN)
    )
    return ManagedAteliers(list(coming), list(past))


def get_atelier_for(actor: User, atelier_id: int) -> Atelier | None:
    """The atelier, None for an unknown id; AtelierScopeError when it is not the actor's."""
    atelier = db.session.scalars(_query().where(Atelier.id == atelier_id)).one_or_none()
    if atelier is None:
        return None
    _check(actor, atelier.site, atelier.body_id)
    return atelier


def _apply(atelier: Atelier, data: AtelierInput) -> None:
    for name in FIELDS:
        setattr(atelier, name, getattr(data, name))


def _site(site_id: int) -> Site:
    site = get_by_id(Site, site_id)
    if site is None:
        raise LookupError("Lieu d'accueil inconnu.")
    return site


def _organiser(actor: User, data: AtelierInput) -> AtelierInput:
    """A partner always publishes as itself; an administrator names the organiser or not."""
    if is_admin(actor):
        return data
    return AtelierInput(**{**data.__dict__, "body_id": actor.body_id})


def create_atelier(actor: User, data: AtelierInput, at: datetime) -> Atelier:
    data = _organiser(actor, data)
    _check(actor, _site(data.site_id), data.body_id)
    stamp = at.astimezone(UTC)
    atelier = Atelier(created_at=stamp, updated_at=stamp)
    _apply(atelier, data)
    db.session.add(atelier)
    db.session.flush()
    after = audit.snapshot(atelier, FIELDS)
    audit.record(actor, "atelier", atelier.id, atelier.title, audit.CREATE, {}, after, stamp)
    db.session.commit()
    return atelier


def update_atelier(actor: User, atelier: Atelier, data: AtelierInput, at: datetime) -> Atelier:
    _check(actor, atelier.site, atelier.body_id)
    if not is_admin(actor):
        data = AtelierInput(**{**data.__dict__, "body_id": atelier.body_id})
    _check(actor, _site(data.site_id), data.body_id)
    before = audit.snapshot(atelier, FIELDS)
    _apply(atelier, data)
    after = audit.snapshot(atelier, FIELDS)
    if after != before:
        atelier.updated_at = at.astimezone(UTC)
    audit.record(actor, "atelier", atelier.id, atelier.title, audit.UPDATE, before, after, at)
    db.session.commit()
    return atelier


def delete_atelier(actor: User, atelier: Atelier, at: datetime) -> None:
    _check(actor, atelier.site, atelier.body_id)
    before = audit.snapshot(atelier, FIELDS)
    audit.record(actor, "atelier", atelier.id, atelier.title, audit.DELETE, before, None, at)
    db.session.delete(atelier)
    db.session.commit()
