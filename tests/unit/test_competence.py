"""Which offices answer for a commune: the competent ones nearest first, else the nearest."""

import pytest

from proxiservices.domain.competence import CandidateSite, Place, RankedSite, nearest, rank_sites

# Épinal, its agglomeration (EPCI SIREN) and its département, as the commune's codes.
EPINAL_INSEE, EPINAL_EPCI, VOSGES = "88160", "200068757", "88"
EPINAL_CODES = {EPINAL_INSEE, EPINAL_EPCI, VOSGES}

EPINAL = Place(48.1725, 6.4497)
GOLBEY = Place(48.1975, 6.4394)
GERARDMER = Place(48.0722, 6.8778)
SAINT_DIE = Place(48.2847, 6.9492)
NANCY = Place(48.6921, 6.1844)
NOWHERE = Place(None, None)


def site(key: str, place: Place, *coverage: str) -> CandidateSite:
    return CandidateSite(key=key, place=place, coverage=frozenset(coverage))


def keys(ranked: list[RankedSite]) -> list[object]:
    return [r.key for r in ranked]


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(EPINAL_INSEE, id="commune INSEE code"),
        pytest.param(EPINAL_EPCI, id="EPCI SIREN"),
        pytest.param(VOSGES, id="département code"),
    ],
)
def test_a_site_covering_the_commune_wins_over_a_nearer_one_that_does_not(code: str) -> None:
    candidates = [
        site("guichet-voisin", EPINAL, "88413"),
        site("competent-loin", SAINT_DIE, code),
    ]
    assert rank_sites(candidates, EPINAL_CODES, EPINAL, limit=5) == [
        RankedSite("competent-loin", 39.0, False, True)
    ]


def test_competent_sites_come_nearest_first_and_others_are_left_out() -> None:
    candidates = [
        site("caf-saint-die", SAINT_DIE, VOSGES),
        site("mairie-nancy", NANCY, "54395"),
        site("fs-golbey", GOLBEY, EPINAL_EPCI),
        site("mairie-saint-die", SAINT_DIE, "88413"),
        site("mairie-epinal", EPINAL, EPINAL_INSEE),
        site("cpam-gerardmer", GERARDMER, VOSGES, "54"),
    ]
    ranked = rank_sites(candidates, EPINAL_CODES, EPINAL, limit=10)
    assert keys(ranked) == ["mairie-epinal", "fs-golbey", "cpam-gerardmer", "caf-saint-die"]
    assert all(r.competence_verified for r in ranked)
    assert [r.distance_km for r in ranked] == sorted(r.distance_km for r in ranked)


def test_without_a_covering_site_the_nearest_of_the_kind_are_offered_unverified() -> None:
    candidates = [
        site("sip-nancy", NANCY, "54"),
        site("sip-saint-die", SAINT_DIE, "88413"),
        site("sip-gerardmer", GERARDMER, "88196"),
    ]
    ranked = rank_sites(candidates, EPINAL_CODES, EPINAL, limit=5)
    assert keys(ranked) == ["sip-gerardmer", "sip-saint-die", "sip-nancy"]
    assert not any(r.competence_verified for r in ranked)


@pytest.mark.parametrize(
    ("codes", "limit", "expected"),
    [
        (EPINAL_CODES, 1, ["a"]),
        (EPINAL_CODES, 2, ["a", "b"]),
        (EPINAL_CODES, 3, ["a", "b", "c"]),
        (EPINAL_CODES, 10, ["a", "b", "c"]),
        (EPINAL_CODES, 0, []),
        ({"57463"}, 1, ["a"]),
        ({"57463"}, 2, ["a", "b"]),
        ({"57463"}, 10, ["a", "b", "c", "d"]),
    ],
)
def test_limit_is_respected(codes: set[str], limit: int, expected: list[str]) -> None:
    candidates = [
        site("d", NANCY, "54"),
        site("c", SAINT_DIE, VOSGES),
        site("a", EPINAL, VOSGES),
        site("b", GOLBEY, VOSGES),
    ]
    assert keys(rank_sites(candidates, codes, EPINAL, limit)) == expected


@pytest.mark.parametrize(
    "unknown",
    [
        pytest.param(NOWHERE, id="no position"),
        pytest.param(Place(48.2, None), id="no longitude"),
        pytest.param(Place(None, 6.4), id="no latitude"),
    ],
)
def test_sites_without_a_position_come_last_with_no_distance(unknown: Place) -> None:
    candidates = [
        site("sans-position", unknown, VOSGES),
        site("loin", SAINT_DIE, VOSGES),
        site("pres", GOLBEY, VOSGES),
    ]
    ranked = rank_sites(candidates, EPINAL_CODES, EPINAL, limit=5)
    assert keys(ranked) == ["pres", "loin", "sans-position"]
    assert ranked[-1].distance_km is None
    assert ranked[-1].distance_approx


def test_a_commune_without_a_position_keeps_the_sites_in_their_given_order() -> None:
    candidates = [site("b", SAINT_DIE, VOSGES), site("a", EPINAL, VOSGES)]
    ranked = rank_sites(candidates, EPINAL_CODES, NOWHERE, limit=5)
    assert keys(ranked) == ["b", "a"]
    assert [r.distance_km for r in ranked] == [None, None]


@pytest.mark.parametrize(
    ("origin_approx", "site_approx", "approx"),
    [
        (False, False, False),
        (True, False, True),
        (False, True, True),
        (True, True, True),
    ],
)
def test_an_approximate_position_on_either_side_makes_the_distance_approximate(
    origin_approx: bool, site_approx: bool, approx: bool
) -> None:
    origin = Place(EPINAL.latitude, EPINAL.longitude, approx=origin_approx)
    office = Place(SAINT_DIE.latitude, SAINT_DIE.longitude, approx=site_approx)
    for rank in (rank_sites, nearest):
        [ranked] = rank([site("x", office, VOSGES)], EPINAL_CODES, origin, 1)
        assert ranked.distance_approx is approx
        assert ranked.distance_km == 39.0


def test_nearest_orders_by_distance_whatever_the_coverage() -> None:
    candidates = [
        site("fs-saint-die", SAINT_DIE, "88413"),
        site("fs-nancy", NANCY, "54"),
        site("fs-golbey", GOLBEY, EPINAL_EPCI),
        site("fs-gerardmer", GERARDMER, VOSGES),
        site("fs-inconnu", NOWHERE, EPINAL_INSEE),
    ]
    ranked = nearest(candidates, EPINAL_CODES, EPINAL, limit=10)
    assert [(r.key, r.competence_verified) for r in ranked] == [
        ("fs-golbey", True),
        ("fs-gerardmer", True),
        ("fs-saint-die", False),
        ("fs-nancy", False),
        ("fs-inconnu", True),
    ]


@pytest.mark.parametrize(("limit", "expected"), [(0, []), (1, ["a"]), (2, ["a", "b"])])
def test_nearest_respects_the_limit(limit: int, expected: list[str]) -> None:
    candidates = [site("c", NANCY), site("a", GOLBEY), site("b", SAINT_DIE, VOSGES)]
    assert keys(nearest(candidates, EPINAL_CODES, EPINAL, limit)) == expected
