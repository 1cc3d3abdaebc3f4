"""Rows kept in memory and written in batches by a thread of the process, rather than one
by one in the requests that produce them (issue 8): the anonymous visits of result pages
and of the API (services/activity.py).

Why: writing each visit (its event, its counts, a commit) was a fifth of the CPU of a
result page and three round trips to PostgreSQL, for statistics read by day.

How:
- `add()` keeps an item; a thread of the process (started on first use) hands the items
  to the buffer's `write` every `seconds`, or sooner once `rows` items wait. `write` runs
  in an application context and commits.
- A failed write (database down) keeps the items for the next attempt, up to `most`
  (beyond, the oldest are dropped and the drop is logged).
- A worker stopped normally (SIGTERM included: gunicorn's workers exit through Python)
  writes its buffers before it exits (atexit); only a killed process loses its last
  seconds of items.
- A forked process starts empty, with no thread and free locks.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from proxiservices.extensions import db

log = logging.getLogger(__name__)


@dataclass
class WriteBehind:
    app: Flask
    name: str  # what the items are, in French, for the logs
    write: Callable[[list[Any]], int]  # writes and commits; returns the rows written
    seconds: float
    rows: int
    most: int
    pending: list[Any] = field(default_factory=list)
    dropped: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _flushing: threading.Lock = field(default_factory=threading.Lock)
    _wake: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        _every.append(self)

    def add(self, item: Any) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name=f"proxiservices-{self.name}", daemon=True
                )
                self._thread.start()
            self.pending.append(item)
            self._trim()
            full = len(self.pending) >= self.rows
        if full:
            self._wake.set()

    def _trim(self) -> None:
        excess = len(self.pending) - self.most
        if excess > 0:
            self.dropped += excess
            del self.pending[:excess]

    def _run(self) -> None:
        while True:
            self._wake.wait(self.seconds)
            self._wake.clear()
            self.flush()

    def flush(self) -> int:
        """Write what is kept; returns the rows written (0 on failure: the items stay for
        the next attempt)."""
        with self._flushing:
            with self._lock:
                batch, self.pending = self.pending, []
                dropped, self.dropped = self.dropped, 0
            if dropped:
                log.warning(
                    "%s : %d perdues (base indisponible trop longtemps)", self.name, dropped
                )
            if not batch:
                return 0
            try:
                with self.app.app_context():
                    try:
                        return self.write(batch)
                    finally:
                        db.session.remove()
            except SQLAlchemyError as error:
                log.warning(
                    "%s : %d gardées pour plus tard, écriture impossible (%s)",
                    self.name,
                    len(batch),
                    type(error).__name__,
                )
                with self._lock:
                    self.pending[:0] = batch
                    self._trim()
                return 0

    def _after_fork(self) -> None:
        # The parent's items are its own to write; its locks may have been held by one of
        # its threads at the moment of the fork.
        self.pending, self.dropped, self._thread = [], 0, None
        self._lock, self._flushing = threading.Lock(), threading.Lock()
        self._wake = threading.Event()


_every: list[WriteBehind] = []


def flush_all() -> int:
    """Write every buffer of this process (a worker about to exit)."""
    return sum(buffer.flush() for buffer in _every)


def _after_fork() -> None:
    for buffer in _every:
        buffer._after_fork()


os.register_at_fork(after_in_child=_after_fork)
atexit.register(flush_all)
