"""The directory held in memory per generation (services/directory_memory.py, issue 8):
answers from it equal those read from the database, cost no query once it is loaded, follow
every edit at once, and its shared objects never join a request's session."""

from __future__ import annotations

import logging
import runpy
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select

from proxiservices.domain import hours
from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import (
    Alert,
    Atelier,
    Body,
    Closure,
    Commune,
    Need,
    Permanence,
    Site,
    SiteCoverage,
)
from proxiservices.services import answer_cache, directory_memory
from proxiservices.services.communes import get_commune
from proxiservices.services.needs import get_need
from proxiservices.services.orientation import answer_from, orient, select_answer

MOMENTS = [
    datetime(2026, 12, 1, 10, 0, tzinfo=PARIS),
    datetime(2026, 12, 24, 17, 30, tzinfo=PARIS),
    datetime(2027, 1, 4, 9, 0, tzinfo=PARIS),
]
DOCELLES = "88135"
STAMP = datetime(2026, 11, 1, tzinfo=UTC)


def _local(day: int, hour: int = 0, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour)


def _sites_of(kind: str) -> list[Site]:
    return list(
        db.session.scalars(select(Site).join(Site.body).where(Body.kind_code == kind).limit(3))
    )


@pytest.fixture(scope="module")
def richer(workspace):
    """The seeded directory plus what the seeds lack: closures, permanences (one over),
    alerts for a commune, an EPCI, a département and one body kind, ateliers at help desks,
    a site and a commune without position."""
    with workspace.app_context():
        desks = _sites_of("FRANCE_SERVICES") + _sites_of("CONSEILLER_NUMERIQUE")
        caf = _sites_of("CAF")[0]
        docelles = db.session.get(Commune, DOCELLES)
        for n, site in enumerate(desks[:3]):
            db.session.add_all(
                [
                    Closure(site_id=site.id, kind="closed", starts_at=_local(20 + n),
                            ends_at=_local(27 + n, 23), message="Congés"),
                    Closure(site_id=site.id, kind="hours", starts_at=_local(2, month=1, year=2027),
                            ends_at=_local(9, 23, month=1, year=2027), message="",
                            opening_hours="Mo-Fr 09:00-12:00"),
                ]
            )  # fmt: skip
        db.session.add(
            Closure(site_id=caf.id, kind="message", starts_at=_local(1), ends_at=_local(31, 23),
                    message="Travaux")
        )  # fmt: skip
        for ends_on in (None, date(2026, 12, 15), date(2026, 11, 1)):
            db.session.add(
                Permanence(body_id=caf.body_id, host_site_id=desks[0].id, schedule="Tu 09:00-12:00",
                           starts_on=None, ends_on=ends_on)
            )  # fmt: skip
        for area, kind, start, end in [
            (DOCELLES, None, _local(1), _local(2)),
            (docelles.epci_code, "CAF", _local(20), _local(26)),
            (docelles.departement_code, None, _local(30), _local(3, month=1, year=2027)),
            (docelles.departement_code, "MAIRIE", _local(1), _local(31)),
            ("88160", None, _local(28, month=11), _local(30, month=11)),
        ]:
            db.session.add(
                Alert(area_code=area, category="travaux", severity="warning", title=f"À {area}",
                      message="", body_kind_code=kind, starts_at=start, ends_at=end,
                      created_at=STAMP, updated_at=STAMP)
            )  # fmt: skip
        for n, site in enumerate(desks):
            for offset in (1, 23, 4 + 30 * n):
                start = _local(1, 14) + timedelta(days=offset)
                db.session.add(
                    Atelier(site_id=site.id, body_id=None, title=f"Atelier {n}", theme="Courriels",
                            starts_at=start, ends_at=start + timedelta(hours=2), signup="",
                            created_at=STAMP, updated_at=STAMP)
                )  # fmt: skip
        unplaced = db.session.scalars(
            select(Site).join(Site.body).where(Body.kind_code == "MAIRIE").order_by(Site.id.desc())
        ).first()
        unplaced.latitude = unplaced.longitude = None
        nowhere = db.session.scalars(select(Commune).order_by(Commune.insee.desc())).first()
        nowhere.latitude = nowhere.longitude = None
        db.session.commit()
        yield workspace, nowhere.insee
        db.session.remove()


def _site_summary(answers):
    return [
        (
            a.site.id,
            a.distance_km,
            a.distance_approx,
            a.competence_verified,
            a.status,
            [c.id for c in a.closures],
            [b.closure.id for b in a.banners],
            a.week,
        )
        for a in answers
    ]


def summary(answer) -> dict:
    return {
        "need": answer.need.id,
        "commune": answer.commune.insee,
        "kind": answer.body_kind.code,
        "via": answer.via_kind.code if answer.via_kind else None,
        "sites": _site_summary(answer.sites),
        "desks": _site_summary(answer.help_desks),
        "bodies": [b.id for b in answer.bodies_without_site],
        "permanences": [
            (p.permanence.id, p.distance_km, p.next_start, p.next_end, p.sentence, p.upcoming)
            for p in answer.permanences
        ],
        "alerts": [
            (s.alert.id, s.area_name, s.current, s.body_kind.code if s.body_kind else None)
            for s in answer.alerts
        ],
        "ateliers": [a.id for a in answer.ateliers],
    }


def _from_database(slug, insee, at):
    need, commune = get_need(slug), get_commune(insee)
    selection, loaded = select_answer(need, commune)
    return answer_from(need, commune, at, selection, loaded)


def _from_memory(memory, slug, insee, ats):
    need, commune = memory.need(slug), memory.commune(insee)
    selection, _ = select_answer(need, commune, memory=memory)
    return [answer_from(need, commune, at, selection, memory=memory) for at in ats]


def test_answers_from_memory_equal_answers_from_the_database(richer):
    app, nowhere = richer
    with app.app_context():
        answer_cache.clear()
        needs = list(db.session.scalars(select(Need.slug).where(Need.origin == "curated")))
        communes = [DOCELLES, "88160", "88465", "88001", nowhere]
        memory = directory_memory.current()
        assert memory is not None
        shown = {"alerts": 0, "ateliers": 0, "permanences": 0, "banners": 0, "via": 0}
        for slug in needs:
            for insee in communes:
                for at, got in zip(
                    MOMENTS, _from_memory(memory, slug, insee, MOMENTS), strict=True
                ):
                    expected = summary(_from_database(slug, insee, at))
                    assert summary(got) == expected, (slug, insee, at)
                    shown["alerts"] += bool(expected["alerts"])
                    shown["ateliers"] += bool(expected["ateliers"])
                    shown["permanences"] += bool(expected["permanences"])
                    shown["banners"] += any(s[6] for s in expected["sites"] + expected["desks"])
                    shown["via"] += bool(expected["via"])
        assert all(shown.values()), shown  # every part was really compared somewhere


def test_nearest_sites_in_memory_equal_a_full_ranking(richer):
    """The grid search finds what ranking every site would, ties included, far away too."""
    from proxiservices.domain.competence import Place

    app, _ = richer
    with app.app_context():
        memory = directory_memory.current()
        kinds = ["MAIRIE", "FRANCE_SERVICES", "CAF"]
        origins = [Place(48.2, 6.6), Place(44.0, 1.0), Place(-21.1, 55.5), Place(48.17, 6.45)]
        for kind in kinds:
            points = memory.by_kind[kind]
            for origin in origins:
                for limit in (1, 3, 5, 40):
                    excluded = frozenset(p.id for p in points[:2])
                    placed = [p for p in points if p.positioned and p.id not in excluded]
                    ranked = sorted((directory_memory._km(origin, p), p.id) for p in placed)
                    if len(ranked) < limit:
                        continue
                    cutoff = ranked[limit - 1][0]
                    expected = sorted(i for km, i in ranked if km <= cutoff)
                    got = memory.nearest_ids([kind], origin, limit, excluded)
                    assert got == expected, (kind, origin, limit)


LATITUDES = st.floats(min_value=-80, max_value=80)
LONGITUDES = st.floats(min_value=-179, max_value=179)


@settings(max_examples=3000, deadline=None)
@given(
    origin=st.tuples(LATITUDES, LONGITUDES),
    offset=st.tuples(st.floats(min_value=-1, max_value=1), st.floats(min_value=-1, max_value=1)),
    r=st.integers(min_value=0, max_value=directory_memory.MAX_RINGS),
)
def test_the_ring_search_bound_never_exceeds_a_distance_outside_the_rings(origin, offset, r):
    """What lets the grid search stop: no site outside the rings searched is nearer than
    _outside_km (else a nearer site would be missed), just past the box's edges too."""
    from proxiservices.domain.geo import distance_km

    reach = (r + 2) * directory_memory.CELL_DEGREES  # sites up to two cells past the box
    site = (origin[0] + offset[0] * reach, origin[1] + offset[1] * reach)
    cell = directory_memory._cell(*origin)
    site_cell = directory_memory._cell(*site)
    if max(abs(site_cell[0] - cell[0]), abs(site_cell[1] - cell[1])) <= r:
        return  # inside the rings searched
    widest = abs(site[1] - origin[1])
    bound = directory_memory._outside_km(origin[0], origin[1], r, widest)
    assert bound <= distance_km(*origin, *site) + 1e-9


def test_the_bound_holds_just_past_the_box_a_little_further_from_the_equator():
    """A degree of longitude is shorter north of the origin: the bound must use the box's
    northern edge, not the origin's latitude (0.4 km too long otherwise, found by search)."""
    from proxiservices.domain.geo import distance_km

    origin, site = (48.45, 6.25), (48.62, 12.500001)  # 12 rings: the box ends at 12.5° E
    bound = directory_memory._outside_km(*origin, 12, 10.0)
    assert bound <= distance_km(*origin, *site)


@settings(max_examples=3000, deadline=None)
@given(
    origin=st.tuples(LATITUDES, LONGITUDES),
    offset=st.tuples(st.floats(min_value=-4, max_value=4), st.floats(min_value=-4, max_value=4)),
)
def test_the_cell_bound_never_exceeds_a_distance_to_a_site_of_the_cell(origin, offset):
    from proxiservices.domain.geo import distance_km

    site = (origin[0] + offset[0], origin[1] + offset[1])
    widest = abs(site[1] - origin[1])
    bound = directory_memory._cell_km(*origin, directory_memory._cell(*site), widest)
    assert bound <= distance_km(*origin, *site) + 1e-9


SPREADS = st.sampled_from([0.05, 0.4, 2.0, 8.0])  # degrees: one cell to a few rings and past


@settings(max_examples=300, deadline=None)
@given(
    origin=st.tuples(
        st.floats(min_value=-60, max_value=60), st.floats(min_value=-170, max_value=170)
    ),
    spread=SPREADS,
    offsets=st.lists(
        st.tuples(st.floats(min_value=-1, max_value=1), st.floats(min_value=-1, max_value=1)),
        min_size=1,
        max_size=60,
    ),
    limit=st.integers(min_value=1, max_value=8),
    excluded_every=st.integers(min_value=0, max_value=5),
    data=st.data(),
)
def test_nearest_sites_equal_a_full_ranking_for_any_scatter(
    origin, spread, offsets, limit, excluded_every, data
):
    """The cell search against the ranking of every site, on made-up scatters: dense ones
    (many sites in the origin's cell), sparse ones (past MAX_RINGS), ties (sites on the
    same spot) and excluded sites."""
    from proxiservices.domain.competence import Place

    snapshot = directory_memory.Snapshot(0)
    points = []
    for number, (dlat, dlon) in enumerate(offsets, start=1):
        if data.draw(st.booleans(), label="same spot as the previous") and points:
            latitude, longitude = points[-1].latitude, points[-1].longitude
        else:
            latitude, longitude = origin[0] + dlat * spread, origin[1] + dlon * spread
        kind = data.draw(st.sampled_from(["A", "B"]), label="kind")
        points.append(directory_memory.SitePoint(number, kind, latitude, longitude, False))
    snapshot._index_points(points)
    excluded = frozenset(p.id for p in points[:: excluded_every or len(points) + 1])
    place = Place(*origin)
    for kinds in (["A"], ["A", "B"]):
        placed = [p for p in points if p.kind in kinds and p.id not in excluded]
        ranked = sorted((directory_memory._km(place, p), p.id) for p in placed)
        if len(ranked) < limit:
            continue
        cutoff = ranked[limit - 1][0]
        expected = sorted(i for km, i in ranked if km <= cutoff)
        assert snapshot.nearest_ids(kinds, place, limit, excluded) == expected


def test_a_cell_of_the_next_ring_can_be_nearer_than_one_of_this_ring():
    """Origin near its cell's south-east corner: a degree of longitude is shorter than one
    of latitude, so the cell two rings east (38.7 km away) comes before the cell just north
    (54.5 km at least). Stopping at the cells of ring 1 would answer the site 49 km away."""
    from proxiservices.domain.competence import Place

    snapshot = directory_memory.Snapshot(0)
    east_of_ring_1 = directory_memory.SitePoint(1, "A", 48.3, 6.99, False)  # about 49 km
    north_of_ring_1 = directory_memory.SitePoint(2, "A", 48.51, 6.49, False)  # about 56 km
    east_of_ring_2 = directory_memory.SitePoint(3, "A", 48.01, 7.01, False)  # about 39 km
    snapshot._index_points([east_of_ring_1, north_of_ring_1, east_of_ring_2])
    assert snapshot.nearest_ids(["A"], Place(48.01, 6.49), 1, frozenset()) == [3]


@pytest.mark.parametrize("r", [0, 1, 3])
def test_the_bound_counts_the_origins_place_in_its_cell(r):
    """An origin in the middle of its cell is half a cell further from the box's edges than
    one on an edge: the search stops sooner for it."""
    cell = directory_memory.CELL_DEGREES
    middle = directory_memory._outside_km(48.0 + cell / 2, 6.0 + cell / 2, r, 10.0)
    edge = directory_memory._outside_km(48.0, 6.0, r, 10.0)
    assert middle > edge + 10  # km: a quarter cell of latitude is about 14 km


class Counter:
    def __init__(self, engine):
        self.engine, self.statements = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def _record(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._record)


def test_a_new_pair_runs_no_query_once_the_directory_is_in_memory(richer):
    app, _ = richer
    with app.app_context():
        answer_cache.clear()
        others = db.session.scalars(
            select(Need.slug).where(Need.origin == "curated").order_by(Need.id).limit(6)
        ).all()
        for slug in ["cni-passeport-demande", "aide-ccas", *others]:
            orient(slug, DOCELLES, MOMENTS[0])  # builds the snapshot, reads the needs
        memory = directory_memory.current()
        assert len(memory.communes) == db.session.scalar(select(sa.func.count(Commune.insee)))
        assert len(memory.sites) == len(memory.points)
        with Counter(db.engine) as counter:
            for slug in ["cni-passeport-demande", "aide-ccas", *others]:
                for insee in ["88160", "88465"]:
                    answer = orient(slug, insee, MOMENTS[1])
                    assert answer.need.slug == slug
        assert counter.statements == []
        assert answer_cache.stats()["misses"] > 0  # new pairs indeed


def _api(client, need, commune, at=MOMENTS[1]):
    response = client.get(
        f"/api/v1/orientation?need={need}&commune={commune}&at={at.strftime('%Y-%m-%dT%H:%M')}"
    )
    assert response.status_code == 200, response.data
    return response.get_json()


def _edit(app, change):
    with app.app_context():
        change()
        db.session.commit()


def test_an_edit_shows_in_the_next_answer_of_the_same_process(richer):
    app, _ = richer
    client = app.test_client()
    need, commune = "aide-logement", DOCELLES
    before = _api(client, need, commune)
    first = before["sites"][0]
    with app.app_context():
        site_id = db.session.scalar(select(Site.id).where(Site.slug == first["slug"]))

    def add_closure():
        db.session.add(
            Closure(site_id=site_id, kind="closed", starts_at=_local(24), ends_at=_local(24, 23),
                    message="Fermé aujourd'hui")
        )  # fmt: skip

    _edit(app, add_closure)
    assert _api(client, need, commune)["sites"][0]["closures"] != first["closures"]

    def add_alert():
        db.session.add(
            Alert(area_code=commune, category="travaux", severity="critical", title="Nouvelle",
                  message="", body_kind_code=None, starts_at=_local(24), ends_at=_local(25),
                  created_at=STAMP, updated_at=STAMP)
        )  # fmt: skip

    _edit(app, add_alert)
    assert "Nouvelle" in [a["title"] for a in _api(client, need, commune)["alerts"]]

    def move_site():
        site = db.session.get(Site, site_id)
        site.latitude, site.longitude = site.latitude + 0.5, site.longitude

    _edit(app, move_site)
    moved = _api(client, need, commune)
    assert [s["distance_km"] for s in moved["sites"] if s["slug"] == first["slug"]] != [
        first["distance_km"]
    ]

    def uncover():
        db.session.execute(sa.delete(SiteCoverage).where(SiteCoverage.site_id == site_id))

    _edit(app, uncover)
    after = _api(client, need, commune)
    assert first["slug"] not in [s["slug"] for s in after["sites"] if s["competence_verified"]]

    permanences = _api(client, need, commune, MOMENTS[0])["permanences"]
    assert permanences

    def end_permanences():
        for permanence in db.session.scalars(select(Permanence)):
            permanence.ends_on = date(2026, 11, 30)

    _edit(app, end_permanences)
    assert _api(client, need, commune, MOMENTS[0])["permanences"] == []


def test_kept_objects_never_join_the_request_session(richer):
    app, _ = richer
    client = app.test_client()
    assert client.get(f"/orientation?need=aide-logement&commune={DOCELLES}").status_code == 200
    assert client.get(f"/orientation/fiche?need=aide-logement&commune={DOCELLES}").status_code in (
        200,
        404,
    )
    with app.app_context():
        memory = directory_memory.current()
        answer = orient("aide-logement", DOCELLES, MOMENTS[1])
        kept = [
            answer.need,
            answer.commune,
            *(s.site for s in answer.sites + answer.help_desks),
            *(p.permanence for p in answer.permanences),
            *memory.sites.values(),
        ]
        assert kept and all(directory_memory.is_kept(o) for o in kept)
        assert all(sa.inspect(o).session is None for o in kept)
        titles = {id(o): getattr(o, "name", None) for o in kept}
        db.session.add(
            Alert(area_code="88160", category="travaux", severity="info", title="Commit",
                  message="", body_kind_code=None, starts_at=_local(1), ends_at=_local(2),
                  created_at=STAMP, updated_at=STAMP)
        )  # fmt: skip
        db.session.commit()  # would expire them, were they in this session
        assert all(not sa.inspect(o).expired_attributes for o in kept)
        assert {id(o): getattr(o, "name", None) for o in kept} == titles
        with pytest.raises(RuntimeError, match="read-only"):
            db.session.add(answer.sites[0].site)
        db.session.rollback()


def test_unknown_needs_and_communes_are_not_kept(seeded):
    from proxiservices.services import directory_memory

    with seeded.test_request_context("/"):
        snapshot = directory_memory.current()
        assert snapshot is not None
        before = (len(snapshot.needs), len(snapshot.communes))
        for i in range(50):
            assert snapshot.need(f"inconnue-{i}") is None
            assert snapshot.need("x" * 5000) is None
        assert snapshot.commune("00000") is None
        assert (len(snapshot.needs), len(snapshot.communes)) == before
        assert snapshot.need("aide-logement") is not None


def test_every_commune_is_kept_whole_and_read_without_a_query(richer):
    app, nowhere = richer
    with app.app_context():
        memory = directory_memory.current()
        insees = db.session.scalars(select(Commune.insee)).all()
        assert set(memory.communes) == set(insees)
        with Counter(db.engine) as counter:
            for insee in insees:
                commune = memory.commune(insee)
                state = sa.inspect(commune)
                assert directory_memory.is_kept(commune) and state.session is None
                # Every column is loaded; only the territories are not (never read on it).
                assert state.unloaded == {"epci", "departement"}
                assert commune.name and commune.insee in commune.territory_codes
                assert commune.position_approx in (True, False) and commune.postcode_list
            for unknown in ("00000", "", "x" * 6, "1" * 5000):
                assert memory.commune(unknown) is None
        assert counter.statements == []
        assert memory.commune(nowhere).latitude is None


def test_warm_builds_the_snapshot_and_todays_weekly_hours_of_its_sites(richer):
    app, _ = richer
    # A given instant: the real clock could pass midnight between warm() and the test.
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=PARIS)
    with app.app_context():
        answer_cache.clear()
        hours._weekly_table.cache_clear()
        snapshot = directory_memory.warm(monday)
        assert snapshot is not None and snapshot is directory_memory.current()
        assert snapshot.alerts is not None and snapshot.ateliers is not None
        expressions = {site.opening_hours for site in snapshot.sites.values()}
        assert len(expressions) > 1
        warmed = hours._weekly_table.cache_info()
        assert warmed.currsize == len(expressions) <= warmed.maxsize
        for expr in expressions:
            hours.weekly_table(expr, monday.date())
        after = hours._weekly_table.cache_info()
        assert (after.hits - warmed.hits, after.misses) == (len(expressions), warmed.misses)


def _gunicorn_server(app, records):
    log = logging.getLogger("test.gunicorn")
    log.warning = lambda message, *args: records.append(message % args)  # type: ignore[method-assign]
    return SimpleNamespace(app=SimpleNamespace(wsgi=lambda: app), log=log)


def test_gunicorn_master_warms_the_directory_or_only_warns(richer):
    """gunicorn.conf.py builds the snapshot in the master before forking; a database that
    cannot be read leaves a warning, never a master that does not start."""
    app, _ = richer
    settings = runpy.run_path(str(Path(__file__).parents[2] / "gunicorn.conf.py"))
    records: list[str] = []
    server = _gunicorn_server(app, records)
    with app.app_context():
        answer_cache.clear()
    settings["_warm"](server, "Directory snapshot", directory_memory.warm)
    assert records == []
    with app.app_context():
        assert answer_cache.memory_slot().snapshot is not None

    def unreachable():
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    settings["_warm"](server, "Directory snapshot", unreachable)
    assert records == ["Directory snapshot not built at start; workers will build it"]


def test_beyond_max_lazy_needs_are_read_on_first_use_and_the_oldest_let_go(seeded, monkeypatch):
    from proxiservices.services import directory_memory

    monkeypatch.setattr(directory_memory, "MAX_LAZY", 3)
    with seeded.test_request_context("/"):
        answer_cache.clear()
        try:
            snapshot = directory_memory.current()
            assert not snapshot.all_needs and len(snapshot.needs) == 0
            slugs = db.session.scalars(select(Need.slug).order_by(Need.id).limit(5)).all()
            for slug in slugs:
                assert snapshot.need(slug).slug == slug
                assert directory_memory.is_kept(snapshot.need(slug))
            assert list(snapshot.needs) == slugs[-3:]
            assert snapshot.need("inconnue") is None and "inconnue" not in snapshot.needs
        finally:
            answer_cache.clear()


def _parts(app, site, week):
    module = app.jinja_env.get_template("macros.html").module
    return str(module.site_contact(site)), str(module.site_week(site, week))


def test_card_parts_of_kept_sites_are_rendered_once_and_equal_a_fresh_rendering(richer):
    """web.card_part: a site of the snapshot keeps its contact list and weekly table (its
    page shows the same markup as a fresh rendering); a site read in the request is
    rendered each time, so an edit in progress shows."""
    from proxiservices.web import warm_card_parts

    app, _ = richer
    card_part = app.jinja_env.globals["card_part"]
    today = datetime.now(PARIS).date()
    with app.app_context():
        answer_cache.clear()
        assert warm_card_parts() == len(directory_memory.current().sites)
        kept = next(s for s in directory_memory.current().sites.values() if s.opening_hours)
        week = hours.weekly_table(kept.opening_hours, today)
        first = card_part("site_contact", kept)
        assert card_part("site_contact", kept) is first  # kept, not rendered again
        assert (str(first), str(card_part("site_week", kept, week))) == _parts(app, kept, week)
        other_week = hours.weekly_table("Mo 10:00-11:00", today)
        assert str(card_part("site_week", kept, other_week)) == _parts(app, kept, other_week)[1]

        read = db.session.get(Site, kept.id)
        assert not directory_memory.is_kept(read)
        read.phone = "03 29 00 00 01"
        assert "03 29 00 00 01" in card_part("site_contact", read)
        read.phone = "03 29 00 00 02"
        assert "03 29 00 00 02" in card_part("site_contact", read)
        db.session.rollback()
