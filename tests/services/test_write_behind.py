"""Anonymous visits written in batches (services/write_behind.py, issue 8): none lost, the
same events and counts as when written one by one, kept while the database is down."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime

import pytest
from sqlalchemy import delete, event, func, select
from sqlalchemy.exc import DataError, OperationalError

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import ActivityCount, ActivityEvent, Commune, Need
from proxiservices.services import activity
from proxiservices.services.write_behind import WriteBehind, flush_all

PAGE = "/orientation?need=aide-logement&commune=88078"
API = "/api/v1/orientation?need=aide-logement&commune=88160"


@pytest.fixture
def buffered(workspace) -> Iterator:
    """The workspace with visits buffered: written only when the test flushes (or when
    ROWS visits wait), never on a timer during the test."""
    settings = {"ACTIVITY_BUFFER_SECONDS": 3600, "ACTIVITY_BUFFER_ROWS": 1000}
    saved = {name: workspace.config[name] for name in settings}
    workspace.config.update(settings)
    workspace.extensions.pop(activity._BUFFER, None)
    _clear(workspace)
    yield workspace
    buffer = workspace.extensions.pop(activity._BUFFER, None)
    if buffer is not None:
        buffer.flush()
    workspace.config.update(saved)
    _clear(workspace)


def _clear(app) -> None:
    with app.app_context():
        db.session.execute(delete(ActivityEvent))
        db.session.execute(delete(ActivityCount))
        db.session.commit()


def _events(app) -> list[tuple]:
    with app.app_context():
        rows = db.session.execute(
            select(ActivityEvent.channel, ActivityEvent.commune_insee, ActivityEvent.need_id)
            .where(ActivityEvent.kind == "visit")
            .order_by(ActivityEvent.id)
        )
        return [tuple(row) for row in rows]


def _counts(app) -> dict[tuple, int]:
    """The counts by grain, area and key (the tests' visits are of one day)."""
    return {(g, a, k): n for (a, g, _, k), n in _counts_by_day(app).items()}


def _counts_by_day(app) -> dict[tuple, int]:
    with app.app_context():
        rows = db.session.execute(
            select(
                ActivityCount.area_code,
                ActivityCount.grain,
                ActivityCount.day,
                ActivityCount.key,
                ActivityCount.n,
            )
        )
        return {tuple(row[:4]): row[4] for row in rows if row[4]}


def test_a_public_page_and_the_api_write_their_visits_with_the_next_batch(buffered):
    client = buffered.test_client()
    assert client.get(PAGE).status_code == 200
    assert client.get(API).status_code == 200
    assert client.get(API).status_code == 200  # the API counts every call
    assert _events(buffered) == []  # nothing written by the requests themselves
    assert activity.visits_buffer(buffered).flush() == 3
    with buffered.app_context():
        housing = db.session.scalar(select(Need.id).where(Need.slug == "aide-logement"))
    assert _events(buffered) == [
        ("public", "88078", housing),
        ("api", "88160", housing),
        ("api", "88160", housing),
    ]
    kept = _counts(buffered)
    assert kept[("day", "88078", "channel:public")] == 1
    assert kept[("month", "88160", "channel:api")] == 2
    assert kept[("day", "88", "channel:api")] == 2  # the département's counts too
    assert kept[("day", "*", "channel:public")] == 1
    with buffered.app_context():
        activity.rebuild_counts()
        db.session.commit()
    assert _counts(buffered) == kept  # the same counts as rebuilt from the events


def test_the_same_page_reloaded_is_one_visit_and_a_failed_page_none(buffered):
    client = buffered.test_client()
    assert client.get(PAGE).status_code == 200
    assert client.get(PAGE).status_code == 200  # a reload within 30 minutes
    assert client.get("/orientation?need=aide-logement&commune=99999").status_code == 404
    assert activity.visits_buffer(buffered).flush() == 1


def test_a_full_buffer_is_written_without_waiting(buffered):
    buffered.config["ACTIVITY_BUFFER_ROWS"] = 3
    buffered.extensions.pop(activity._BUFFER, None)
    client = buffered.test_client()
    for _ in range(3):
        assert client.get(API).status_code == 200
    deadline = time.monotonic() + 20
    while len(_events(buffered)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_events(buffered)) == 3  # the thread woke up for a full batch


def test_the_thread_writes_what_waits_after_its_period(buffered):
    buffered.config["ACTIVITY_BUFFER_SECONDS"] = 0.2
    buffered.extensions.pop(activity._BUFFER, None)
    assert buffered.test_client().get(API).status_code == 200
    deadline = time.monotonic() + 20
    while not _events(buffered) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(_events(buffered)) == 1


def test_a_need_deleted_before_the_batch_is_written_leaves_an_unknown_need(buffered):
    client = buffered.test_client()
    with buffered.app_context():
        need = Need(
            slug="besoin-ephemere",
            title="Besoin éphémère",
            body_kind_code="CAF",
            theme_id=db.session.scalar(select(Need.theme_id).where(Need.slug == "aide-logement")),
        )
        db.session.add(need)
        db.session.commit()
    assert client.get("/api/v1/orientation?need=besoin-ephemere&commune=88078").status_code == 200
    assert client.get(API).status_code == 200
    with buffered.app_context():
        db.session.execute(delete(Need).where(Need.slug == "besoin-ephemere"))
        db.session.commit()
    assert activity.visits_buffer(buffered).flush() == 2  # neither lost nor stuck
    needs = [need_id for _, _, need_id in _events(buffered)]
    assert needs[1] is not None
    with buffered.app_context():
        if db.engine.dialect.name == "postgresql":  # SQLite does not check foreign keys
            assert needs[0] is None


def _failing_then(writes: list, failures: int):
    calls = {"n": 0}

    def write(batch):
        calls["n"] += 1
        if calls["n"] <= failures:
            raise OperationalError("INSERT", {}, Exception("server closed the connection"))
        writes.extend(batch)
        return len(batch)

    return write


def test_items_are_kept_while_the_database_is_down_and_written_when_it_returns(workspace, caplog):
    writes: list = []
    buffer = WriteBehind(workspace, "essais", _failing_then(writes, 2), 3600, 1000, 1000)
    for number in range(5):
        buffer.add(number)
    with caplog.at_level(logging.WARNING):
        assert buffer.flush() == 0
        buffer.add(5)
        assert buffer.flush() == 0
    assert "essais : 5 gardées pour plus tard" in caplog.text
    assert buffer.flush() == 6
    assert writes == [0, 1, 2, 3, 4, 5]  # none lost, in their order


def test_beyond_its_maximum_the_oldest_items_are_dropped_and_the_drop_logged(workspace, caplog):
    writes: list = []
    buffer = WriteBehind(workspace, "essais", _failing_then(writes, 1), 3600, 1000, 3)
    for number in range(5):
        buffer.add(number)
    with caplog.at_level(logging.WARNING):
        assert buffer.flush() == 0
        assert buffer.flush() == 3
    assert writes == [2, 3, 4]
    assert "essais : 2 perdues" in caplog.text


def test_a_forked_process_starts_empty_and_writes_only_its_own(workspace):
    writes: list = []
    buffer = WriteBehind(workspace, "essais", _failing_then(writes, 0), 3600, 1000, 1000)
    buffer.add("parent")
    child = os.fork()
    if child == 0:  # the child: nothing inherited, its own item written by flush_all()
        status = 1
        try:
            buffer.add("child")
            flush_all()
            status = 0 if writes == ["child"] else 2
        finally:
            os._exit(status)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert buffer.flush() == 1 and writes == ["parent"]


def test_desk_visits_are_never_buffered(buffered):
    with buffered.app_context():
        need = db.session.scalar(select(Need).where(Need.slug == "aide-logement"))
        with pytest.raises(ValueError):
            activity.keep_visit(
                activity.visits_buffer(buffered),
                need,
                None,
                "desk",
                datetime.now(PARIS),
                "tree",
            )
        assert db.session.scalar(select(func.count()).select_from(ActivityEvent)) == 0


class _Kept(list):
    add = list.append


def _visits(app, how_many: int) -> list[activity.BufferedVisit]:
    """Anonymous visits of `how_many` communes (each its own counts), as kept by pages."""
    kept = _Kept()
    with app.app_context():
        need = db.session.scalar(select(Need).where(Need.slug == "aide-logement"))
        communes = db.session.scalars(select(Commune).order_by(Commune.insee).limit(how_many))
        for number, commune in enumerate(communes):
            channel = "api" if number % 2 else "public"
            activity.keep_visit(kept, need, commune, channel, datetime.now(PARIS), "tree")
    assert len(kept) == how_many
    return kept


def _statements_writing(app, batch: list[activity.BufferedVisit]) -> int:
    seen: list[str] = []
    with app.app_context():
        postgresql = db.engine.dialect.name == "postgresql"

        def record(connection, cursor, statement, parameters, context, executemany):
            # psycopg runs an executemany as one statement per row, only pipelined.
            assert not (postgresql and executemany), statement
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert activity.write_visits(batch) == len(batch)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
            db.session.remove()
    return len(seen)


def test_a_batch_is_written_by_the_same_statements_whatever_its_size(buffered):
    # One statement per table (arrays on PostgreSQL, an executemany on SQLite), not one per
    # row: a flush holds the worker against the pages it serves.
    batch = _visits(buffered, 30)
    few = _statements_writing(buffered, _visits(buffered, 2))
    many = _statements_writing(buffered, batch)
    assert few == many
    assert len(_events(buffered)) == 32
    with buffered.app_context():  # every column as kept, the instant included
        columns = list(batch[0].values)
        written = db.session.execute(
            select(*(getattr(ActivityEvent, name) for name in columns))
            .order_by(ActivityEvent.id)
            .offset(2)
        )
        assert [dict(zip(columns, row, strict=True)) for row in written] == [
            visit.values for visit in batch
        ]
    kept = _counts(buffered)
    with buffered.app_context():
        activity.rebuild_counts()
        db.session.commit()
    assert _counts(buffered) == kept


def test_a_batch_moves_the_counts_each_visit_moves(buffered):
    # On PostgreSQL the counts of a batch are derived by the database from its visits; they
    # must be those that count_keys gives visit by visit: Paris days and months across a
    # month's end, a commune visited twice, both channels, a commune without EPCI.
    at = [
        datetime(2026, 10, 31, 23, 30, tzinfo=PARIS),
        datetime(2026, 11, 1, 0, 10, tzinfo=PARIS),  # 23:10 UTC on 31 October
        datetime(2026, 11, 1, 0, 20, tzinfo=PARIS),
        datetime(2026, 11, 3, 12, 0, tzinfo=PARIS),
    ]
    kept = _Kept()
    with buffered.app_context():
        need = db.session.scalar(select(Need).where(Need.slug == "aide-logement"))
        alone, epinal, golbey = db.session.scalars(
            select(Commune)
            .where(Commune.insee.in_(["88160", "88209", "88078"]))
            .order_by(Commune.insee)
        )
        saved_epci, alone.epci_code = alone.epci_code, None
        db.session.commit()
        try:
            visits = [
                (epinal, "public", at[0]),
                (epinal, "api", at[1]),
                (golbey, "public", at[1]),
                (epinal, "public", at[2]),
                (alone, "api", at[3]),
                (alone, "api", at[3]),
            ]
            for commune, channel, instant in visits:
                activity.keep_visit(kept, need, commune, channel, instant, "tree")
            assert activity.write_visits(kept) == len(visits)
        finally:
            alone = db.session.get(Commune, alone.insee)
            alone.epci_code = saved_epci
            db.session.commit()
    expected: Counter[tuple] = Counter()
    for visit in kept:
        values = visit.values
        expected.update(
            activity.count_keys(
                values["occurred_on"], values["commune_insee"], visit.keys, visit.areas
            )
        )
    assert expected[("*", "day", date(2026, 10, 31), "channel:public")] == 1
    assert ("88078", "day", date(2026, 11, 3), "channel:api") in expected
    assert _counts_by_day(buffered) == dict(expected)


def test_counts_written_many_at_a_time_keep_their_keys_exactly(workspace):
    keys = ['guillemet:"', "virgule:a,b", "barre:\\", "accolades:{x}", "NULL", "", "é ü ß"]
    rows = [
        {"area_code": "*", "grain": "day", "day": date(2026, 11, 2), "key": key, "n": n}
        for n, key in enumerate(keys, start=1)
    ]
    _clear(workspace)
    with workspace.app_context():
        activity.upsert_counts(rows)
        activity.upsert_counts(rows)  # added to the same rows
        db.session.commit()
        got = {key: n for key, n in db.session.execute(select(ActivityCount.key, ActivityCount.n))}
    _clear(workspace)
    assert got == {key: 2 * n for n, key in enumerate(keys, start=1)}


def test_a_value_too_long_for_its_column_is_refused_not_cut(workspace):
    with workspace.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite does not check the length of strings")
    _clear(workspace)
    with workspace.app_context():
        row = {"area_code": "*", "grain": "day", "day": date(2026, 11, 2), "key": "k" * 61, "n": 1}
        with pytest.raises(DataError):
            activity.upsert_counts([row])
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(ActivityCount)) == 0


def test_instants_go_in_arrays_as_naive_utc_like_single_rows():
    # Checked without a database: a PostgreSQL session in UTC would hide a missed conversion.
    from sqlalchemy.dialects import postgresql

    from proxiservices.models.types import UTCDateTime
    from proxiservices.services import many_rows

    dialect = postgresql.psycopg.dialect()
    process = many_rows._array_of(UTCDateTime())._cached_bind_processor(dialect)
    values = process([datetime(2026, 11, 24, 0, 30, tzinfo=PARIS), None])
    assert isinstance(values, many_rows._Column)  # sent in binary
    assert values == [datetime(2026, 11, 23, 23, 30), None]
