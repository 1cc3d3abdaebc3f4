"""The orientation answers kept between requests (services/answer_cache.py, issue 8): the
same as freshly computed ones at any time, and never older than the last directory edit."""

from datetime import datetime

import pytest
from sqlalchemy import select, update

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import Closure, LoginFailure, Need, Site, Theme
from proxiservices.services import answer_cache
from proxiservices.services.manage_edits import delete_closure, save_closure
from tests.plugins.accounts import make_user

DOCELLES = "88135"
NEEDS = [
    "aide-logement",  # CAF sites, permanences, help desks
    "cni-passeport-demande",
    "aide-ccas",  # no help desks
    "carte-grise-achat",  # online only
    "acte-etranger-scec",  # a body far away
]
COMMUNES = [DOCELLES, "88160", "88465"]
TIMES = ["2026-12-01T10:00", "2026-12-24T17:30", "2027-01-01T09:00", "2027-03-14T23:59"]


def _api(client, need, commune, at):
    response = client.get(f"/api/v1/orientation?need={need}&commune={commune}&at={at}")
    assert response.status_code in (200, 404), response.data
    return response.status_code, response.get_json()


def _clear(app):
    with app.app_context():
        answer_cache.clear()


def _stats(app):
    with app.app_context():
        return answer_cache.stats()


def test_cached_answers_equal_freshly_computed_ones(seeded_app):
    client = seeded_app.test_client()
    with seeded_app.app_context():
        digital = db.session.scalars(
            select(Need.slug).join(Need.theme).where(Theme.slug == "numerique").limit(1)
        ).all()
    compared = 0
    for need in NEEDS + digital:
        for commune in COMMUNES:
            _clear(seeded_app)
            _api(client, need, commune, TIMES[0])  # computed, then kept
            for at in TIMES:
                hits = _stats(seeded_app)["hits"]
                cached = _api(client, need, commune, at)
                assert _stats(seeded_app)["hits"] > hits  # really from the cache
                _clear(seeded_app)
                assert _api(client, need, commune, at) == cached, (need, commune, at)
                compared += cached[0] == 200
    assert compared >= 60


def test_a_closure_entered_is_on_the_next_answer_and_gone_once_deleted(workspace):
    client = workspace.test_client()
    at = "2026-12-24T10:00"
    url = f"/api/v1/orientation?need=aide-logement&commune={DOCELLES}&at={at}"
    before = client.get(url).get_json()
    assert client.get(url).get_json() == before  # cached
    slug = before["sites"][0]["slug"]
    admin = make_user(workspace, "admin")
    with workspace.app_context():
        actor = db.session.merge(admin)
        site = db.session.scalars(select(Site).where(Site.slug == slug)).one()
        now = datetime(2026, 12, 20, 9, tzinfo=PARIS)
        values = {
            "kind": "closed",
            "starts_at": datetime(2026, 12, 24, 8),
            "ends_at": datetime(2026, 12, 24, 20),
            "message": "Fermeture pour inventaire",
            "opening_hours": None,
        }
        closure_id = save_closure(actor, site, None, values, now).id
    after = client.get(url).get_json()
    shown = after["sites"][0]
    assert "Fermeture pour inventaire" in [c["message"] for c in shown["closures"]]
    assert len(shown["closures"]) == len(before["sites"][0]["closures"]) + 1
    with workspace.app_context():
        actor = db.session.merge(admin)
        site = db.session.scalars(select(Site).where(Site.slug == slug)).one()
        delete_closure(actor, site, db.session.get(Closure, closure_id), now)
    assert client.get(url).get_json() == before


def test_the_generation_moves_with_directory_rows_only(blank):
    answer_cache.clear()
    assert answer_cache.generation() is None  # no row yet: nothing is kept
    db.session.add(Theme(slug="t", title="Thème"))
    db.session.commit()
    first = answer_cache.generation()
    assert first is not None

    db.session.add(LoginFailure(key="x", at=datetime(2026, 1, 1, tzinfo=PARIS)))
    db.session.commit()
    assert answer_cache.generation() == first  # not a directory row

    db.session.scalars(select(Theme)).one().title = "Autre titre"
    db.session.flush()
    db.session.rollback()
    answer_cache.clear()
    assert answer_cache.generation() == first  # rolled back with the edit

    db.session.scalars(select(Theme)).one().title = "Autre titre"
    db.session.commit()
    second = answer_cache.generation()
    assert second == first + 1  # seen at once by the process that wrote it

    db.session.execute(update(Theme).values(position=3))
    db.session.commit()
    assert answer_cache.generation() == second + 1  # bulk statements too


@pytest.mark.parametrize("entries", [3])
def test_the_cache_keeps_only_the_most_recent_entries(blank, monkeypatch, entries):
    monkeypatch.setattr(answer_cache, "MAX_ENTRIES", entries)
    answer_cache.clear()
    db.session.add(Theme(slug="t", title="Thème"))
    db.session.commit()
    current = answer_cache.generation()
    assert current is not None
    for number in range(5):
        answer_cache.put(current, ("k", number), number)
    assert answer_cache.get(("k", 0)) == (current, None)
    assert [answer_cache.get(("k", n))[1] for n in (2, 3, 4)] == [2, 3, 4]
    assert answer_cache.stats()["entries"] == entries


def test_a_site_deleted_by_another_worker_is_left_out_not_a_crash(seeded_app):
    """Another worker may delete a site while this one still uses its older generation (up
    to DIRECTORY_CHECK_SECONDS): the kept selection names a site that is gone."""
    from dataclasses import replace

    from proxiservices.domain.competence import RankedSite
    from proxiservices.services.orientation import answer_from, get_commune, get_need, select_answer

    with seeded_app.app_context():
        need, commune = get_need("aide-logement"), get_commune(DOCELLES)
        selection, _ = select_answer(need, commune)
        assert selection.sites and selection.help_desks
        gone = RankedSite(2**31 - 1, 1.0, False, True)
        stale = replace(
            selection,
            sites=(gone, *selection.sites),
            help_desks=(*selection.help_desks, gone),
        )
        at = datetime(2026, 12, 1, 10, tzinfo=PARIS)
        answer = answer_from(need, commune, at, stale)
        fresh = answer_from(need, commune, at, selection)
        assert [a.site.id for a in answer.sites] == [a.site.id for a in fresh.sites]
        assert [a.site.id for a in answer.help_desks] == [a.site.id for a in fresh.help_desks]


def test_an_uncommitted_edit_never_becomes_the_process_generation(workspace):
    """A transaction that moved the generation and then rolls back: its number must not be
    taken as the process's, or a later commit reaching the same number would be served
    from answers computed before it."""
    with workspace.app_context():
        answer_cache.clear()
        committed = answer_cache.generation()
        assert committed is not None
        site = db.session.scalars(select(Site).limit(1)).one()
        site.name = site.name + " (brouillon)"
        db.session.flush()  # moves the generation in this transaction
        assert answer_cache.generation() is None  # nothing read or kept meanwhile
        key = ("test", "uncommitted")
        answer_cache.put(*answer_cache.get(key)[:1], key, "from the draft")
        db.session.rollback()
        answer_cache.clear()
        assert answer_cache.generation() == committed
        assert answer_cache.get(key) == (committed, None)


def test_reading_the_kept_generation_opens_no_session(workspace):
    """A page served from memory needs no database session: asking for the generation must
    not make one (it only asks a session this context already has about its edits)."""
    with workspace.app_context():
        answer_cache.clear()
        committed = answer_cache.generation()  # read from the database: a session
        db.session.remove()
    with workspace.app_context():
        assert answer_cache.generation() == committed  # kept, within the check period
        assert not db.session.registry.has()
