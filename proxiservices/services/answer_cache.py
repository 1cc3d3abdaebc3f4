"""A per-process cache of what an orientation answer reads from the directory, valid until
the directory generation moves.

Any flush that inserts, changes or deletes a directory or tree row (bodies, sites,
coverage, closures, permanences, alerts, ateliers, communes, themes, questions, answers,
needs...) moves the generation in the same transaction, whichever service made it: so a
rolled-back edit moves nothing, and a committed one invalidates every cached entry.

Each process reads the generation at most once every DIRECTORY_CHECK_SECONDS (1 s), except
right after it committed a directory change itself: it then reads it again on the next
answer. Another worker may therefore show an edit up to that long late; the worker that
made it (the one that serves the editor's next page) shows it at once. Writes made outside
a Session (a raw Connection) must call bump() themselves.

The entries here are plain immutable values (ids, distances). The directory's rows
themselves are held by services/directory_memory.py, one snapshot per generation kept in
this module's per-database slot (`memory_slot()`), as detached read-only objects.
"""

from __future__ import annotations

import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from flask import current_app
from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session

from proxiservices.extensions import db
from proxiservices.models import (
    Alert,
    Answer,
    Atelier,
    Body,
    BodyKind,
    CatalogueTheme,
    Closure,
    Commune,
    Need,
    Permanence,
    Question,
    Site,
    SiteCoverage,
    Territory,
    Theme,
)
from proxiservices.models.cache import DirectoryGeneration

# The rows an orientation answer (or its page) is computed from.
WATCHED = (
    Alert,
    Answer,
    Atelier,
    Body,
    BodyKind,
    CatalogueTheme,
    Closure,
    Commune,
    Need,
    Permanence,
    Question,
    Site,
    SiteCoverage,
    Territory,
    Theme,
)
WATCHED_TABLES = frozenset(model.__table__.name for model in WATCHED)
MAX_ENTRIES = 4096
_TABLE = DirectoryGeneration.__table__

# Moved by every commit of this process that changed the directory: forces a fresh read.
_own_commits = 0
_lock = threading.Lock()


class _State:
    def __init__(self) -> None:
        self.entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.generation: int | None = None
        self.read_at = -1e9
        self.read_after = -1
        self.hits = self.misses = 0
        # The directory_memory.Snapshot of this database, replaced when the generation moves.
        self.snapshot: Any = None


_states: dict[str, _State] = {}


def _state() -> _State:
    """One cache per database (tests run several apps in one process). Found by engine
    first: rendering the URL was a few percent of a result page (four lookups each)."""
    engine = db.engine
    state = _by_engine.get(engine)
    if state is None:
        url = engine.url.render_as_string(hide_password=True)
        state = _states.get(url)
        if state is None:
            state = _states.setdefault(url, _State())
        _by_engine[engine] = state
    return state


_by_engine: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def generation() -> int | None:
    """The directory generation this request may use; None when the database has none
    (then nothing is cached)."""
    # Asked only of a session this context already has: making one just to ask (most
    # public pages need none) cost a result page a few percent, at its start and teardown.
    if db.session.registry.has() and db.session.info.get("directory_changed"):
        # This transaction moved the generation without committing yet: what it reads must
        # not be kept, and its uncommitted number must not become the process's (a rollback
        # would let a later commit reuse it for other data).
        return None
    state = _state()
    clock = time.monotonic()
    period = float(current_app.config["DIRECTORY_CHECK_SECONDS"])
    if state.read_after != _own_commits or clock - state.read_at >= period:
        own = _own_commits
        state.generation = db.session.scalar(select(_TABLE.c.value).where(_TABLE.c.id == 1))
        state.read_at, state.read_after = clock, own
    return state.generation


def get(key: Hashable) -> tuple[int | None, Any | None]:
    """(the generation read, the value cached for `key` at it or None). Pass that
    generation back to put(): data read after it is at least as new."""
    current = generation()
    if current is None:
        return None, None
    state = _state()
    with _lock:
        value = state.entries.get((current, key))
        if value is None:
            state.misses += 1
        else:
            state.entries.move_to_end((current, key))
            state.hits += 1
    return current, value


def put(current: int | None, key: Hashable, value: Any) -> None:
    """Keep `value` (immutable) for `key` at the generation `current` returned by get()."""
    if current is None:
        return
    state = _state()
    with _lock:
        state.entries[(current, key)] = value
        state.entries.move_to_end((current, key))
        while len(state.entries) > MAX_ENTRIES:
            state.entries.popitem(last=False)


def memory_slot() -> _State:
    """Where directory_memory keeps its snapshot: per database, cleared with the rest."""
    return _state()


def stats() -> dict[str, int]:
    state = _state()
    return {"entries": len(state.entries), "hits": state.hits, "misses": state.misses}


def clear() -> None:
    """Forget every entry of this database (tests)."""
    state = _state()
    with _lock:
        state.entries.clear()
        state.snapshot = None
        state.read_at = -1e9


def bump(connection) -> None:
    """Move the generation in the transaction of `connection`."""
    moved = connection.execute(
        update(_TABLE).where(_TABLE.c.id == 1).values(value=_TABLE.c.value + 1)
    )
    if moved.rowcount == 0:
        connection.execute(insert(_TABLE).values(id=1, value=secrets.randbits(52)))


def _watched(objects) -> bool:
    return any(isinstance(o, WATCHED) for o in objects)


@event.listens_for(Session, "after_flush")
def _after_flush(session, flush_context) -> None:
    """Any directory row written by this flush moves the generation, in its transaction."""
    changed = _watched(session.new) or _watched(session.deleted)
    if not changed:
        changed = any(
            isinstance(o, WATCHED) and session.is_modified(o, include_collections=False)
            for o in session.dirty
        )
    if changed:
        bump(session.connection())
        session.info["directory_changed"] = True


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state) -> None:
    """UPDATE / DELETE / INSERT statements on directory tables (bulk edits) move it too."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if table is not None and getattr(table, "name", None) in WATCHED_TABLES:
        bump(state.session.connection())
        state.session.info["directory_changed"] = True


@event.listens_for(Session, "after_rollback")
def _after_rollback(session) -> None:
    """The edits went with the transaction: the session reads the caches again."""
    session.info.pop("directory_changed", None)


@event.listens_for(Session, "after_commit")
def _after_commit(session) -> None:
    global _own_commits
    if session.info.pop("directory_changed", False):
        _own_commits += 1
