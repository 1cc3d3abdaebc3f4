"""The map's places: sites and permanences around a commune, with their hours."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import Closure, Permanence
from proxiservices.services.map import UnknownKind, get_map, tile_origin
from proxiservices.services.orientation import permanence_answer
from tests.factories import build_directory, close_site

# Tuesday 1 December 2026, 10:00: the first Tuesday of the month.
FIRST_TUESDAY = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)
WEDNESDAY = datetime(2026, 12, 2, 10, 0, tzinfo=PARIS)


@pytest.fixture
def world(blank):
    return build_directory()


def names(view) -> list[str]:
    return [f"permanence {p.body.name}" if p.permanence else p.site.name for p in view.places]


def test_sites_and_permanences_nearest_first(world):
    view = get_map(world["communes"]["A"], WEDNESDAY)
    # Alpha's own sites (0 km), then Bêta 33 km away is beyond the 30 km radius.
    assert names(view) == ["caf-accueil", "mairie-88001", "sip-nord"]
    view = get_map(world["communes"]["B"], WEDNESDAY)
    assert names(view) == [
        "fs-beta",
        "permanence CAF des Vosges",  # right after its host site
        "mairie-88002",
        "mairie-88003",
        "sip-sud",
    ]
    assert [p.distance_km for p in view.places] == [0.0, 0.0, 0.0, 22.2, 22.2]
    assert all(p.distance_approx for p in view.places)  # Bêta's position is approximate


def test_a_permanence_is_placed_at_its_host_site_with_its_next_session(world):
    view = get_map(world["communes"]["B"], WEDNESDAY)
    (permanence,) = [p for p in view.places if p.permanence]
    assert permanence.site.slug == "fs-beta"
    assert permanence.kind.code == "CAF"
    assert permanence.status is None
    # Tu[1,3]: the next one after Wednesday 2 December is Tuesday 15 December.
    assert permanence.next_start == datetime(2026, 12, 15, 9, 0, tzinfo=PARIS)
    # During a session: that session, with its real start, as the result page says it.
    during = get_map(world["communes"]["B"], FIRST_TUESDAY)
    assert [p.next_start for p in during.places if p.permanence] == [
        datetime(2026, 12, 1, 9, 0, tzinfo=PARIS)
    ]


def test_a_closure_of_the_host_site_moves_the_next_permanence(world):
    close_site(
        world["sites"]["fs"], datetime(2026, 12, 14, 0, 0), datetime(2026, 12, 16, 0, 0), "Travaux"
    )
    db.session.commit()
    view = get_map(world["communes"]["B"], WEDNESDAY)
    (permanence,) = [p for p in view.places if p.permanence]
    assert permanence.next_start == datetime(2027, 1, 5, 9, 0, tzinfo=PARIS)


def test_permanences_outside_their_validity(world):
    permanence = db.session.query(Permanence).one()
    permanence.ends_on = date(2026, 11, 30)
    db.session.commit()
    assert not [p for p in get_map(world["communes"]["B"], WEDNESDAY).places if p.permanence]
    permanence.ends_on = None
    permanence.starts_on = date(2027, 1, 10)
    db.session.commit()
    (found,) = [p for p in get_map(world["communes"]["B"], WEDNESDAY).places if p.permanence]
    assert found.next_start == datetime(2027, 1, 19, 9, 0, tzinfo=PARIS)  # 3rd Tuesday


def test_sites_say_whether_they_are_open_now(world):
    view = get_map(world["communes"]["A"], WEDNESDAY)
    status = {p.site.slug: p.status for p in view.places}
    assert status["caf-accueil"].open_now is True
    assert status["mairie-88001"].open_now is True
    evening = get_map(world["communes"]["A"], datetime(2026, 12, 2, 19, 0, tzinfo=PARIS))
    caf = next(p for p in evening.places if p.site.slug == "caf-accueil")
    assert caf.status.open_now is False
    assert caf.status.next_opening == datetime(2026, 12, 3, 9, 0, tzinfo=PARIS)


def test_filter_by_kind_keeps_every_kind_on_offer(world):
    view = get_map(world["communes"]["B"], WEDNESDAY, ["caf"])
    # The CAF's own office is in Alpha, 33 km away: only its permanence is around.
    assert names(view) == ["permanence CAF des Vosges"]
    assert view.selected == ["CAF"]
    offered = {c.kind.code: c.count for c in view.kinds}
    assert offered == {"MAIRIE": 2, "CAF": 1, "DGFIP_SIP": 1, "FRANCE_SERVICES": 1}
    assert view.total == 5


def test_a_kind_with_nothing_around_stays_checked(world):
    view = get_map(world["communes"]["A"], WEDNESDAY, ["FRANCE_SERVICES"])
    assert view.places == []
    assert [(c.kind.code, c.count, c.selected) for c in view.kinds if c.selected] == [
        ("FRANCE_SERVICES", 0, True)
    ]


def test_an_unknown_kind_is_refused(world):
    with pytest.raises(UnknownKind, match="Type d'organisme inconnu : « NOPE »"):
        get_map(world["communes"]["A"], WEDNESDAY, ["NOPE"])


def test_a_commune_without_position_has_nothing_around(world):
    commune = world["communes"]["A"]
    commune.latitude = None
    view = get_map(commune, WEDNESDAY)
    assert view.places == [] and view.kinds == [] and view.total == 0


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://tile.openstreetmap.org/{z}/{x}/{y}.png", "https://tile.openstreetmap.org"),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("http://127.0.0.1:9/{z}/{x}/{y}.png", "http://127.0.0.1:9"),
        ("tiles/{z}/{x}/{y}.png", ""),
    ],
)
def test_tile_origin(url, origin):
    assert tile_origin(url) == origin


def test_changed_hours_apply_as_on_the_result_page(world):
    db.session.add(
        Closure(
            site_id=world["sites"]["caf"].id,
            kind="hours",
            starts_at=datetime(2026, 12, 2, 0, 0),
            ends_at=datetime(2026, 12, 3, 0, 0),
            opening_hours="Mo-Su 14:00-16:00",
            message="Formation du personnel le matin",
        )
    )
    db.session.commit()
    view = get_map(world["communes"]["A"], WEDNESDAY)
    caf = next(p for p in view.places if p.site.slug == "caf-accueil")
    assert caf.status.open_now is False
    assert caf.status.next_opening == datetime(2026, 12, 2, 14, 0, tzinfo=PARIS)


def test_the_host_sites_changed_hours_do_not_move_a_permanence(world):
    """Changed hours are the host desk's own: the visiting body keeps its schedule (only a
    closure of the building cancels a session), as on the result page."""
    db.session.add(
        Closure(
            site_id=world["sites"]["fs"].id,
            kind="hours",
            starts_at=datetime(2026, 12, 1, 0, 0),
            ends_at=datetime(2026, 12, 20, 0, 0),
            opening_hours="Mo-Su 14:00-16:00",
            message="Horaires réduits",
        )
    )
    db.session.commit()
    view = get_map(world["communes"]["B"], WEDNESDAY)
    (place,) = [p for p in view.places if p.permanence]
    assert place.next_start == datetime(2026, 12, 15, 9, 0, tzinfo=PARIS)
    assert place.next_start == permanence_answer(place.permanence, WEDNESDAY).next_start


def test_a_closure_touching_a_session_skips_it_whole(world):
    # Closed from 11:00 on the 15th: the 9:00-12:00 session is not held at all.
    close_site(
        world["sites"]["fs"],
        datetime(2026, 12, 15, 11, 0),
        datetime(2026, 12, 15, 18, 0),
        "Réunion",
    )
    db.session.commit()
    (place,) = [p for p in get_map(world["communes"]["B"], WEDNESDAY).places if p.permanence]
    assert place.next_start == datetime(2027, 1, 5, 9, 0, tzinfo=PARIS)
