"""Search over the needs: the in-memory index per database, kept in step with the needs,
and the record of searches that found nothing."""

from __future__ import annotations

import re
import threading
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import Session, joinedload

from proxiservices.domain.catalogue import UNMAPPED_KIND
from proxiservices.domain.search import CATALOGUE_TIER, Document, Hit, SearchIndex, analyse
from proxiservices.extensions import db
from proxiservices.models import (
    BodyKind,
    CatalogueRevision,
    CatalogueTheme,
    Need,
    Theme,
    UnansweredSearch,
)
from proxiservices.models.tree import CATALOGUE
from proxiservices.services import answer_cache
from proxiservices.services.catalogue import theme_title, theme_trail, top_theme_title

UNANSWERED_DAYS = 90
AGGREGATE_MINIMUM = 5  # a query or word is shown to administrators from this count
MERGE_MINUTES = 10  # keystrokes of one search typed as you go count as one search


@dataclass(frozen=True)
class SearchResult:
    slug: str
    title: str
    theme: str | None
    body_kind: str
    body_label: str
    score: float
    hit: Hit

    @property
    def catalogue(self) -> bool:
        """A service-public.fr fiche rather than a need of the desk's tree."""
        return self.hit.document.tier == CATALOGUE_TIER


@dataclass
class _Cached:
    revision: str
    index: SearchIndex
    needs: dict[str, tuple[str | None, str, str]]  # slug -> (theme, body kind, its label)
    # The directory generation (services/answer_cache.py) at which `revision` was read.
    generation: int | None = None


_cache: dict[str, _Cached] = {}
_lock = threading.Lock()


# -- keeping the index in step with the needs -----------------------------------------


@event.listens_for(Session, "after_flush")
def _bump_revision_when_needs_change(session: Session, _context) -> None:
    touched = [
        o
        for o in (*session.new, *session.dirty, *session.deleted)
        if isinstance(o, Need | Theme | BodyKind | CatalogueTheme)
    ]
    if any(o in session.new or o in session.deleted or session.is_modified(o) for o in touched):
        connection = session.connection()
        token = uuid.uuid4().hex
        bumped = connection.execute(
            update(CatalogueRevision).where(CatalogueRevision.id == 1).values(token=token)
        )
        if bumped.rowcount == 0:
            connection.execute(CatalogueRevision.__table__.insert().values(id=1, token=token))


_REVISION = CatalogueRevision.__table__
_READ_REVISION = select(_REVISION.c.token).where(_REVISION.c.id == 1)


def current_revision() -> str:
    """Read on every search: straight on the session's connection, without the ORM's
    statement handling, which cost more than the query itself."""
    session = db.session
    if session.autoflush:
        session.flush()  # as any query of the session would: a pending edit of a need counts
    return session.connection().execute(_READ_REVISION).scalar() or ""


def _build(revision: str) -> _Cached:
    stmt = select(Need).options(joinedload(Need.theme), joinedload(Need.body_kind))
    needs = list(db.session.scalars(stmt.order_by(Need.slug)))
    themes = {t.id: t for t in db.session.scalars(select(CatalogueTheme))}
    documents = [
        Document(
            key=n.slug,
            title=n.title,
            theme=_theme_words(n, themes),
            body=f"{n.body_kind.short_label} {n.body_kind.label}",
            keywords=tuple(n.keywords or ()),
            situations=tuple(n.situations or ()),
            summary=n.summary or "",
            tier=CATALOGUE_TIER if n.origin == CATALOGUE else 0,
        )
        for n in needs
    ]
    info = {n.slug: (theme_title(n, themes), n.body_kind_code, _body_label(n)) for n in needs}
    return _Cached(revision, SearchIndex(documents), info)


def _theme_words(need: Need, themes: dict[int, CatalogueTheme]) -> str:
    if need.theme is not None:
        return need.theme.title
    return " ".join(t.title for t in theme_trail(need, themes))


def _body_label(need: Need) -> str:
    if need.origin == CATALOGUE and need.body_kind_code == UNMAPPED_KIND:
        return "organisme non répertorié (voir la fiche)"
    return need.body_kind.short_label


def search_index() -> _Cached:
    """The index for this database, rebuilt when another process or request changed a need.

    Every change of a need, theme or body kind also moves the directory generation, which
    a process reads at most once per DIRECTORY_CHECK_SECONDS: while it stays the same, a
    search runs no query. A new generation, or pending edits in this request's session,
    read the revision itself (one small query)."""
    key = str(db.engine.url)
    cached = _cache.get(key)
    session = db.session
    pending = bool(session.new or session.dirty or session.deleted)
    generation = None if pending else answer_cache.generation()
    if cached is not None and generation is not None and cached.generation == generation:
        return cached
    revision = current_revision()  # read after the generation: at least as new
    if cached is None or cached.revision != revision:
        with _lock:
            cached = _cache.get(key)
            if cached is None or cached.revision != revision:
                cached = _cache[key] = _build(revision)
    if generation is not None and cached.generation != generation:
        cached = _cache[key] = replace(cached, generation=generation)
    return cached


def warm_search_index() -> None:
    """Build the index before any search asks for it: gunicorn's master does it once
    before forking (gunicorn.conf.py), so no worker spends seconds on its first search."""
    search_index()


def search_needs(query: str, limit: int = 10, *, typing: bool = False) -> list[SearchResult]:
    """The needs that answer a free-text query, best first. `typing` treats the last word
    as unfinished (search as you type)."""
    cached = search_index()
    results = []
    for hit in cached.index.search(query, limit, partial_last=typing):
        theme, kind, label = cached.needs[hit.key]
        results.append(
            SearchResult(hit.key, hit.document.title, theme, kind, label, hit.score, hit)
        )
    return results


def spelling_suggestions(query: str) -> list[str]:
    return search_index().index.suggestions(query)


# -- the theme of a need, for each answer ----------------------------------------------


def need_theme_title(need: Need) -> str | None:
    """theme_title(need), without reading every catalogue theme for each answer: from the
    catalogue labels kept per directory generation (services/catalogue.py)."""
    if need.theme is not None:
        return need.theme.title
    if need.catalogue_theme_id is None:
        return None
    return top_theme_title(need.catalogue_theme_id)


# -- searches that found nothing ------------------------------------------------------

_EMAIL = re.compile(r"\S+@\S+")
_PHONE = re.compile(r"(?:\+|00)?\d(?:[\s.\-/]?\d){5,}")


def strip_personal(query: str) -> str:
    """What may be kept of a query: no e-mail address, phone number or other digit, in
    whatever Unicode form they were typed ("＠", "⁰⁶", "①"), and no control character."""
    text = unicodedata.normalize("NFKC", query)
    text = _EMAIL.sub(" ", text)
    text = _PHONE.sub(" ", text)
    text = "".join(" " if c.isnumeric() or unicodedata.category(c)[0] == "C" else c for c in text)
    return " ".join(text.split())[:200]


def record_unanswered(
    query: str,
    now: datetime,
    previous: tuple[int, str] | None = None,
    *,
    commune_insee: str | None = None,
):
    """Keep a search that found nothing; `previous` is the last one recorded for the same
    browser, which this one replaces when it is the same search typed further. Returns
    (id, folded) to remember for the next keystroke, or None when nothing was kept."""
    text = strip_personal(query)
    folded = " ".join(w.surface for w in analyse(text))[:200]
    if not folded:
        return None
    purge_unanswered(now)
    if previous is not None:
        row = db.session.get(UnansweredSearch, previous[0])
        same_search = folded.startswith(previous[1]) or previous[1].startswith(folded)
        if (
            row is not None
            and same_search
            and now - row.created_at < timedelta(minutes=MERGE_MINUTES)
        ):
            row.text, row.folded, row.created_at = text, folded, now
            row.commune_insee = commune_insee
            db.session.commit()
            return row.id, folded
    row = UnansweredSearch(text=text, folded=folded, created_at=now, commune_insee=commune_insee)
    db.session.add(row)
    db.session.commit()
    return row.id, folded


def purge_unanswered(now: datetime) -> int:
    cutoff = now - timedelta(days=UNANSWERED_DAYS)
    result = db.session.execute(
        delete(UnansweredSearch).where(UnansweredSearch.created_at < cutoff)
    )
    return result.rowcount or 0


@dataclass(frozen=True)
class UnansweredSummary:
    total: int
    queries: list[tuple[str, int]]  # folded query, times (only those seen often enough)
    words: list[tuple[str, int]]  # unknown word, times
    hidden: int  # searches not shown, each seen fewer than AGGREGATE_MINIMUM times


def unanswered_summary(now: datetime | None = None) -> UnansweredSummary:
    """Aggregates only: a query or word seen fewer than 5 times could identify someone."""
    now = now or datetime.now(UTC)
    purge_unanswered(now)
    db.session.commit()
    rows = list(db.session.scalars(select(UnansweredSearch.folded)))
    by_query = Counter(rows)
    index = search_index().index
    by_word: Counter[str] = Counter()
    for folded, times in by_query.items():
        for word in set(index.unknown_words(folded)):
            by_word[word] += times
    shown = [(q, n) for q, n in by_query.most_common() if n >= AGGREGATE_MINIMUM]
    return UnansweredSummary(
        total=len(rows),
        queries=shown,
        words=[(w, n) for w, n in by_word.most_common() if n >= AGGREGATE_MINIMUM],
        hidden=len(rows) - sum(n for _, n in shown),
    )
