"""The map page: sites and permanences around a commune, nearest first, with their hours now.

A fixed number of queries whatever the number of places: the sites and the permanences are
read in one go each (inside a bounding box), distances and filters are computed in Python.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from proxiservices.domain import hours, nearby
from proxiservices.domain.competence import Place
from proxiservices.extensions import db
from proxiservices.models import Body, BodyKind, Commune, Permanence, Site

# Hours and permanences exactly as the orientation answer works them out.
from proxiservices.services.orientation import permanence_answer, site_overrides


class UnknownKind(ValueError):
    """A `kind=` that names no body kind; the message is shown as is."""


@dataclass
class MapPlace:
    """One line of the list and one marker: a site, or a body's permanence at a host site."""

    site: Site  # where to go: the host site for a permanence
    body: Body
    permanence: Permanence | None
    distance_km: float
    distance_approx: bool
    status: hours.HoursStatus | None  # a site's hours now
    next_start: datetime | None  # start of a permanence's next (or current) session

    @property
    def kind(self) -> BodyKind:
        return self.body.kind

    @property
    def hours_valid(self) -> bool:
        """False for a permanence whose schedule cannot be read: "horaires à vérifier", not
        "no session planned". A site's own hours say it in `status.valid`."""
        return self.permanence is None or hours.validate(self.permanence.schedule) is None


@dataclass
class KindChoice:
    kind: BodyKind
    count: int
    selected: bool


@dataclass
class MapView:
    commune: Commune
    at: datetime
    places: list[MapPlace]
    kinds: list[KindChoice]
    total: int  # places around, whatever the filter
    radius_km: float
    per_kind: int

    @property
    def selected(self) -> list[str]:
        return [c.kind.code for c in self.kinds if c.selected]


def _in_box(box: tuple[float, float, float, float]):
    south, north, west, east = box
    return (
        Site.latitude.between(south, north),
        Site.longitude.between(west, east),
    )


def _sites_in(box: tuple[float, float, float, float]) -> list[Site]:
    stmt = (
        select(Site)
        .where(*_in_box(box))
        .options(
            joinedload(Site.body).joinedload(Body.kind),
            joinedload(Site.commune),
            selectinload(Site.closures),
        )
    )
    return list(db.session.scalars(stmt).unique())


def _permanences_in(box: tuple[float, float, float, float], today: date) -> list[Permanence]:
    """Read after `_sites_in(box)`: the host sites, in the same box, are already loaded with
    their closures."""
    stmt = (
        select(Permanence)
        .join(Permanence.host_site)
        .where(*_in_box(box))
        .where((Permanence.ends_on.is_(None)) | (Permanence.ends_on >= today))
        .options(
            joinedload(Permanence.body).joinedload(Body.kind),
            joinedload(Permanence.host_site).joinedload(Site.commune),
        )
    )
    return list(db.session.scalars(stmt).unique())


def _next_session(permanence: Permanence, at: datetime) -> datetime | None:
    """The start of the next (or current) session, by the result page's rule: within the
    validity dates, skipped when a closure of the host site touches it. The host's changed
    hours are its own desk's, not the visiting body's: they change nothing here."""
    return permanence_answer(permanence, at).next_start


def _place_of(site: Site) -> Place:
    return Place(site.latitude, site.longitude, site.position_approx)


def _spots(sites: Iterable[Site], permanences: Iterable[Permanence]) -> list[nearby.Spot]:
    spots = [nearby.Spot(s, s.body.kind_code, _place_of(s), s.name) for s in sites]
    spots += [
        # Named after the host first: listed right after it.
        nearby.Spot(
            p, p.body.kind_code, _place_of(p.host_site), f"{p.host_site.name} {p.body.name}"
        )
        for p in permanences
    ]
    return spots


def _map_place(spot: nearby.NearbySpot, at: datetime) -> MapPlace:
    if isinstance(spot.key, Permanence):
        p = spot.key
        next_start = _next_session(p, at)
        return MapPlace(
            p.host_site, p.body, p, spot.distance_km, spot.distance_approx, None, next_start
        )
    site: Site = spot.key  # type: ignore[assignment]
    status = hours.status(site.opening_hours, at, site_overrides(site))
    return MapPlace(site, site.body, None, spot.distance_km, spot.distance_approx, status, None)


def list_body_kinds() -> list[BodyKind]:
    return list(db.session.scalars(select(BodyKind).order_by(BodyKind.position)))


def get_map(
    commune: Commune,
    at: datetime,
    kinds: Iterable[str] = (),
    radius_km: float = nearby.RADIUS_KM,
    per_kind: int = nearby.PER_KIND,
) -> MapView:
    """The places around the commune, of the chosen body kinds (all when none is chosen).

    Raises UnknownKind for a code that names no body kind."""
    all_kinds = list_body_kinds()
    known = {k.code for k in all_kinds}
    chosen = {k.strip().upper() for k in kinds if k.strip()}
    if unknown := sorted(chosen - known):
        raise UnknownKind(f"Type d'organisme inconnu : « {unknown[0][:40]} ».")
    origin = Place(commune.latitude, commune.longitude, commune.position_approx)
    around: list[nearby.NearbySpot] = []
    if origin.latitude is not None and origin.longitude is not None:
        box = nearby.bounding_box(origin.latitude, origin.longitude, radius_km)
        today = at.astimezone(hours.PARIS).date()
        sites = _sites_in(box)
        spots = _spots(sites, _permanences_in(box, today))
        around = nearby.around(spots, origin, radius_km, per_kind)
    counts = nearby.count_by_kind(around)
    choices = [
        KindChoice(k, counts.get(k.code, 0), k.code in chosen)
        for k in all_kinds
        if k.code in counts or k.code in chosen
    ]
    return MapView(
        commune=commune,
        at=at,
        places=[_map_place(s, at) for s in nearby.of_kinds(around, chosen)],
        kinds=choices,
        total=len(around),
        radius_km=radius_km,
        per_kind=per_kind,
    )


def tile_origin(tile_url: str) -> str:
    """Where the map tiles come from (scheme://host[:port]), for the Content-Security-Policy;
    a `{s}` sub-domain placeholder becomes the `*` wildcard."""
    parts = urlsplit(tile_url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
