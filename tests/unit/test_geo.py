"""Great-circle distances used to rank offices."""

import pytest

from proxiservices.domain.geo import distance_km

EPINAL = (48.1725, 6.4497)
SAINT_DIE = (48.2847, 6.9492)
GERARDMER = (48.0722, 6.8778)
PARIS = (48.8566, 2.3522)
LYON = (45.7640, 4.8357)


@pytest.mark.parametrize(
    ("a", "b", "km", "tolerance"),
    [
        # ~12.5 km north-south and ~37.0 km east-west at 48.2° N
        (EPINAL, SAINT_DIE, 39.0, 0.5),
        (EPINAL, GERARDMER, 33.7, 0.5),
        (PARIS, LYON, 391.5, 1.0),
        # one degree along the equator / a meridian
        ((0.0, 0.0), (0.0, 1.0), 111.195, 0.01),
        ((0.0, 0.0), (1.0, 0.0), 111.195, 0.01),
        # antipodes: half the circumference, no math domain error
        ((0.0, 0.0), (0.0, 180.0), 20015.1, 0.1),
        ((90.0, 0.0), (-90.0, 0.0), 20015.1, 0.1),
        # across the antimeridian
        ((0.0, 179.5), (0.0, -179.5), 111.195, 0.01),
    ],
)
def test_known_distances(
    a: tuple[float, float], b: tuple[float, float], km: float, tolerance: float
) -> None:
    assert distance_km(*a, *b) == pytest.approx(km, abs=tolerance)


@pytest.mark.parametrize("place", [EPINAL, SAINT_DIE, (0.0, 0.0), (90.0, 0.0), (-45.5, -170.25)])
def test_a_place_is_zero_km_from_itself(place: tuple[float, float]) -> None:
    assert distance_km(*place, *place) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize(
    ("a", "b"),
    [(EPINAL, SAINT_DIE), (EPINAL, GERARDMER), (PARIS, LYON), ((10.0, -20.0), (-30.0, 40.0))],
)
def test_distance_is_symmetric(a: tuple[float, float], b: tuple[float, float]) -> None:
    assert distance_km(*a, *b) == pytest.approx(distance_km(*b, *a))
