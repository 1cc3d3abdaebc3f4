"""Directory edits: every create, update and delete written with its audit entry (who, when,
each field before → after) in the same transaction, and `edited_at` set so that seeding
leaves the row alone.

Closures and permanences are audited under ids prefixed by their owner ("12/34": closure 34
of site 12, permanence 34 of body 12), so a site's or a body's history lists them too, even
once they are deleted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from proxiservices.domain import hours
from proxiservices.domain.changes import CLOSURE_KINDS
from proxiservices.domain.text import fold
from proxiservices.extensions import db
from proxiservices.models import (
    AppointmentRequest,
    Atelier,
    Body,
    Closure,
    Commune,
    ErrorReport,
    Permanence,
    Site,
    SiteCoverage,
    User,
)
from proxiservices.services import audit
from proxiservices.services.manage import (
    BODY_FIELDS,
    CLOSURE_FIELDS,
    CONTACT_FIELDS,
    HOST_REFUSED,
    PERMANENCE_FIELDS,
    SITE_FIELDS,
    HostRefused,
    ManageError,
    NotYours,
    check_may_edit,
    commune_exists,
    is_admin,
    may_host,
    unknown_area_codes,
)
from proxiservices.services.rows import get_by_id


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


def _assign(obj: Any, values: Mapping[str, Any]) -> None:
    for name, value in values.items():
        setattr(obj, name, value)


# --- bodies -------------------------------------------------------------------------------


def _unique_slug(model: type, name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:100] or "sans-nom"
    taken = set(db.session.scalars(select(model.slug).where(model.slug.like(f"{base}%"))))
    slug, number = base, 2
    while slug in taken:
        slug, number = f"{base}-{number}", number + 1
    return slug


def create_body(actor: User, values: Mapping[str, Any], at: datetime) -> Body:
    if not is_admin(actor):
        raise NotYours("Seul un administrateur peut créer un organisme.")
    body = Body(slug=_unique_slug(Body, values["name"]), edited_at=_naive_utc(at), **values)
    db.session.add(body)
    db.session.flush()
    audit.record(
        actor, "body", body.id, body.name, audit.CREATE, None, audit.snapshot(body, BODY_FIELDS), at
    )
    db.session.commit()
    return body


def update_body(actor: User, body: Body, values: Mapping[str, Any], at: datetime) -> bool:
    """Apply the changes; a partner changes its own body's contact fields and nothing else."""
    check_may_edit(actor, body)
    if not is_admin(actor) and set(values) - set(CONTACT_FIELDS):
        raise NotYours("Seul un administrateur peut modifier le nom et la description.")
    before = audit.snapshot(body, BODY_FIELDS)
    _assign(body, values)
    entry = audit.record(
        actor,
        "body",
        body.id,
        body.name,
        audit.UPDATE,
        before,
        audit.snapshot(body, BODY_FIELDS),
        at,
    )
    if entry is not None:
        body.edited_at = _naive_utc(at)
    db.session.commit()
    return entry is not None


# --- sites --------------------------------------------------------------------------------


def _site_state(site: Site) -> dict[str, Any]:
    return {
        **audit.snapshot(site, SITE_FIELDS),
        "coverage": sorted(c.area_code for c in site.coverage),
    }


def _set_coverage(site: Site, codes: Iterable[str]) -> None:
    wanted = list(dict.fromkeys(codes))
    current = {c.area_code: c for c in site.coverage}
    for code in current.keys() - set(wanted):
        site.coverage.remove(current[code])
    for code in wanted:
        if code not in current:
            site.coverage.append(SiteCoverage(area_code=code))


def _check_site_values(values: Mapping[str, Any], codes: Iterable[str]) -> None:
    if not commune_exists(values["commune_insee"]):
        raise ManageError(f"Commune inconnue : « {values['commune_insee']} ».")
    unknown = unknown_area_codes(codes)
    if unknown:
        raise ManageError(f"Zones inconnues : {', '.join(unknown)}.")
    problem = hours.validate(values.get("opening_hours"))
    if problem:
        raise ManageError(problem)


def _placed(values: Mapping[str, Any], site: Site | None = None) -> dict[str, Any]:
    """The values with a position: coordinates left empty become the commune's centre,
    marked approximate (as imports do), so the site still shows on the map, which looks
    sites up by their coordinates. Typed coordinates are exact; coordinates sent back
    unchanged keep what was known of them."""
    placed = dict(values)
    if values.get("latitude") is None or values.get("longitude") is None:
        commune = db.session.get(Commune, values["commune_insee"])
        placed["latitude"] = commune.latitude if commune else None
        placed["longitude"] = commune.longitude if commune else None
        placed["position_approx"] = True
    elif site is None or (values["latitude"], values["longitude"]) != (
        site.latitude,
        site.longitude,
    ):
        placed["position_approx"] = False
    return placed


def create_site(
    actor: User, body: Body, values: Mapping[str, Any], codes: list[str], at: datetime
) -> Site:
    check_may_edit(actor, body)
    _check_site_values(values, codes)
    site = Site(
        slug=_unique_slug(Site, values["name"]),
        body_id=body.id,
        edited_at=_naive_utc(at),
        **_placed(values),
    )
    _set_coverage(site, codes)
    db.session.add(site)
    db.session.flush()
    audit.record(actor, "site", site.id, site.name, audit.CREATE, None, _site_state(site), at)
    db.session.commit()
    return site


def update_site(
    actor: User, site: Site, values: Mapping[str, Any], codes: list[str], at: datetime
) -> bool:
    check_may_edit(actor, site.body)
    _check_site_values(values, codes)
    before = _site_state(site)
    _assign(site, _placed(values, site))
    _set_coverage(site, codes)
    entry = audit.record(
        actor, "site", site.id, site.name, audit.UPDATE, before, _site_state(site), at
    )
    if entry is not None:
        site.edited_at = _naive_utc(at)
    db.session.commit()
    return entry is not None


def site_dependants(site: Site) -> list[str]:
    """What still points at a site, in French: a reason not to delete it."""
    checks = [
        (select(func.count(User.id)).where(User.site_id == site.id), "compte(s) d'agent"),
        (
            select(func.count(AppointmentRequest.id)).where(
                AppointmentRequest.desk_site_id == site.id
            ),
            "demande(s) envoyée(s) depuis ce lieu",
        ),
        (
            select(func.count(Permanence.id)).where(Permanence.host_site_id == site.id),
            "permanence(s) accueillie(s)",
        ),
        (select(func.count(Atelier.id)).where(Atelier.site_id == site.id), "atelier(s)"),
        (
            select(func.count(ErrorReport.id)).where(ErrorReport.site_id == site.id),
            "signalement(s) d'erreur",
        ),
    ]
    found = []
    for stmt, label in checks:
        count = db.session.scalar(stmt) or 0
        if count:
            found.append(f"{count} {label}")
    return found


def delete_site(actor: User, site: Site, at: datetime) -> None:
    check_may_edit(actor, site.body)
    dependants = site_dependants(site)
    if dependants:
        raise ManageError(
            "Ce lieu ne peut pas être supprimé : il est encore lié à "
            + ", ".join(dependants)
            + ". Modifiez-le plutôt, ou rattachez d'abord ces éléments à un autre lieu."
        )
    audit.record(actor, "site", site.id, site.name, audit.DELETE, _site_state(site), None, at)
    db.session.delete(site)
    db.session.commit()


# --- closures -----------------------------------------------------------------------------


def _closure_key(site: Site, closure: Closure) -> str:
    return f"{site.id}/{closure.id}"


def _closure_label(site: Site, closure: Closure) -> str:
    return f"{site.name} – {CLOSURE_KINDS.get(closure.kind, closure.kind).lower()}"


def get_closure(site: Site, closure_id: int) -> Closure | None:
    return next((c for c in site.closures if c.id == closure_id), None)


def save_closure(
    actor: User, site: Site, closure: Closure | None, values: Mapping[str, Any], at: datetime
) -> Closure:
    """Create (closure None) or update a closure of the site."""
    check_may_edit(actor, site.body)
    if values["ends_at"] <= values["starts_at"]:
        raise ManageError("La fin doit être après le début.")
    problem = hours.validate(values.get("opening_hours"))
    if problem:
        raise ManageError(problem)
    action = audit.UPDATE if closure else audit.CREATE
    before = audit.snapshot(closure, CLOSURE_FIELDS) if closure else None
    if closure is None:
        closure = Closure(site_id=site.id)
        site.closures.append(closure)
    _assign(closure, values)
    db.session.flush()
    # Closures are made in the application only: no edited_at to protect them from seeding.
    audit.record(
        actor,
        "closure",
        _closure_key(site, closure),
        _closure_label(site, closure),
        action,
        before,
        audit.snapshot(closure, CLOSURE_FIELDS),
        at,
    )
    db.session.commit()
    return closure


def delete_closure(actor: User, site: Site, closure: Closure, at: datetime) -> None:
    check_may_edit(actor, site.body)
    audit.record(
        actor,
        "closure",
        _closure_key(site, closure),
        _closure_label(site, closure),
        audit.DELETE,
        audit.snapshot(closure, CLOSURE_FIELDS),
        None,
        at,
    )
    site.closures.remove(closure)
    db.session.commit()


# --- permanences --------------------------------------------------------------------------


def _permanence_state(permanence: Permanence, host: Site) -> dict[str, Any]:
    return {"host_site": host.name, **audit.snapshot(permanence, PERMANENCE_FIELDS)}


def _permanence_key(permanence: Permanence) -> str:
    return f"{permanence.body_id}/{permanence.id}"


def save_permanence(
    actor: User,
    body: Body,
    permanence: Permanence | None,
    values: Mapping[str, Any],
    host_site_id: int,
    at: datetime,
) -> Permanence:
    """Create (permanence None) or update a permanence the body holds at a host site."""
    check_may_edit(actor, body)
    host = get_by_id(Site, host_site_id)
    if host is None:
        raise HostRefused("Lieu d'accueil inconnu : choisissez-le dans la liste.")
    if not may_host(actor, body, host, permanence.host_site_id if permanence else None):
        raise HostRefused(HOST_REFUSED)
    problem = hours.validate(values.get("schedule")) or (
        None if (values.get("schedule") or "").strip() else "Indiquez les horaires."
    )
    if problem:
        raise ManageError(problem)
    starts, ends = values.get("starts_on"), values.get("ends_on")
    if starts and ends and ends < starts:
        raise ManageError("La date de fin doit être après la date de début.")
    action = audit.UPDATE if permanence else audit.CREATE
    before = _permanence_state(permanence, permanence.host_site) if permanence else None
    if permanence is None:
        permanence = Permanence(body_id=body.id)
        db.session.add(permanence)
    _assign(permanence, values)
    permanence.host_site_id = host.id
    permanence.host_site = host
    db.session.flush()
    entry = audit.record(
        actor,
        "permanence",
        _permanence_key(permanence),
        f"{body.name} à {host.name}",
        action,
        before,
        _permanence_state(permanence, host),
        at,
    )
    if entry is not None:
        permanence.edited_at = _naive_utc(at)
    db.session.commit()
    return permanence


def delete_permanence(actor: User, permanence: Permanence, at: datetime) -> None:
    check_may_edit(actor, permanence.body)
    audit.record(
        actor,
        "permanence",
        _permanence_key(permanence),
        f"{permanence.body.name} à {permanence.host_site.name}",
        audit.DELETE,
        _permanence_state(permanence, permanence.host_site),
        None,
        at,
    )
    db.session.delete(permanence)
    db.session.commit()
