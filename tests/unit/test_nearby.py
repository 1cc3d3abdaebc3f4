"""Places around a commune for the map: radius, order, cap per kind, filter."""

from __future__ import annotations

import pytest

from proxiservices.domain.competence import Place
from proxiservices.domain.geo import distance_km
from proxiservices.domain.nearby import (
    Spot,
    around,
    bounding_box,
    count_by_kind,
    of_kinds,
)

ORIGIN = Place(48.0, 6.0)
# About 11.1 km per 0.1 degree of latitude.
NORTH_11 = Place(48.1, 6.0)
NORTH_22 = Place(48.2, 6.0)
NORTH_33 = Place(48.3, 6.0)


def spot(name: str, kind: str, place: Place) -> Spot:
    return Spot(key=name, kind=kind, place=place, name=name)


def test_nearest_first_within_the_radius():
    spots = [
        spot("far", "CAF", NORTH_33),
        spot("middle", "CAF", NORTH_22),
        spot("near", "MAIRIE", NORTH_11),
    ]
    result = around(spots, ORIGIN, radius_km=30, per_kind=10)
    assert [s.key for s in result] == ["near", "middle"]
    assert [s.distance_km for s in result] == [11.1, 22.2]


def test_same_distance_is_listed_by_name():
    spots = [spot("Zèbre", "CAF", NORTH_11), spot("Abeille", "MAIRIE", NORTH_11)]
    assert [s.key for s in around(spots, ORIGIN)] == ["Abeille", "Zèbre"]


def test_at_most_so_many_of_each_kind_the_nearest():
    mairies = [spot(f"m{i}", "MAIRIE", Place(48.0 + i / 100, 6.0)) for i in range(1, 6)]
    caf = spot("caf", "CAF", NORTH_22)
    result = around([*mairies, caf], ORIGIN, radius_km=30, per_kind=2)
    assert [s.key for s in result] == ["m1", "m2", "caf"]


def test_places_without_position_are_left_out():
    lost = spot("lost", "CAF", Place(None, None))
    assert around([lost, spot("here", "CAF", NORTH_11)], ORIGIN) == around(
        [spot("here", "CAF", NORTH_11)], ORIGIN
    )
    assert around([spot("here", "CAF", NORTH_11)], Place(None, 6.0)) == []


@pytest.mark.parametrize(
    ("origin_approx", "site_approx", "expected"),
    [(False, False, False), (True, False, True), (False, True, True)],
)
def test_distance_is_approximate_when_either_point_is(origin_approx, site_approx, expected):
    origin = Place(48.0, 6.0, origin_approx)
    (found,) = around([spot("s", "CAF", Place(48.1, 6.0, site_approx))], origin)
    assert found.distance_approx is expected


def test_filter_by_kind_keeps_the_order_and_none_chosen_means_all():
    spots = around(
        [spot("a", "MAIRIE", NORTH_11), spot("b", "CAF", NORTH_22), spot("c", "MAIRIE", NORTH_22)],
        ORIGIN,
    )
    assert [s.key for s in of_kinds(spots, ["MAIRIE"])] == ["a", "c"]
    assert [s.key for s in of_kinds(spots, ["CAF", "MAIRIE"])] == ["a", "b", "c"]
    assert of_kinds(spots, []) == spots
    assert of_kinds(spots, ["MSA"]) == []
    assert count_by_kind(spots) == {"MAIRIE": 2, "CAF": 1}


@pytest.mark.parametrize("latitude", [42.0, 48.2, 51.0])
def test_the_bounding_box_holds_the_whole_circle(latitude):
    south, north, west, east = bounding_box(latitude, 6.0, 30)
    assert distance_km(latitude, 6.0, north, 6.0) == pytest.approx(30, rel=1e-3)
    assert distance_km(latitude, 6.0, south, 6.0) == pytest.approx(30, rel=1e-3)
    # Along the parallel the box reaches at least 30 km east and west.
    assert distance_km(latitude, 6.0, latitude, east) >= 29.9
    assert distance_km(latitude, 6.0, latitude, west) >= 29.9
