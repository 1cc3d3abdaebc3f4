"""Places around a commune for the map: within a radius, nearest first, a few per body kind.

Without a per-kind cap the 500 town halls of the Vosges would crowd out the few CAF, France
Services or tax offices that a resident is looking for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from math import cos, degrees, radians

from proxiservices.domain.competence import Place
from proxiservices.domain.geo import EARTH_RADIUS_KM, distance_km

RADIUS_KM = 30.0
PER_KIND = 20


@dataclass(frozen=True)
class Spot:
    """Something to put on the map: a site, or a permanence at its host site."""

    key: object
    kind: str  # body kind code
    place: Place
    name: str  # ties at the same distance are listed by name


@dataclass(frozen=True)
class NearbySpot:
    key: object
    kind: str
    distance_km: float
    distance_approx: bool


def bounding_box(
    latitude: float, longitude: float, radius_km: float
) -> tuple[float, float, float, float]:
    """(south, north, west, east) enclosing the circle: a cheap SQL pre-filter."""
    dlat = degrees(radius_km / EARTH_RADIUS_KM)
    dlon = dlat / max(cos(radians(latitude)), 0.01)
    return latitude - dlat, latitude + dlat, longitude - dlon, longitude + dlon


def around(
    spots: Iterable[Spot],
    origin: Place,
    radius_km: float = RADIUS_KM,
    per_kind: int = PER_KIND,
) -> list[NearbySpot]:
    """Spots within the radius, nearest first, at most `per_kind` of each body kind.

    Spots (or an origin) without a position cannot be placed: they are left out."""
    if origin.latitude is None or origin.longitude is None:
        return []
    measured = []
    for spot in spots:
        lat, lon = spot.place.latitude, spot.place.longitude
        if lat is None or lon is None:
            continue
        km = distance_km(origin.latitude, origin.longitude, lat, lon)
        if km <= radius_km:
            measured.append((round(km, 1), spot.name, spot))
    measured.sort(key=lambda item: (item[0], item[1]))
    taken: Counter[str] = Counter()
    result = []
    for km, _name, spot in measured:
        if taken[spot.kind] >= per_kind:
            continue
        taken[spot.kind] += 1
        result.append(NearbySpot(spot.key, spot.kind, km, origin.approx or spot.place.approx))
    return result


def count_by_kind(spots: Sequence[NearbySpot]) -> dict[str, int]:
    """How many of each kind are around: shown beside the filter's checkboxes."""
    return dict(Counter(s.kind for s in spots))


def of_kinds(spots: Sequence[NearbySpot], kinds: Iterable[str]) -> list[NearbySpot]:
    """The spots of the chosen kinds, order kept; no kind chosen means every kind."""
    chosen = set(kinds)
    return [s for s in spots if s.kind in chosen] if chosen else list(spots)
