"""Recording the anonymous activity events: orientation results shown, request transitions,
and the outcome a receptionist gives to a visit; never a name or free text.

Each visit also moves the daily and monthly counts (`ActivityCount`) of its commune, EPCI,
département and of everywhere, in the same transaction: the dashboard reads those."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import Flask
from sqlalchemy import (
    Insert,
    String,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import AppointmentRequest, Commune, Need, Theme, User
from proxiservices.models.activity import (
    ALL_AREAS,
    API,
    DAY,
    DESK,
    MONTH,
    PUBLIC,
    REQUEST,
    SEARCH,
    TREE,
    VISIT,
    ActivityCount,
    ActivityEvent,
)
from proxiservices.services import many_rows
from proxiservices.services.rows import get_by_id
from proxiservices.services.write_behind import WriteBehind

CHANNELS = (DESK, PUBLIC, API)
FOUND_VIA = (TREE, SEARCH)
OUTCOMES = {
    "oriented": "Orienté",
    "accompanied": "Accompagné dans la démarche",
    "autonomous": "Autonome",
}


class ActivityError(ValueError):
    """An outcome that cannot be set; the message is shown as is."""


def visit_values(
    need: Need,
    commune_insee: str,
    channel: str,
    at: datetime,
    *,
    desk_site_id: int | None = None,
    found_via: str = TREE,
    outcome: str | None = None,
) -> dict[str, Any]:
    """The columns of one visit event (nothing about the resident)."""
    if channel not in CHANNELS or found_via not in FOUND_VIA:
        raise ValueError(f"unknown channel or way: {channel}, {found_via}")
    return dict(
        _NO_VALUES,
        kind=VISIT,
        occurred_at=at,
        occurred_on=at.astimezone(PARIS).date(),
        channel=channel,
        need_id=need.id,
        theme_id=need.theme_id,
        body_kind_code=need.body_kind_code,
        commune_insee=commune_insee,
        desk_site_id=desk_site_id if channel == DESK else None,
        found_via=found_via,
        outcome=outcome if channel == DESK else None,
    )


def record_visit(
    need: Need,
    commune_insee: str,
    channel: str,
    at: datetime,
    *,
    desk_site_id: int | None = None,
    found_via: str = TREE,
    outcome: str | None = None,
    commit: bool = True,
    commune: Commune | None = None,
) -> ActivityEvent:
    """Count one orientation result shown. With commit=False the row is only written (its
    id known), for a page that commits once it is rendered: committing earlier would
    expire the objects the page is about to show. `commune`, the loaded commune of
    `commune_insee` when the caller has it, spares reading its EPCI and département again."""
    values = visit_values(
        need,
        commune_insee,
        channel,
        at,
        desk_site_id=desk_site_id,
        found_via=found_via,
        outcome=outcome,
    )
    # One cached INSERT rather than a unit-of-work flush (a third of the page's writing
    # time); the row then joins the session as if it had been flushed, every column loaded.
    event = ActivityEvent(id=db.session.execute(_INSERT_EVENT, values).scalar_one(), **values)
    make_transient_to_detached(event)
    db.session.add(event)
    areas = (commune.epci_code, commune.departement_code) if commune is not None else None
    _add_counts(event.occurred_on, commune_insee, visit_keys(event), 1, areas)
    if commit:
        db.session.commit()
    return event


# --- anonymous visits written in batches (issue 8) -----------------------------------------
#
# A public result page or an API answer keeps its visit in the process's buffer
# (services/write_behind.py), written within ACTIVITY_BUFFER_SECONDS with the others: the
# page itself then writes nothing. Desk visits are written in their request: their id is
# shown, for the outcome buttons. ACTIVITY_BUFFER_SECONDS=0 writes every visit at once.


@dataclass(frozen=True)
class BufferedVisit:
    values: dict[str, Any]  # the event's columns (visit_values)
    areas: tuple[str | None, str | None]  # the commune's EPCI and département
    keys: tuple[str, ...]  # the counts it moves


def visits_buffer(app: Flask) -> WriteBehind | None:
    """The application's buffer of anonymous visits; None when they are written at once."""
    if float(app.config["ACTIVITY_BUFFER_SECONDS"]) <= 0:
        return None
    buffer = app.extensions.get(_BUFFER)
    if buffer is None:
        with _buffer_lock:
            buffer = app.extensions.get(_BUFFER)
            if buffer is None:
                buffer = app.extensions[_BUFFER] = WriteBehind(
                    # The application itself, not current_app: the thread has no context.
                    getattr(app, "_get_current_object", lambda: app)(),
                    "visites anonymes",
                    write_visits,
                    float(app.config["ACTIVITY_BUFFER_SECONDS"]),
                    int(app.config["ACTIVITY_BUFFER_ROWS"]),
                    int(app.config["ACTIVITY_BUFFER_MAX"]),
                )
    return buffer


_BUFFER = "proxiservices.visits_buffer"
_buffer_lock = threading.Lock()


def keep_visit(
    buffer: WriteBehind, need: Need, commune: Commune, channel: str, at: datetime, found_via: str
) -> None:
    """Count an anonymous visit (public page or API) through the buffer."""
    if channel == DESK:
        raise ValueError("a desk visit is written in its request (its id is shown)")
    values = visit_values(need, commune.insee, channel, at, found_via=found_via)
    keys = _keys(channel, need.theme_id, need.id, None, commune.insee)
    buffer.add(BufferedVisit(values, (commune.epci_code, commune.departement_code), tuple(keys)))


def write_visits(batch: list[BufferedVisit]) -> int:
    """The events and their counts in one transaction; returns the events written."""
    try:
        _insert_visits(batch)
    except IntegrityError:
        # A need, a theme or a commune deleted since the visit: as for the events already
        # written (ON DELETE SET NULL), the visit keeps what still exists.
        db.session.rollback()
        batch = _still_valid(batch)
        if batch:
            _insert_visits(batch)
    return len(batch)


def _insert_visits(batch: list[BufferedVisit]) -> None:
    rows = [visit.values for visit in batch]
    if db.session.get_bind().dialect.name == "postgresql":
        # One statement: the visits, and the counts PostgreSQL derives from them.
        many_rows.write(_visits_and_counts, _VISIT_COLUMNS, rows)
    else:
        db.session.execute(insert(_EVENTS), rows)  # SQLite: an executemany, at C speed
        totals: Counter[tuple[str, str, date, str]] = Counter()
        for visit in batch:
            values = visit.values
            totals.update(
                count_keys(values["occurred_on"], values["commune_insee"], visit.keys, visit.areas)
            )
        upsert_counts(
            [
                {"area_code": area, "grain": grain, "day": day, "key": key, "n": n}
                for (area, grain, day, key), n in sorted(totals.items())  # fixed order: no deadlock
            ]
        )
    db.session.commit()


def _still_valid(batch: list[BufferedVisit]) -> list[BufferedVisit]:
    def existing(column, values: set) -> set:
        values.discard(None)
        if not values:
            return set()
        return set(db.session.scalars(select(column).where(column.in_(values))))

    needs = existing(Need.id, {v.values["need_id"] for v in batch})
    themes = existing(Theme.id, {v.values["theme_id"] for v in batch})
    communes = existing(Commune.insee, {v.values["commune_insee"] for v in batch})
    kept = []
    for visit in batch:
        values = visit.values
        if values["commune_insee"] not in communes:
            continue
        if values["need_id"] not in needs or values["theme_id"] not in themes:
            values = {
                **values,
                "need_id": values["need_id"] if values["need_id"] in needs else None,
                "theme_id": values["theme_id"] if values["theme_id"] in themes else None,
            }
        kept.append(BufferedVisit(values, visit.areas, visit.keys))
    return kept


_EVENTS = ActivityEvent.__table__
_INSERT_EVENT = insert(_EVENTS).returning(_EVENTS.c.id)
_NO_VALUES = {column.key: None for column in _EVENTS.columns if column.key != "id"}


def record_transition(request: AppointmentRequest, from_status: str | None, at: datetime) -> None:
    """Add the anonymous twin of a request's history row, in the same transaction: body,
    need, commune, statuses and the time since the request was sent; nothing else."""
    db.session.add(ActivityEvent(**transition_values(request, from_status, at)))


def transition_values(
    request: AppointmentRequest, from_status: str | None, at: datetime
) -> dict[str, Any]:
    """The columns of that anonymous twin (also written in bulk by the privacy purge)."""
    return {
        "kind": REQUEST,
        "occurred_at": at,
        "occurred_on": at.astimezone(PARIS).date(),
        "need_id": request.need.id,
        "theme_id": request.need.theme_id,
        "body_kind_code": request.body.kind_code,
        "commune_insee": request.commune.insee,
        "desk_site_id": request.desk.id,
        "body_id": request.body.id,
        "from_status": from_status,
        "to_status": request.status,
        "elapsed_seconds": max(0, int((at - request.created_at).total_seconds())),
    }


def get_desk_visit(actor: User, event_id: int) -> ActivityEvent | None:
    """A visit of the actor's own desk; any other (or none) is None, told apart by nobody."""
    if actor.site_id is None:
        return None
    event = get_by_id(ActivityEvent, event_id)  # the id may come from the session
    if event is None or event.kind != VISIT or event.desk_site_id != actor.site_id:
        return None
    return event


def set_outcome(actor: User, event_id: int, outcome: str) -> ActivityEvent:
    """The receptionist's one-click outcome of a visit; it may be changed afterwards."""
    if outcome not in OUTCOMES:
        raise ActivityError("Issue de la visite inconnue : choisissez l'un des trois boutons.")
    event = get_desk_visit(actor, event_id)
    if event is None:
        raise LookupError("Visite introuvable.")
    if event.outcome != outcome:
        _add_counts(event.occurred_on, event.commune_insee, [outcome_key(event.outcome)], -1)
        _add_counts(event.occurred_on, event.commune_insee, [outcome_key(outcome)], 1)
        event.outcome = outcome
    db.session.commit()
    return event


# --- the counts the dashboard reads --------------------------------------------------------

DESK_KEY = "desk"


def channel_key(channel: str | None) -> str:
    return f"channel:{channel or '-'}"


def need_key(theme_id: int | None, need_id: int | None) -> str:
    return f"need:{'-' if theme_id is None else theme_id}:{'-' if need_id is None else need_id}"


def outcome_key(outcome: str | None) -> str:
    return f"outcome:{outcome or '-'}"


def commune_key(insee: str) -> str:
    return f"commune:{insee}"


def visit_keys(event: ActivityEvent) -> list[str]:
    return _keys(event.channel, event.theme_id, event.need_id, event.outcome, event.commune_insee)


def _keys(
    channel: str | None,
    theme_id: int | None,
    need_id: int | None,
    outcome: str | None,
    commune_insee: str,
) -> list[str]:
    keys = [channel_key(channel)]
    if channel == DESK:
        keys += [
            DESK_KEY,
            need_key(theme_id, need_id),
            outcome_key(outcome),
            commune_key(commune_insee),
        ]
    return keys


# --- the rows of a batch, each table in one statement (services/many_rows.py) ---------------


def _counts_many(dialect: str) -> Insert:
    """Add to the counts (created at their first event)."""
    table = ActivityCount.__table__
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert

        stmt = dialect_insert(table).from_select(
            _COUNT_COLUMNS, many_rows.unnest(table, _COUNT_COLUMNS)
        )
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert

        stmt = dialect_insert(table)
    return _adding_to_counts(stmt)


def _adding_to_counts(stmt):
    """An insert of counts that adds to those already there."""
    table = ActivityCount.__table__
    return stmt.on_conflict_do_update(
        index_elements=["area_code", "grain", "day", "key"],
        set_={"n": table.c.n + stmt.excluded.n},
    )


def _visits_and_counts(dialect: str) -> Insert:
    """PostgreSQL: a batch of anonymous visits and the counts they move, in one statement.
    Only the visits' columns are sent; PostgreSQL derives the counts (the same as
    `count_keys` gives for a public or API visit: its channel's key for the commune, its
    EPCI, its département and everywhere, by day and by month). Counting in Python, and
    sending the count rows, was most of a flush's CPU in the worker: on the national load
    base, 11 ms a batch of 500 visits before, 3.4 ms now; a flush holds the worker's GIL
    against the page it serves, and made the result page's slowest answers."""
    if dialect != "postgresql":
        raise ValueError("the visits and their counts in one statement need PostgreSQL")
    from sqlalchemy.dialects.postgresql import insert as dialect_insert

    visits = many_rows.unnest(_EVENTS, _VISIT_COLUMNS).cte("visits")
    written = (
        insert(_EVENTS)
        .from_select(["kind", *_VISIT_COLUMNS], select(literal(VISIT), *visits.c))
        .cte("written")
    )
    commune = Commune.__table__
    placed = (
        select(
            visits.c.occurred_on.label("day"),
            _channel_key_of(visits.c.channel).label("key"),
            commune.c.insee,
            commune.c.epci_code,
            commune.c.departement_code,
        )
        .select_from(visits.join(commune, commune.c.insee == visits.c.commune_insee))
        .cte("placed")
    )
    areas = union_all(
        select(placed.c.insee.label("area_code"), placed.c.day, placed.c.key),
        *(
            select(area, placed.c.day, placed.c.key).where(area.is_not(None))
            for area in (placed.c.epci_code, placed.c.departement_code)
        ),
        select(literal(ALL_AREAS), placed.c.day, placed.c.key),
    ).cte("areas")
    month = _month_of(areas.c.day)
    moved = union_all(
        select(areas.c.area_code, literal(DAY).label("grain"), areas.c.day, areas.c.key),
        select(areas.c.area_code, literal(MONTH), month, areas.c.key),
    ).subquery("moved")
    # Byte order, as upsert_counts's rows are sorted in Python: writers of the same counts
    # lock them in one order, and never deadlock.
    counts = (
        select(moved.c.area_code, moved.c.grain, moved.c.day, moved.c.key, func.count())
        .group_by(moved.c.area_code, moved.c.grain, moved.c.day, moved.c.key)
        .order_by(
            moved.c.area_code.collate("C"),
            moved.c.grain.collate("C"),
            moved.c.day,
            moved.c.key.collate("C"),
        )
    )
    return _adding_to_counts(
        dialect_insert(ActivityCount.__table__).from_select(_COUNT_COLUMNS, counts)
    ).add_cte(written)


# What varies between anonymous visits (their kind is VISIT, the rest stays NULL).
_VISIT_COLUMNS = [
    "occurred_at",
    "occurred_on",
    "channel",
    "need_id",
    "theme_id",
    "body_kind_code",
    "commune_insee",
    "found_via",
]
_COUNT_COLUMNS = ["area_code", "grain", "day", "key", "n"]


def _add_counts(
    day: date,
    commune_insee: str,
    keys: Iterable[str],
    delta: int,
    areas: tuple[str | None, str | None] | None = None,
) -> None:
    """Move the counts of one event; `areas` is the commune's (EPCI, département) when
    already known."""
    if areas is None:
        areas = db.session.execute(
            select(Commune.epci_code, Commune.departement_code).where(
                Commune.insee == commune_insee
            )
        ).one_or_none() or (None, None)
    upsert_counts(count_rows(day, commune_insee, keys, delta, areas))


def count_rows(
    day: date,
    commune_insee: str,
    keys: Iterable[str],
    delta: int,
    areas: tuple[str | None, str | None],
) -> list[dict[str, Any]]:
    """The count rows one event moves by `delta`, in a fixed order: two writers never
    deadlock."""
    return [
        {"area_code": area, "grain": grain, "day": start, "key": key, "n": delta}
        for area, grain, start, key in count_keys(day, commune_insee, keys, areas)
    ]


def count_keys(
    day: date, commune_insee: str, keys: Iterable[str], areas: tuple[str | None, str | None]
) -> list[tuple[str, str, date, str]]:
    """The counts one event moves: its commune, EPCI, département and everywhere; its day
    and its month; each of its keys (sorted)."""
    epci, departement = areas
    codes = sorted({a for a in (commune_insee, epci, departement, ALL_AREAS) if a})
    grains = ((DAY, day), (MONTH, day.replace(day=1)))
    keys = sorted(set(keys))
    return [(area, grain, start, key) for area in codes for grain, start in grains for key in keys]


def upsert_counts(rows: list[dict[str, Any]]) -> None:
    """Add each row's n to its count. The rows name distinct counts: on PostgreSQL they are
    one statement, which cannot update a row twice."""
    many_rows.write(_counts_many, _COUNT_COLUMNS, rows)


def _channel_key_of(column):
    """channel_key, in SQL."""
    return literal("channel:") + func.coalesce(column, "-")


def _month_of(column):
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.date_trunc(literal_column("'month'"), column), ActivityCount.day.type)
    return func.date(column, literal_column("'start of month'"))


def rebuild_counts() -> int:
    """Recompute every count from the events (after a bulk load, or to check the counts
    kept on write); returns the number of count rows. The caller commits."""
    db.session.execute(delete(ActivityCount))
    e = ActivityEvent
    columns = ["grain", "day", "area_code", "key", "n"]
    visits = e.kind == VISIT
    desk = visits & (e.channel == DESK)
    per_commune = [
        (literal(DESK_KEY), desk, []),
        (_channel_key_of(e.channel), visits, [e.channel]),
        (
            literal("need:")
            + func.coalesce(cast(e.theme_id, String), "-")
            + literal(":")
            + func.coalesce(cast(e.need_id, String), "-"),
            desk,
            [e.theme_id, e.need_id],
        ),
        (literal("outcome:") + func.coalesce(e.outcome, "-"), desk, [e.outcome]),
        (literal("commune:") + e.commune_insee, desk, []),
    ]
    # 1. Days of each commune, from the events.
    for key, where, group in per_commune:
        db.session.execute(
            insert(ActivityCount).from_select(
                columns,
                select(literal(DAY), e.occurred_on, e.commune_insee, key, func.count())
                .where(where)
                .group_by(e.occurred_on, e.commune_insee, *group),
            )
        )
    # 2. Days of each EPCI, département and everywhere, from the communes' days.
    c = ActivityCount
    for area in (Commune.epci_code, Commune.departement_code, None):
        select_area = literal(ALL_AREAS) if area is None else area
        stmt = (
            select(literal(DAY), c.day, select_area, c.key, func.sum(c.n))
            .join(Commune, Commune.insee == c.area_code)
            .where(c.grain == DAY)
            .group_by(c.day, c.key)
        )
        if area is not None:
            stmt = stmt.where(area.is_not(None)).group_by(area)
        db.session.execute(insert(ActivityCount).from_select(columns, stmt))
    # 3. Months, from the days.
    month = _month_of(c.day)
    db.session.execute(
        insert(ActivityCount).from_select(
            columns,
            select(literal(MONTH), month, c.area_code, c.key, func.sum(c.n))
            .where(c.grain == DAY)
            .group_by(month, c.area_code, c.key),
        )
    )
    return db.session.scalar(select(func.count()).select_from(ActivityCount)) or 0
