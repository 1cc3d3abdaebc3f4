"""The orientation answer: for a need and a commune, who handles it, where, and when."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from proxiservices.domain import closures as closure_rules
from proxiservices.domain import hours
from proxiservices.domain import permanences as permanence_rules
from proxiservices.domain.competence import (
    CandidateSite,
    Place,
    RankedSite,
    nearest,
    place_distance,
    rank_sites,
)
from proxiservices.extensions import db
from proxiservices.models import (
    Atelier,
    Body,
    BodyKind,
    Closure,
    Commune,
    Need,
    Permanence,
    Site,
    SiteCoverage,
)
from proxiservices.services import alerts as alert_service
from proxiservices.services import answer_cache, directory_memory
from proxiservices.services import ateliers as atelier_service
from proxiservices.services.alerts import ShownAlert
from proxiservices.services.communes import get_commune
from proxiservices.services.needs import get_need

DEFAULT_HELP_KINDS = ("FRANCE_SERVICES", "CONSEILLER_NUMERIQUE")


class OrientationError(LookupError):
    """Unknown need or commune; the message is shown to the user as is."""


@dataclass(frozen=True)
class Banner:
    """A closure or temporary information in words, for the warning banner."""

    closure: Closure
    label: str  # "Fermeture exceptionnelle", "Horaires modifiés", "Information"
    period: str  # "du jeudi 24 décembre à 12h au samedi 26 décembre inclus"
    hours_text: str | None  # the changed hours in French, for kind "hours"


def banner(closure: Closure) -> Banner:
    hours_text = None
    if closure.kind == "hours":
        hours_text = (
            permanence_rules.schedule_text(closure.opening_hours, closure.starts_at.date())
            or closure.opening_hours
            or "horaires non précisés"
        )
    return Banner(
        closure=closure,
        label=closure_rules.KIND_LABELS.get(closure.kind, "Information"),
        period=closure_rules.period_text(closure.starts_at, closure.ends_at),
        hours_text=hours_text,
    )


@dataclass
class SiteAnswer:
    site: Site
    distance_km: float | None
    distance_approx: bool
    competence_verified: bool
    status: hours.HoursStatus
    closures: list[Closure]
    week: list[hours.WeekdayHours] | None
    # Closures and temporary information shown as a banner (from 15 days before to their end).
    banners: list[Banner] = field(default_factory=list)

    @property
    def body(self) -> Body:
        return self.site.body


@dataclass
class PermanenceAnswer:
    permanence: Permanence
    distance_km: float | None
    next_start: datetime | None
    next_end: datetime | None = None
    # "prochaine permanence CAF à la France services de Bruyères : mardi 1er décembre, 9h–12h"
    sentence: str = ""
    # "1er et 3e mardis, 9h–12h"; None when the schedule cannot be read
    schedule_text: str | None = None
    upcoming: list[hours.Period] = field(default_factory=list)

    @property
    def upcoming_texts(self) -> list[str]:
        return [permanence_rules.occurrence_text(*period) for period in self.upcoming]


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
    # Local alerts of the commune, its EPCI or its département (current or within 7 days).
    alerts: list[ShownAlert] = field(default_factory=list)
    # Coming ateliers (60 days) near the help desks, for digital-help needs.
    ateliers: list[Atelier] = field(default_factory=list)

    @property
    def competence_verified(self) -> bool:
        return any(s.competence_verified for s in self.sites)

    @property
    def site_kind_codes(self) -> list[str]:
        """The body kinds of the sites shown, once each, in order (the map link)."""
        return list(dict.fromkeys(s.site.body.kind_code for s in self.sites))


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


def closed_periods(site: Site | None) -> list[hours.ClosedPeriod]:
    """The site's closures as the hours domain skips them (none without a site)."""
    if site is None:
        return []
    return [
        hours.ClosedPeriod(c.starts_at, c.ends_at, c.message)
        for c in site.closures
        if c.kind == "closed"
    ]


def site_overrides(site: Site) -> list[hours.Override]:
    """Closures and changed hours, as the hours domain applies them; messages change nothing."""
    changed = [
        hours.ChangedHours(c.starts_at, c.ends_at, c.opening_hours or "", c.message)
        for c in site.closures
        if c.kind == "hours"
    ]
    return [*closed_periods(site), *changed]


def coming_days(site: Site, at: datetime, days: int) -> list[hours.DayHours]:
    """The site's hours day by day from `at`, holidays, closures and changed hours applied."""
    local = at.astimezone(hours.PARIS).date()
    return hours.days_ahead(site.opening_hours, local, days, site_overrides(site))


def _local(at: datetime) -> datetime:
    return at.astimezone(hours.PARIS).replace(tzinfo=None)


def site_answer(site: Site, at: datetime, ranked=None) -> SiteAnswer:
    """Hours status and coming closures of one site at a moment."""
    local_now = _local(at)
    return SiteAnswer(
        site=site,
        distance_km=ranked.distance_km if ranked else None,
        distance_approx=ranked.distance_approx if ranked else False,
        competence_verified=ranked.competence_verified if ranked else False,
        status=hours.status(site.opening_hours, at, site_overrides(site)),
        closures=[c for c in site.closures if c.ends_at >= local_now],
        week=hours.weekly_table(site.opening_hours, local_now.date()),
        banners=[
            banner(c)
            for c in site.closures
            if closure_rules.is_announced(c.starts_at, c.ends_at, local_now)
        ],
    )


def past_closures(site: Site, at: datetime, limit: int = 10) -> list[Banner]:
    """Closures already over, most recent first: archived on the site page, never on results."""
    local_now = _local(at)
    over = [c for c in site.closures if closure_rules.is_past(c.ends_at, local_now)]
    return [banner(c) for c in sorted(over, key=lambda c: c.ends_at, reverse=True)[:limit]]


def permanence_answer(
    permanence: Permanence, at: datetime, distance_km: float | None = None, count: int = 1
) -> PermanenceAnswer:
    """Next occurrence(s) of a permanence, host-site closures and validity dates applied."""
    upcoming = permanence_rules.next_occurrences(
        permanence.schedule,
        at,
        count,
        closed_periods(permanence.host_site),
        permanence.starts_on,
        permanence.ends_on,
    )
    first = upcoming[0] if upcoming else None
    return PermanenceAnswer(
        permanence=permanence,
        distance_km=distance_km,
        next_start=first[0] if first else None,
        next_end=first[1] if first else None,
        sentence=permanence_rules.announcement(
            permanence.body.kind.short_label,
            permanence.host_site.name,
            first,
            permanence.by_appointment,
        ),
        schedule_text=permanence_rules.schedule_text(permanence.schedule, _local(at).date()),
        upcoming=upcoming,
    )


def permanence_query():
    """Permanences with what their answers read, in a constant number of queries."""
    return select(Permanence).options(
        joinedload(Permanence.body).joinedload(Body.kind),
        joinedload(Permanence.host_site).joinedload(Site.commune),
        joinedload(Permanence.host_site).selectinload(Site.closures),
    )


def current(stmt, at: datetime):
    """Only permanences whose validity has not ended (a season over is not announced)."""
    today = _local(at).date()
    return stmt.where(or_(Permanence.ends_on.is_(None), Permanence.ends_on >= today))


# Sites read by approximate distance (in the database) before the exact ranking here: the
# nearest few of thousands, whatever their number, without loading them all.
NEAREST_READ_FACTOR, NEAREST_READ_MARGIN = 4, 20
# The flat-earth distance used to pick them is within a few per cent of the great-circle one
# at these scales; the read is trusted only if it reaches this much further than needed.
NEAREST_SAFETY = 1.2
KM_PER_DEGREE = 111.2


def _flat_km(origin: Place, latitude: float, longitude: float, squash: float) -> float:
    dlat, dlon = latitude - origin.latitude, longitude - origin.longitude  # type: ignore[operator]
    return KM_PER_DEGREE * math.sqrt(dlat * dlat + dlon * dlon * squash)


def _nearest_rows(kinds: Sequence[str], origin: Place, limit: int, excluded: frozenset[int]):
    """(id, latitude, longitude) of the sites of the kinds that may be among the `limit`
    nearest: the closest by flat-earth distance when that read provably holds them, else all
    (one more query)."""
    light = select(Site.id, Site.latitude, Site.longitude).join(Site.body)
    light = light.where(Body.kind_code.in_(kinds))
    if excluded:
        light = light.where(Site.id.not_in(excluded))
    if origin.latitude is None or origin.longitude is None:
        # No distance to rank by: any `limit` of them, as the ranking would keep.
        return db.session.execute(light.order_by(Site.id).limit(limit)).all()
    squash = math.cos(math.radians(origin.latitude)) ** 2
    dlat, dlon = Site.latitude - origin.latitude, Site.longitude - origin.longitude
    wanted = limit * NEAREST_READ_FACTOR + NEAREST_READ_MARGIN
    rows = db.session.execute(
        light.order_by(
            Site.latitude.is_(None),
            Site.longitude.is_(None),
            dlat * dlat + dlon * dlon * squash,
            Site.id,
        ).limit(wanted)
    ).all()
    last = rows[-1] if rows else None
    if len(rows) < wanted or last.latitude is None or last.longitude is None:
        return rows  # every site of the kinds with a position was read
    exact = sorted(
        km
        for km, _ in (place_distance(origin, Place(r.latitude, r.longitude)) for r in rows)
        if km is not None
    )
    needed = exact[min(limit, len(exact)) - 1]
    if _flat_km(origin, last.latitude, last.longitude, squash) >= NEAREST_SAFETY * needed + 1:
        return rows
    return db.session.execute(light).all()


def _nearest_sites_of_kinds(
    kinds: Sequence[str], origin: Place, limit: int, excluded: frozenset[int] = frozenset()
) -> list[Site]:
    """The sites of the kinds that can be among the `limit` nearest to `origin` (ties
    included), chosen from their positions alone: nationally there are thousands of help
    desks or town halls, and loading each with its body, coverage and closures to keep three
    cost more than the rest of the answer."""
    distances = sorted(
        (km is None, km or 0.0, r.id)
        for km, r in (
            (place_distance(origin, Place(r.latitude, r.longitude))[0], r)
            for r in _nearest_rows(kinds, origin, limit, excluded)
        )
    )
    if not distances:
        return []
    cutoff = distances[min(limit, len(distances)) - 1][:2]
    chosen = [site_id for unknown, km, site_id in distances if (unknown, km) <= cutoff]
    stmt = _site_query().where(Site.id.in_(chosen)).order_by(Site.id)
    return list(db.session.scalars(stmt).unique())


def _competent_sites(kind: str, commune: Commune) -> list[Site]:
    covered = select(SiteCoverage.site_id).where(
        SiteCoverage.area_code.in_(commune.territory_codes | {"FR"})
    )
    stmt = _site_query().join(Site.body).where(Body.kind_code == kind, Site.id.in_(covered))
    return list(db.session.scalars(stmt.order_by(Site.id)).unique())


@dataclass(frozen=True)
class Selection:
    """The time-independent part of an answer, as plain values kept by answer_cache: which
    sites and help desks (ranked, `key` = site id), through which kind, which bodies."""

    via_kind: str | None
    sites: tuple[RankedSite, ...]
    help_desks: tuple[RankedSite, ...]
    bodies_without_site: tuple[int, ...]


def select_answer(
    need: Need,
    commune: Commune,
    max_sites: int = 5,
    max_help_desks: int = 3,
    memory: directory_memory.Snapshot | None = None,
) -> tuple[Selection, dict[int, Site]]:
    """Compute the selection from the directory in memory, or else from the database (with
    the sites it loaded)."""
    if memory is not None:
        return _select_in_memory(memory, need, commune, max_sites, max_help_desks), {}
    origin = commune_place(commune)
    codes = commune.territory_codes | {"FR"}
    kind = need.body_kind
    via_kind = None
    ranked: list[RankedSite] = []
    if not kind.online_only:
        ranked = rank_sites(
            _candidates(_competent_sites(kind.code, commune)), codes, origin, max_sites
        )
        if not ranked:
            nearest_sites = _nearest_sites_of_kinds([kind.code], origin, max_sites)
            ranked = rank_sites(_candidates(nearest_sites), codes, origin, max_sites)
        if not ranked and kind.fallback_kind:
            via_kind = kind.fallback_kind
            ranked = rank_sites(
                _candidates(_competent_sites(kind.fallback_kind, commune)),
                codes,
                origin,
                max_sites,
            )
    desks: list[RankedSite] = []
    help_kinds = [k for k in (need.help_kinds or DEFAULT_HELP_KINDS) if k != kind.code]
    if help_kinds:
        shown = frozenset(r.key.id for r in ranked)
        nearby = _nearest_sites_of_kinds(help_kinds, origin, max_help_desks, shown)
        desks = nearest(_candidates(nearby), codes, origin, max_help_desks)
    loaded = {r.key.id: r.key for r in [*ranked, *desks]}
    selection = Selection(
        via_kind=via_kind,
        sites=tuple(_by_id(r) for r in ranked),
        help_desks=tuple(_by_id(r) for r in desks),
        bodies_without_site=_bodies_without_site_ids(kind.code),
    )
    return selection, loaded


def _select_in_memory(
    memory: directory_memory.Snapshot,
    need: Need,
    commune: Commune,
    max_sites: int,
    max_help_desks: int,
) -> Selection:
    """select_answer's choices from the snapshot's site index: the same candidates, in the
    same order (by id), ranked by the same domain functions; no query."""
    origin = commune_place(commune)
    codes = commune.territory_codes | {"FR"}
    # A kind created after the snapshot (by another worker, not yet noticed) is the need's own.
    kind = memory.kinds.get(need.body_kind_code) or need.body_kind

    def candidates(ids: Iterable[int]) -> list[CandidateSite]:
        return [
            CandidateSite(
                key=i,
                place=memory.points[i].place,
                coverage=memory.coverage.get(i, frozenset()),
            )
            for i in ids
        ]

    via_kind = None
    ranked: list[RankedSite] = []
    if not kind.online_only:
        competent = memory.competent_ids(kind.code, codes)
        ranked = rank_sites(candidates(competent), codes, origin, max_sites)
        if not ranked:
            near = memory.nearest_ids([kind.code], origin, max_sites, frozenset())
            ranked = rank_sites(candidates(near), codes, origin, max_sites)
        if not ranked and kind.fallback_kind:
            via_kind = kind.fallback_kind
            competent = memory.competent_ids(kind.fallback_kind, codes)
            ranked = rank_sites(candidates(competent), codes, origin, max_sites)
    desks: list[RankedSite] = []
    help_kinds = [k for k in (need.help_kinds or DEFAULT_HELP_KINDS) if k != kind.code]
    if help_kinds:
        shown = frozenset(r.key for r in ranked)
        nearby = memory.nearest_ids(help_kinds, origin, max_help_desks, shown)
        desks = nearest(candidates(nearby), codes, origin, max_help_desks)
    return Selection(
        via_kind=via_kind,
        sites=tuple(ranked),
        help_desks=tuple(desks),
        bodies_without_site=tuple(b.id for b in memory.bodies_without_site.get(kind.code, ())),
    )


def _by_id(ranked: RankedSite) -> RankedSite:
    return RankedSite(
        ranked.key.id, ranked.distance_km, ranked.distance_approx, ranked.competence_verified
    )


def orient(
    need_slug: str, commune_insee: str, at: datetime, max_sites: int = 5, max_help_desks: int = 3
) -> OrientationAnswer:
    """Build the orientation answer; `at` is an aware datetime (the answer's "now").

    Which sites, help desks and bodies answer does not depend on `at`: it is kept by
    answer_cache until the directory changes; hours, closures, permanences, alerts and
    ateliers are computed for `at` on each call, from rows read by this request."""
    # The generation is read before the need and the commune: a selection built from them
    # is then at least as new as the generation it is kept under.
    generation = answer_cache.generation()
    # The directory of this generation in memory (services/directory_memory.py): no query.
    memory = directory_memory.current()
    need = memory.need(need_slug) if memory else get_need(need_slug)
    if need is None:
        raise OrientationError(f"Besoin inconnu : « {need_slug[:60]} ».")
    commune = memory.commune(commune_insee) if memory else get_commune(commune_insee)
    if commune is None:
        raise OrientationError(f"Commune inconnue : « {commune_insee[:20]} » (code INSEE attendu).")
    key = ("orient", need.slug, commune.insee, max_sites, max_help_desks)
    _, selection = answer_cache.get(key)
    loaded: dict[int, Site] = {}
    if selection is None:
        selection, loaded = select_answer(need, commune, max_sites, max_help_desks, memory)
        # No generation (None) while this request holds uncommitted directory edits.
        answer_cache.put(generation, key, selection)
    return answer_from(need, commune, at, selection, loaded, memory)


def answer_from(
    need: Need,
    commune: Commune,
    at: datetime,
    selection: Selection,
    loaded: dict[int, Site] | None = None,
    memory: directory_memory.Snapshot | None = None,
) -> OrientationAnswer:
    """The answer at `at` from a selection; sites not in `loaded` come from the directory
    in memory, or else are read in one batch."""
    loaded = dict(loaded or {})
    missing = [r.key for r in (*selection.sites, *selection.help_desks) if r.key not in loaded]
    if missing and memory is not None:
        loaded.update(memory.sites_by_id(missing))
    elif missing:
        stmt = _site_query().where(Site.id.in_(missing))
        loaded.update((s.id, s) for s in db.session.scalars(stmt).unique())
    answer = OrientationAnswer(
        need=need, commune=commune, at=at, body_kind=need.body_kind, sites=[]
    )
    if selection.via_kind:
        answer.via_kind = (
            memory.kinds.get(selection.via_kind)
            if memory is not None
            else db.session.get(BodyKind, selection.via_kind)
        )
    # A site deleted by another worker may still be in a selection for up to
    # DIRECTORY_CHECK_SECONDS: it is left out rather than looked up.
    answer.sites = [site_answer(loaded[r.key], at, r) for r in selection.sites if r.key in loaded]
    answer.help_desks = [
        site_answer(loaded[r.key], at, r) for r in selection.help_desks if r.key in loaded
    ]
    if memory is not None:
        kept = {b.id: b for b in memory.bodies_without_site.get(need.body_kind_code, ())}
        answer.bodies_without_site = [kept[i] for i in selection.bodies_without_site if i in kept]
    else:
        answer.bodies_without_site = _bodies_by_id(selection.bodies_without_site)
    answer.permanences = _permanences(need.body_kind_code, commune_place(commune), at, memory)
    _add_local_info(answer, memory)
    return answer


def _bodies_without_site_ids(kind: str) -> tuple[int, ...]:
    """Kept per kind (whatever the commune), as most kinds have none: no query then."""
    key = ("bodies-without-site", kind)
    generation, ids = answer_cache.get(key)
    if ids is None:
        ids = tuple(b.id for b in _bodies_without_site(kind))
        answer_cache.put(generation, key, ids)
    return ids


def _bodies_by_id(ids: tuple[int, ...]) -> list[Body]:
    if not ids:
        return []
    stmt = select(Body).options(joinedload(Body.kind)).where(Body.id.in_(ids))
    found = {b.id: b for b in db.session.scalars(stmt)}
    return [found[i] for i in ids if i in found]


def _add_local_info(
    answer: OrientationAnswer, memory: directory_memory.Snapshot | None = None
) -> None:
    """Alerts for the commune and the result's body kind; ateliers for digital-help needs.
    From the rows kept in memory when there are (None: a moment before them)."""
    shown_kinds = {answer.body_kind.code} | ({answer.via_kind.code} if answer.via_kind else set())
    alerts = None
    if memory is not None:
        alerts = memory.alerts_for(answer.commune.territory_codes, answer.at, shown_kinds)
    if alerts is None:
        alerts = alert_service.list_for_commune(
            answer.commune, answer.at, body_kind_codes=shown_kinds
        )
    answer.alerts = alerts
    desks = answer.help_desks + [s for s in answer.sites if s.site.body.kind.help_desk]
    theme = answer.need.theme.slug if answer.need.theme else None
    if atelier_service.offers_ateliers(theme, bool(desks)):
        site_ids = {s.site.id for s in desks}
        ateliers = None
        if memory is not None:
            ateliers = memory.ateliers_for(site_ids, answer.commune.epci_code, answer.at)
        if ateliers is None:
            ateliers = atelier_service.list_for_orientation(
                site_ids, answer.commune.epci_code, answer.at
            )
        answer.ateliers = ateliers


def _bodies_without_site(kind: str) -> list[Body]:
    stmt = (
        select(Body)
        .options(joinedload(Body.kind))
        .where(Body.kind_code == kind, ~Body.sites.any())
        .order_by(Body.name, Body.id)
    )
    return list(db.session.scalars(stmt))


def _permanences(
    kind: str,
    origin: Place,
    at: datetime,
    memory: directory_memory.Snapshot | None = None,
    limit: int = 5,
) -> list[PermanenceAnswer]:
    """Nearest permanences of the kind with a coming date (or an unreadable schedule to check),
    nearest first then soonest: from memory, or else three queries whatever their number."""
    if memory is not None:
        today = _local(at).date()
        permanences = [
            p for p in memory.permanences.get(kind, ()) if p.ends_on is None or p.ends_on >= today
        ]
    else:
        stmt = current(permanence_query().join(Permanence.body).where(Body.kind_code == kind), at)
        permanences = list(db.session.scalars(stmt.order_by(Permanence.id)).unique())
    ranked = {
        r.key.id: r
        for r in nearest(
            [
                CandidateSite(
                    key=p.host_site,
                    place=Place(
                        p.host_site.latitude, p.host_site.longitude, p.host_site.position_approx
                    ),
                    coverage=frozenset(),
                )
                for p in permanences
            ],
            set(),
            origin,
            len(permanences),
        )
    }
    answers = [permanence_answer(p, at, ranked[p.host_site.id].distance_km) for p in permanences]
    answers = [a for a in answers if a.next_start or a.schedule_text is None]
    answers.sort(
        key=lambda a: (
            a.distance_km is None,
            a.distance_km or 0,
            a.next_start is None,
            a.next_start.timestamp() if a.next_start else 0,
        )
    )
    return answers[:limit]
