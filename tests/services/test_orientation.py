"""The orientation answer on a small hand-made directory."""

from datetime import datetime

import pytest
from sqlalchemy import event

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.services.orientation import OrientationError, orient
from tests.factories import build_directory, close_site

# Tuesday 1 December 2026, 10:00 in Paris: a first Tuesday of the month.
AT = datetime(2026, 12, 1, 10, 0, tzinfo=PARIS)


@pytest.fixture
def directory(blank):
    return build_directory()


def slugs(sites):
    return [s.site.slug for s in sites]


def test_departement_wide_body_is_competent_everywhere(directory):
    answer = orient("apl", "88003", AT)
    assert slugs(answer.sites) == ["caf-accueil"]
    assert answer.sites[0].competence_verified
    assert answer.sites[0].distance_km == pytest.approx(55.6, abs=0.5)


@pytest.mark.parametrize(
    ("commune", "expected"),
    [("88001", "sip-nord"), ("88002", "sip-sud"), ("88003", "sip-sud")],
)
def test_office_competent_by_epci(directory, commune, expected):
    answer = orient("impots", commune, AT)
    assert slugs(answer.sites) == [expected]
    assert answer.competence_verified


def test_own_mairie_for_a_commune_matter(directory):
    answer = orient("cni", "88002", AT)
    assert slugs(answer.sites) == ["mairie-88002"]
    assert answer.sites[0].status.open_now is True
    assert answer.sites[0].status.closes_at == datetime(2026, 12, 1, 12, 0, tzinfo=PARIS)


def test_distance_is_approximate_when_a_position_is(directory):
    answer = orient("apl", "88002", AT)
    assert answer.sites[0].distance_approx is True


def test_unknown_competence_gives_nearest_unverified(directory):
    db.session.execute(db.text("DELETE FROM site_coverage WHERE area_code = 'E2'"))
    db.session.commit()
    answer = orient("impots", "88003", AT)
    assert slugs(answer.sites) == ["sip-sud", "sip-nord"]
    assert not answer.competence_verified
    assert all(not s.competence_verified for s in answer.sites)


def test_kind_without_site_falls_back_to_its_desk(directory):
    answer = orient("aide-ccas", "88001", AT)
    assert answer.via_kind.code == "MAIRIE"
    assert slugs(answer.sites) == ["mairie-88001"]


def test_online_only_kind_shows_no_site_but_the_body_and_help_desks(directory):
    answer = orient("carte-grise", "88003", AT)
    assert answer.sites == []
    assert [b.slug for b in answer.bodies_without_site] == ["ants"]
    assert slugs(answer.help_desks) == ["fs-beta"]
    assert answer.help_desks[0].competence_verified


def test_permanence_next_occurrence(directory):
    answer = orient("apl", "88001", datetime(2026, 12, 2, 9, 0, tzinfo=PARIS))
    assert [p.permanence.host_site.slug for p in answer.permanences] == ["fs-beta"]
    assert answer.permanences[0].next_start == datetime(2026, 12, 15, 9, 0, tzinfo=PARIS)


def test_closure_applies_to_open_now_and_is_listed(directory):
    site = directory["sites"]["caf"]
    close_site(site, datetime(2026, 12, 1, 0, 0), datetime(2026, 12, 1, 23, 59), "Inventaire")
    answer = orient("apl", "88001", AT)
    status = answer.sites[0].status
    assert status.open_now is False
    assert status.closed_for.message == "Inventaire"
    assert status.next_opening == datetime(2026, 12, 2, 9, 0, tzinfo=PARIS)
    assert [c.message for c in answer.sites[0].closures] == ["Inventaire"]


@pytest.mark.parametrize(
    ("need", "commune", "message"),
    [("inconnu", "88001", "Besoin inconnu"), ("apl", "99999", "Commune inconnue")],
)
def test_unknown_need_or_commune(directory, need, commune, message):
    with pytest.raises(OrientationError, match=message):
        orient(need, commune, AT)


def test_query_count_does_not_grow_with_sites(directory):
    statements = []

    def count(*_args):
        statements.append(1)

    def queries():
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            orient("cni", "88001", AT)
            db.session.expire_all()
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    before = queries()
    for i in range(6):
        close_site(
            directory["sites"]["mairie-A"], datetime(2027, 1, 1 + i), datetime(2027, 1, 1 + i, 12)
        )
    assert queries() == before
