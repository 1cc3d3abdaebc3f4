"""Which sites answer for a commune: competent ones first, else the nearest unverified."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from proxiservices.domain.geo import distance_km


@dataclass(frozen=True)
class Place:
    """Where a commune or a site is; `approx` when the point is a centroid, not the door."""

    latitude: float | None
    longitude: float | None
    approx: bool = False


@dataclass(frozen=True)
class CandidateSite:
    key: object
    place: Place
    coverage: frozenset[str]  # commune INSEE codes, EPCI SIRENs, département codes


@dataclass(frozen=True)
class RankedSite:
    key: object
    distance_km: float | None
    distance_approx: bool
    competence_verified: bool


def _distance(a: Place, b: Place) -> tuple[float | None, bool]:
    if None in (a.latitude, a.longitude, b.latitude, b.longitude):
        return None, True
    km = distance_km(a.latitude, a.longitude, b.latitude, b.longitude)  # type: ignore[arg-type]
    return round(km, 1), a.approx or b.approx


def place_distance(a: Place, b: Place) -> tuple[float | None, bool]:
    """(km rounded to 0.1 as the answers show it, approximate); None without a position."""
    return _distance(a, b)


def rank_sites(
    candidates: Iterable[CandidateSite],
    commune_codes: set[str],
    origin: Place,
    limit: int,
) -> list[RankedSite]:
    """Sites whose coverage includes the commune, nearest first; if none is known to be
    competent, the nearest sites of that kind, marked unverified."""
    competent: list[RankedSite] = []
    others: list[RankedSite] = []
    for site in candidates:
        km, approx = _distance(origin, site.place)
        verified = bool(site.coverage & commune_codes)
        (competent if verified else others).append(RankedSite(site.key, km, approx, verified))
    chosen = competent or others
    return sorted(chosen, key=_by_distance)[:limit]


def nearest(
    candidates: Sequence[CandidateSite], commune_codes: set[str], origin: Place, limit: int
) -> list[RankedSite]:
    """Nearest sites whatever their coverage (help desks welcome anyone), flagged verified
    where their coverage includes the commune."""
    ranked = []
    for site in candidates:
        km, approx = _distance(origin, site.place)
        ranked.append(RankedSite(site.key, km, approx, bool(site.coverage & commune_codes)))
    return sorted(ranked, key=_by_distance)[:limit]


def _by_distance(site: RankedSite) -> tuple[bool, float]:
    return (site.distance_km is None, site.distance_km or 0.0)
