"""The orientation answer: for a need and a commune, who handles it, where, and when."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from proxiservices.domain import hours
from proxiservices.domain.competence import CandidateSite, Place, nearest, rank_sites
from proxiservices.extensions import db
from proxiservices.models import (
    Body,
    BodyKind,
    Closure,
    Commune,
    Need,
    Permanence,
    Site,
    SiteCoverage,
)
from proxiservices.services.communes import get_commune
from proxiservices.services.needs import get_need

DEFAULT_HELP_KINDS = ("FRANCE_SERVICES", "CONSEILLER_NUMERIQUE")


class OrientationError(LookupError):
    """Unknown need or commune; the message is shown to the user as is."""


@dataclass
class SiteAnswer:
    site: Site
    distance_km: float | None
    distance_approx: bool
    competence_verified: bool
    status: hours.HoursStatus
    closures: list[Closure]
    week: list[hours.WeekdayHours] | None

    @property
    def body(self) -> Body:
        return self.site.body


@dataclass
class PermanenceAnswer:
    permanence: Permanence
    distance_km: float | None
    next_start: datetime | None


@dataclass
class OrientationAnswer:
    need: Need
    commune: Commune
    at: datetime
    body_kind: BodyKind
    sites: list[SiteAnswer]
    # Set when no site of the need's kind is known and the kind's fallback desk answers.
    via_kind: BodyKind | None = None
    bodies_without_site: list[Body] = field(default_factory=list)
    permanences: list[PermanenceAnswer] = field(default_factory=list)
    help_desks: list[SiteAnswer] = field(default_factory=list)

    @property
    def competence_verified(self) -> bool:
        return any(s.competence_verified for s in self.sites)


def commune_place(commune: Commune) -> Place:
    return Place(commune.latitude, commune.longitude, commune.position_approx)


def _site_query():
    return select(Site).options(
        joinedload(Site.body).joinedload(Body.kind),
        joinedload(Site.commune),
        selectinload(Site.coverage),
        selectinload(Site.closures),
    )


def _candidates(sites: Iterable[Site]) -> list[CandidateSite]:
    return [
        CandidateSite(
            key=s,
            place=Place(s.latitude, s.longitude, s.position_approx),
            coverage=frozenset(c.area_code for c in s.coverage),
        )
        for s in sites
    ]


def _closed_periods(site: Site) -> list[hours.ClosedPeriod]:
    return [
        hours.ClosedPeriod(c.starts_at, c.ends_at, c.message)
        for c in site.closures
        if c.kind == "closed"
    ]


def coming_days(site: Site, at: datetime, days: int) -> list[hours.DayHours]:
    """The site's hours day by day from `at`, holidays and closures applied (printed fiche)."""
    local = at.astimezone(hours.PARIS).date()
    return hours.days_ahead(site.opening_hours, local, days, _closed_periods(site))


def site_answer(site: Site, at: datetime, ranked=None) -> SiteAnswer:
    """Hours status and coming closures of one site at a moment."""
    local_now = at.astimezone(hours.PARIS).replace(tzinfo=None)
    return SiteAnswer(
        site=site,
        distance_km=ranked.distance_km if ranked else None,
        distance_approx=ranked.distance_approx if ranked else False,
        competence_verified=ranked.competence_verified if ranked else False,
        status=hours.status(site.opening_hours, at, _closed_periods(site)),
        closures=[c for c in site.closures if c.ends_at >= local_now],
        week=hours.weekly_table(site.opening_hours, local_now.date()),
    )


def _sites_of_kinds(kinds: Sequence[str]) -> list[Site]:
    stmt = _site_query().join(Site.body).where(Body.kind_code.in_(kinds))
    return list(db.session.scalars(stmt).unique())


def _competent_sites(kind: str, commune: Commune) -> list[Site]:
    covered = select(SiteCoverage.site_id).where(
        SiteCoverage.area_code.in_(commune.territory_codes | {"FR"})
    )
    stmt = _site_query().join(Site.body).where(Body.kind_code == kind, Site.id.in_(covered))
    return list(db.session.scalars(stmt).unique())


def orient(
    need_slug: str, commune_insee: str, at: datetime, max_sites: int = 5, max_help_desks: int = 3
) -> OrientationAnswer:
    """Build the orientation answer; `at` is an aware datetime (the answer's "now")."""
    need = get_need(need_slug)
    if need is None:
        raise OrientationError(f"Besoin inconnu : « {need_slug} ».")
    commune = get_commune(commune_insee)
    if commune is None:
        raise OrientationError(f"Commune inconnue : « {commune_insee} » (code INSEE attendu).")
    origin = commune_place(commune)
    codes = commune.territory_codes | {"FR"}
    kind = need.body_kind

    answer = OrientationAnswer(need=need, commune=commune, at=at, body_kind=kind, sites=[])
    if not kind.online_only:
        ranked = rank_sites(
            _candidates(_competent_sites(kind.code, commune)), codes, origin, max_sites
        )
        if not ranked:
            ranked = rank_sites(_candidates(_sites_of_kinds([kind.code])), codes, origin, max_sites)
        if not ranked and kind.fallback_kind:
            answer.via_kind = db.session.get(BodyKind, kind.fallback_kind)
            ranked = rank_sites(
                _candidates(_competent_sites(kind.fallback_kind, commune)),
                codes,
                origin,
                max_sites,
            )
        answer.sites = [site_answer(r.key, at, r) for r in ranked]
    answer.bodies_without_site = _bodies_without_site(kind.code)

    help_kinds = [k for k in (need.help_kinds or DEFAULT_HELP_KINDS) if k != kind.code]
    if help_kinds:
        shown = {s.site.id for s in answer.sites}
        desks = [s for s in _sites_of_kinds(help_kinds) if s.id not in shown]
        answer.help_desks = [
            site_answer(r.key, at, r)
            for r in nearest(_candidates(desks), codes, origin, max_help_desks)
        ]
    answer.permanences = _permanences(kind.code, origin, at)
    return answer


def _bodies_without_site(kind: str) -> list[Body]:
    stmt = (
        select(Body)
        .options(joinedload(Body.kind))
        .where(Body.kind_code == kind, ~Body.sites.any())
        .order_by(Body.name)
    )
    return list(db.session.scalars(stmt))


def _permanences(kind: str, origin: Place, at: datetime, limit: int = 5) -> list[PermanenceAnswer]:
    stmt = (
        select(Permanence)
        .join(Permanence.body)
        .where(Body.kind_code == kind)
        .options(
            joinedload(Permanence.body),
            joinedload(Permanence.host_site).joinedload(Site.commune),
        )
    )
    permanences = list(db.session.scalars(stmt))
    ranked = {
        r.key.id: r
        for r in nearest(
            [
                CandidateSite(
                    key=p.host_site,
                    place=Place(p.host_site.latitude, p.host_site.longitude),
                    coverage=frozenset(),
                )
                for p in permanences
            ],
            set(),
            origin,
            len(permanences),
        )
    }
    answers = []
    for p in permanences:
        st = hours.status(p.schedule, at)
        start = at if st.open_now else st.next_opening
        answers.append(PermanenceAnswer(p, ranked[p.host_site.id].distance_km, start))
    answers.sort(key=lambda a: (a.distance_km is None, a.distance_km or 0))
    return answers[:limit]
