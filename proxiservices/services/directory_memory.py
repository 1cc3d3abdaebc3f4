"""The directory held in memory by each process, one snapshot per directory generation
(services/answer_cache.py), so that an orientation answer runs no query (issue 8).

Why: an answer for a new need and commune read 14-16 queries (sites, coverage, closures,
permanences, alerts, ateliers...), most of its cost. The directory changes a few times a
day; answers are read thousands of times between two edits.

What is kept:
- a light index of every site (position, kind, coverage codes), read with Core selects,
  from which the sites of an answer are chosen (services/orientation.py);
- detached ORM objects, fully loaded in a short-lived session of their own and closed
  afterwards: body kinds, sites (with body, kind, commune, coverage, closures), permanences,
  bodies without site, needs, communes, and the alerts and ateliers not over long ago.
  Every commune is loaded (a new commune cost a query per page, and France has 34,969);
  sites are loaded whole up to EAGER_SITES and needs up to MAX_LAZY; beyond, they are read
  by key on first use and kept for the generation.

gunicorn's master builds the snapshot before forking (warm(), gunicorn.conf.py): workers
start with it, shared copy-on-write, instead of each paying seconds on its first answers.

The objects are shared by every request of the process (and its threads): read-only. They
are never added to a request session (a session that committed would expire them for
everyone; attach_guard() refuses it), and every attribute the answer's pages read is
loaded, so that nothing lazy-loads (DetachedInstanceError on a detached object).

A snapshot is used only while the process's generation is the one it was built for; the
request's own uncommitted directory edits (tests, admin previews) bypass it.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from proxiservices.domain import hours
from proxiservices.domain.competence import Place
from proxiservices.domain.geo import EARTH_RADIUS_KM, distance_km
from proxiservices.extensions import db
from proxiservices.models import (
    Alert,
    Atelier,
    Body,
    BodyKind,
    Commune,
    Need,
    Permanence,
    Site,
    SiteCoverage,
    Territory,
)
from proxiservices.services import alerts as alert_service
from proxiservices.services import answer_cache
from proxiservices.services import ateliers as atelier_service
from proxiservices.services.communes import could_be_insee

# Directories up to this many sites are loaded whole when the snapshot is built; larger ones
# site by site, on first use. Sites: the 10,429 of the national benchmark
# load in 2 s and hold ~120 MB per process, and halve the CPU of a new answer there (lazily,
# each answer read its sites: 21 -> 11 ms). Communes are always loaded whole: the 34,969 of
# France in 0.5 s and ~60 MB, against a query and ~1 ms of CPU per page for each new one.
EAGER_SITES = 20000
# Objects loaded by key are kept up to these numbers per snapshot.
MAX_LAZY = 20000
# Alerts and ateliers kept: those not over this long before the moment of the first answer
# (earlier moments are answered from the database, as before).
KEPT_PAST = timedelta(days=30)
# Grid of the nearest-site search, in degrees; beyond MAX_RINGS rings, all sites are read.
CELL_DEGREES = 0.5
MAX_RINGS = 12
LOAD_BATCH = 5000
# Longer than any need slug (the column holds 120): not looked up.
MAX_SLUG = 120

_build_lock = threading.Lock()
# Set in the __dict__ of every kept object (not a mapped attribute).
_MARK = "_directory_memory"


@dataclass(frozen=True)
class SitePoint:
    id: int
    kind: str
    latitude: float | None
    longitude: float | None
    approx: bool

    @property
    def place(self) -> Place:
        return Place(self.latitude, self.longitude, self.approx)

    @property
    def positioned(self) -> bool:
        return self.latitude is not None and self.longitude is not None


@contextmanager
def _reading():
    """A session of our own: the objects it loads are detached when it closes, and a
    commit elsewhere never expires them. It reads on the request session's connection,
    inside its transaction (never ending it): no second connection to check out and ping
    for a need or a commune read on first use."""
    session = Session(bind=db.session.connection(), expire_on_commit=False)
    session.info["directory_memory"] = True
    try:
        yield session
        for instance in session.identity_map.values():
            instance.__dict__[_MARK] = True
    finally:
        session.close()


def _site_options(stmt):
    return stmt.options(
        joinedload(Site.body).joinedload(Body.kind),
        joinedload(Site.commune),
        selectinload(Site.coverage),
        selectinload(Site.closures),
    )


def _need_query():
    return select(Need).options(
        joinedload(Need.theme), joinedload(Need.body_kind), joinedload(Need.catalogue_theme)
    )


def _cell(latitude: float, longitude: float) -> tuple[int, int]:
    return math.floor(latitude / CELL_DEGREES), math.floor(longitude / CELL_DEGREES)


def _ring(ci: int, cj: int, r: int) -> Iterable[tuple[int, int]]:
    if r == 0:
        yield ci, cj
        return
    for dj in range(-r, r + 1):
        yield ci - r, cj + dj
        yield ci + r, cj + dj
    for di in range(-r + 1, r):
        yield ci + di, cj - r
        yield ci + di, cj + r


def _km(origin: Place, point: SitePoint) -> float:
    """As domain.competence ranks them: great-circle km rounded to 0.1."""
    return round(
        distance_km(origin.latitude, origin.longitude, point.latitude, point.longitude),  # type: ignore[arg-type]
        1,
    )


class Snapshot:
    """The directory at one generation. Built by build(); lazy parts are filled under
    `_lock` and only ever added to, so readers need no lock."""

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self._lock = threading.Lock()
        self.points: dict[int, SitePoint] = {}
        self.by_kind: dict[str, list[SitePoint]] = defaultdict(list)
        self.unplaced: dict[str, list[SitePoint]] = defaultdict(list)
        # Per kind and cell: (id, longitude, latitude in radians, its cosine) of each site,
        # so that the ring search computes distance_km's formula without recomputing them.
        self.grid: dict[str, dict[tuple[int, int], list[tuple[int, float, float, float]]]] = (
            defaultdict(dict)
        )
        self.coverage: dict[int, frozenset[str]] = {}
        self.covering: dict[tuple[str, str], list[int]] = {}
        self.min_longitude = self.max_longitude = 0.0
        self.kinds: dict[str, BodyKind] = {}
        self.bodies_without_site: dict[str, list[Body]] = {}
        self.permanences: dict[str, list[Permanence]] = {}
        self.sites: dict[int, Site] = {}
        self.needs: OrderedDict[str, Need | None] = OrderedDict()
        self.communes: dict[str, Commune] = {}
        self.all_needs = False
        self.alerts: list[Alert] | None = None
        self.alerts_since: datetime | None = None
        self.area_names: dict[str, str] = {}
        self.ateliers: list[Atelier] | None = None
        self.ateliers_since: datetime | None = None

    # Building -------------------------------------------------------------------------

    @classmethod
    def build(cls, generation: int) -> Snapshot:
        snapshot = cls(generation)
        with _reading() as session:
            snapshot._index(session)
            snapshot._load_directory(session)
        return snapshot

    def _index(self, session: Session) -> None:
        rows = session.execute(
            select(Site.id, Body.kind_code, Site.latitude, Site.longitude, Site.position_approx)
            .join(Site.body)
            .order_by(Site.id)
        )
        self._index_points(
            SitePoint(row.id, row.kind_code, row.latitude, row.longitude, row.position_approx)
            for row in rows
        )
        codes: dict[int, set[str]] = defaultdict(set)
        covering: dict[tuple[str, str], set[int]] = defaultdict(set)
        for site_id, code in session.execute(select(SiteCoverage.site_id, SiteCoverage.area_code)):
            point = self.points.get(site_id)
            if point is not None:
                codes[site_id].add(code)
                covering[(point.kind, code)].add(site_id)
        self.coverage = {site_id: frozenset(c) for site_id, c in codes.items()}
        self.covering = {key: sorted(ids) for key, ids in covering.items()}

    def _load_directory(self, session: Session) -> None:
        self.kinds = {k.code: k for k in session.scalars(select(BodyKind))}
        bodies = session.scalars(
            select(Body)
            .options(joinedload(Body.kind))
            .where(~Body.sites.any())
            .order_by(Body.name, Body.id)
        )
        for body in bodies:
            self.bodies_without_site.setdefault(body.kind_code, []).append(body)
        permanences = session.scalars(
            select(Permanence)
            .options(
                joinedload(Permanence.body).joinedload(Body.kind),
                joinedload(Permanence.host_site).joinedload(Site.commune),
                joinedload(Permanence.host_site).selectinload(Site.closures),
            )
            .order_by(Permanence.id)
        )
        for permanence in permanences.unique():
            self.permanences.setdefault(permanence.body.kind_code, []).append(permanence)
        if len(self.points) <= EAGER_SITES:
            # The snapshot is not published yet: no reader sees these before they are marked.
            self.sites.update(self._read_sites(session, list(self.points)))
        # Every commune, in batches, with its columns only: its `epci` and `departement`
        # relationships are left unloaded (setting them cost ~40 MB more at national scale)
        # and must not be read on a kept commune; the pages read the codes.
        stmt = select(Commune).execution_options(yield_per=LOAD_BATCH)
        self.communes.update((c.insee, c) for c in session.scalars(stmt))
        # Every need too, up to MAX_LAZY (5,000 in 0.2 s and ~20 MB); beyond, by slug on
        # first use. Many-to-one joins only: one row per need, no unique() needed.
        if session.scalar(select(func.count()).select_from(Need)) <= MAX_LAZY:
            stmt = _need_query().execution_options(yield_per=LOAD_BATCH)
            self.needs.update((need.slug, need) for need in session.scalars(stmt))
            self.all_needs = True

    @staticmethod
    def _read_sites(session: Session, ids: Sequence[int]) -> dict[int, Site]:
        sites: dict[int, Site] = {}
        for start in range(0, len(ids), LOAD_BATCH):
            batch = ids[start : start + LOAD_BATCH]
            stmt = _site_options(select(Site)).where(Site.id.in_(batch))
            sites.update((s.id, s) for s in session.scalars(stmt).unique())
        return sites

    def _index_points(self, points: Iterable[SitePoint]) -> None:
        """By id, by kind, and placed sites in their grid cell (the nearest-site search)."""
        longitudes = []
        for point in points:
            self.points[point.id] = point
            self.by_kind[point.kind].append(point)
            if point.positioned:
                cell = _cell(point.latitude, point.longitude)  # type: ignore[arg-type]
                phi = math.radians(point.latitude)  # type: ignore[arg-type]
                self.grid[point.kind].setdefault(cell, []).append(
                    (point.id, point.longitude, phi, math.cos(phi))
                )
                longitudes.append(point.longitude)
            else:
                self.unplaced[point.kind].append(point)
        if longitudes:
            self.min_longitude, self.max_longitude = min(longitudes), max(longitudes)

    # Reading ---------------------------------------------------------------------------

    def need(self, slug: str) -> Need | None:
        # One lookup (another thread may evict between a test and a get); unknown slugs are
        # not kept, so that made-up addresses cannot fill the memory or push real ones out.
        need = self.needs.get(slug)
        if need is not None or self.all_needs or not slug or len(slug) > MAX_SLUG:
            return need
        with _reading() as session:
            need = session.scalars(_need_query().where(Need.slug == slug)).unique().one_or_none()
        if need is not None:
            self._keep(self.needs, slug, need)
        return need

    def commune(self, insee: str) -> Commune | None:
        """As services.communes.get_commune, without a query: every commune is kept (a
        commune added or removed moves the generation, hence the snapshot)."""
        if not could_be_insee(insee):
            return None
        return self.communes.get(insee)

    def _keep(self, kept: OrderedDict, key, value) -> None:
        with self._lock:
            kept[key] = value
            while len(kept) > MAX_LAZY:
                kept.popitem(last=False)

    def sites_by_id(self, ids: Iterable[int]) -> dict[int, Site]:
        """The sites of these ids (unknown ones left out), missing ones read in one batch."""
        ids = list(ids)
        missing = [i for i in ids if i not in self.sites and i in self.points]
        if missing:
            with self._lock:
                with _reading() as session:
                    read = self._read_sites(session, [i for i in missing if i not in self.sites])
                # Shared only once marked (when the reading session closed).
                self.sites.update(read)
        return {i: self.sites[i] for i in ids if i in self.sites}

    def competent_ids(self, kind: str, codes: Iterable[str]) -> list[int]:
        """Sites of the kind whose coverage names one of `codes`, by id."""
        found: set[int] = set()
        for code in codes:
            found.update(self.covering.get((kind, code), ()))
        return sorted(found)

    def nearest_ids(
        self, kinds: Sequence[str], origin: Place, limit: int, excluded: frozenset[int]
    ) -> list[int]:
        """The sites of the kinds that can be among the `limit` nearest to `origin`, ties
        included, by id: what orientation._nearest_sites_of_kinds reads from the database."""
        if limit <= 0:
            return []
        kinds = list(dict.fromkeys(kinds))

        def everyone() -> list[int]:
            return sorted(
                p.id for k in kinds for p in self.by_kind.get(k, ()) if p.id not in excluded
            )

        if origin.latitude is None or origin.longitude is None:
            return everyone()[:limit]
        # Counted, not listed: the common case reads only the grid cells around the origin.
        placed = sum(len(self.by_kind.get(k, ())) - len(self.unplaced.get(k, ())) for k in kinds)
        placed -= sum(
            1
            for i in excluded
            if (p := self.points.get(i)) is not None and p.kind in kinds and p.positioned
        )
        if placed < limit:
            return everyone()
        found = self._ring_search(kinds, origin, limit, excluded)
        if found is None:
            found = [
                (_km(origin, p), p.id)
                for k in kinds
                for p in self.by_kind.get(k, ())
                if p.positioned and p.id not in excluded
            ]
        cutoff = heapq.nsmallest(limit, found)[-1][0]
        return sorted(site_id for km, site_id in found if km <= cutoff)

    def _ring_search(
        self, kinds: Sequence[str], origin: Place, limit: int, excluded: frozenset[int]
    ) -> list[tuple[float, int]] | None:
        """(km, id) of the sites in the grid cells around `origin`, nearest cells first,
        until no site of a cell not read can be as near as the `limit`-th found; None when
        that needs cells past MAX_RINGS. Cells are queued ring after ring, and read in the
        order of the least distance any of their sites could be at: a dense kind reads the
        origin's cell and the few next to it rather than whole rings."""
        olat, olon = origin.latitude, origin.longitude
        ci, cj = _cell(olat, olon)  # type: ignore[arg-type]
        grids = [self.grid[k] for k in kinds if k in self.grid]
        # Longitudes are not wrapped in the grid: a site far "east" may be near "west".
        widest = max(olon - self.min_longitude, self.max_longitude - olon)  # type: ignore[operator]
        found: list[tuple[float, int]] = []
        nearest: list[float] = []  # the `limit` least km found, negated (a max-heap)
        # domain.geo.distance_km, operation for operation (the same floats, so the same ties
        # as the database path), with the origin's and the sites' terms computed once.
        phi1 = math.radians(olat)  # type: ignore[arg-type]
        cos1 = math.cos(phi1)
        diameter = 2 * EARTH_RADIUS_KM
        sin, asin, sqrt, radians = math.sin, math.asin, math.sqrt, math.radians
        queued: list[tuple[float, tuple[int, int]]] = []  # (least km, cell), a heap
        rings = -1  # the cells of rings 0..rings are queued
        beyond = 0.0  # least km of a site in a cell not queued
        while True:
            while rings < MAX_RINGS and (not queued or queued[0][0] >= beyond):
                rings += 1
                for cell in _ring(ci, cj, rings):
                    if any(cell in grid for grid in grids):
                        least = _cell_km(olat, olon, cell, widest)  # type: ignore[arg-type]
                        heapq.heappush(queued, (least, cell))
                beyond = _outside_km(olat, olon, rings, widest)  # type: ignore[arg-type]
            least = min(queued[0][0], beyond) if queued else beyond
            if len(nearest) == limit and least >= -nearest[0] + 0.5:
                return found
            if not queued:
                return None  # past MAX_RINGS
            cell = heapq.heappop(queued)[1]
            for grid in grids:
                for site_id, lon2, phi2, cos2 in grid.get(cell, ()):
                    if site_id not in excluded:
                        h = (
                            sin((phi2 - phi1) / 2) ** 2
                            + cos1 * cos2 * sin(radians(lon2 - olon) / 2) ** 2  # type: ignore[operator]
                        )
                        km = round(diameter * asin(min(1.0, sqrt(h))), 1)
                        found.append((km, site_id))
                        if len(nearest) < limit:
                            heapq.heappush(nearest, -km)
                        elif km < -nearest[0]:
                            heapq.heapreplace(nearest, -km)

    def alerts_for(
        self, codes: Iterable[str], at: datetime, body_kind_codes: Iterable[str]
    ) -> list[alert_service.ShownAlert] | None:
        """As alerts.list_for_areas; None for a moment before the alerts kept."""
        local = alert_service.wall_clock(at)
        if self.alerts is None:
            # From the earlier of now and `at`: a first answer asked for a future moment
            # must not send every later answer of the generation back to the database.
            self._load_alerts(min(local, _wall_clock_now()) - KEPT_PAST)
        if local < self.alerts_since:  # type: ignore[operator]
            return None
        picked = alert_service.pick_for_areas(
            self.alerts,  # type: ignore[arg-type]
            codes,
            at,
            body_kind_codes=body_kind_codes,
        )
        return alert_service.shown_with(picked, at, self.area_names, self.kinds)

    def _load_alerts(self, since: datetime) -> None:
        with self._lock:
            if self.alerts is not None:
                return
            with _reading() as session:
                alerts = list(
                    session.scalars(
                        select(Alert)
                        .where(Alert.ends_at >= since)
                        .order_by(Alert.starts_at, Alert.id)
                    )
                )
                codes = {a.area_code for a in alerts}
            self.area_names = _area_names(codes)
            self.alerts_since, self.alerts = since, alerts

    def ateliers_for(
        self, site_ids: Iterable[int], epci_code: str | None, at: datetime
    ) -> list[Atelier] | None:
        """As ateliers.list_for_orientation; None for a moment before the ateliers kept."""
        local = alert_service.wall_clock(at)
        if self.ateliers is None:
            # From the earlier of now and `at`: a first answer asked for a future moment
            # must not send every later answer of the generation back to the database.
            self._load_ateliers(min(local, _wall_clock_now()) - KEPT_PAST)
        if local < self.ateliers_since:  # type: ignore[operator]
            return None
        return atelier_service.pick_for_orientation(
            self.ateliers,  # type: ignore[arg-type]
            site_ids,
            epci_code,
            at,
        )

    def _load_ateliers(self, since: datetime) -> None:
        with self._lock:
            if self.ateliers is not None:
                return
            with _reading() as session:
                stmt = (
                    select(Atelier)
                    .options(
                        joinedload(Atelier.site).joinedload(Site.body),
                        joinedload(Atelier.site).joinedload(Site.commune),
                        joinedload(Atelier.body),
                    )
                    .where(Atelier.ends_at >= since)
                    .order_by(Atelier.starts_at, Atelier.id)
                )
                ateliers = list(session.scalars(stmt).unique())
            self.ateliers_since, self.ateliers = since, ateliers


def _wall_clock_now() -> datetime:
    return alert_service.wall_clock(datetime.now(UTC))


def _area_names(codes: set[str]) -> dict[str, str]:
    if not codes:
        return {}
    with _reading() as session:
        rows = session.execute(
            select(Territory.code, Territory.name).where(Territory.code.in_(codes))
        ).all()
        rows += session.execute(
            select(Commune.insee, Commune.name).where(Commune.insee.in_(codes))
        ).all()
    return {code: name for code, name in rows}


def _outside_km(latitude: float, longitude: float, r: int, widest_longitude: float) -> float:
    """A lower bound of the distance from the origin to any site outside the cells of rings
    0..r around the origin's cell: the box's edges are at least r cells and the origin's
    own offset in its cell away. Beyond it in latitude: at least the meridian arc to the
    nearer edge. Beyond it in longitude only: both points within the box's latitudes, where
    a degree of longitude is shortest at the latitude furthest from the equator."""
    ci, cj = _cell(latitude, longitude)
    low, high = (ci - r) * CELL_DEGREES, (ci + r + 1) * CELL_DEGREES
    by_latitude = EARTH_RADIUS_KM * math.radians(min(latitude - low, high - latitude))
    apart = min(
        longitude - (cj - r) * CELL_DEGREES,
        (cj + r + 1) * CELL_DEGREES - longitude,
        360.0 - widest_longitude,  # the grid does not wrap: the other way round may be nearer
    )
    if apart <= 0:
        return 0.0
    by_longitude = _parallel_km(max(abs(low), abs(high)), apart)
    return max(0.0, min(by_latitude, by_longitude))


def _cell_km(latitude: float, longitude: float, cell: tuple[int, int], widest: float) -> float:
    """A lower bound of the distance from the origin to any site of `cell`: the meridian
    arc to its nearer latitude edge, and the parallel arc to its nearer longitude edge at
    the latitude furthest from the equator among the cell's and the origin's."""
    low, west = cell[0] * CELL_DEGREES, cell[1] * CELL_DEGREES
    high, east = low + CELL_DEGREES, west + CELL_DEGREES
    by_latitude = EARTH_RADIUS_KM * math.radians(max(0.0, low - latitude, latitude - high))
    apart = min(max(0.0, west - longitude, longitude - east), 360.0 - widest)
    if apart <= 0:
        return by_latitude
    return max(by_latitude, _parallel_km(max(abs(low), abs(high), abs(latitude)), apart))


def _parallel_km(furthest_latitude: float, apart: float) -> float:
    """The least great-circle distance between two points `apart` degrees of longitude
    apart, both at latitudes no further from the equator than `furthest_latitude`."""
    furthest = min(90.0, furthest_latitude)
    h = math.cos(math.radians(furthest)) * math.sin(math.radians(min(apart, 180.0)) / 2)
    return 2 * EARTH_RADIUS_KM * math.asin(max(0.0, min(1.0, h)))


def current() -> Snapshot | None:
    """The snapshot of this process's directory generation, built on first use after the
    generation moved; None when the database has no generation yet or this request's
    session holds uncommitted directory edits (then the answer is read from the database)."""
    generation = answer_cache.generation()
    if generation is None:
        return None
    state = answer_cache.memory_slot()
    snapshot = state.snapshot
    if snapshot is not None and snapshot.generation == generation:
        return snapshot
    with _build_lock:
        snapshot = state.snapshot
        if snapshot is None or snapshot.generation != generation:
            snapshot = Snapshot.build(generation)
            state.snapshot = snapshot  # published whole: readers see the old or the new
    return snapshot


def warm(now: datetime | None = None) -> Snapshot | None:
    """Build this process's snapshot now, with its alerts and ateliers as of now, and the
    weekly hours tables of its sites for today (Paris), kept by domain.hours' cache:
    gunicorn's master calls it before forking (gunicorn.conf.py), so that every worker
    starts with them instead of spending seconds of its first answers on them (2,622
    distinct hours at national scale, ~2 ms each). `now` sets the day (the clock's unless
    given). Needs an app context; None when the database has no generation yet."""
    snapshot = current()
    if snapshot is not None:
        # What the first answer for "now" would load (alerts_for, ateliers_for).
        since = _wall_clock_now() - KEPT_PAST
        snapshot._load_alerts(since)
        snapshot._load_ateliers(since)
        if now is None:
            now = datetime.now(hours.PARIS)
        for expr in {site.opening_hours for site in snapshot.sites.values()}:
            hours.weekly_table(expr, now.date())
            hours.status(expr, now)  # and its regular hours of today's window
    return snapshot


def is_kept(instance) -> bool:
    """Whether an ORM object belongs to a snapshot (then shared and read-only)."""
    return instance.__dict__.get(_MARK) is True


@event.listens_for(Session, "before_attach")
def attach_guard(session, instance) -> None:
    """A kept object added to a request session (a cascade from a new row naming it) would
    be expired by that session's commit for every thread: refuse it loudly."""
    if is_kept(instance) and not session.info.get("directory_memory"):
        raise RuntimeError(
            f"{type(instance).__name__} from directory_memory is shared and read-only: "
            "pass its id, or read it in the request session."
        )
