"""What search needs besides the needs: a revision stamp and the queries nobody answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from proxiservices.extensions import db
from proxiservices.models.types import UTCDateTime


class CatalogueRevision(db.Model):
    """One row, given a new random token whenever a need, theme or body kind changes, so
    that every worker process knows when to rebuild its in-memory search index (a counter
    would repeat itself after a database is recreated)."""

    __tablename__ = "catalogue_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32))


class UnansweredSearch(db.Model):
    """A search that found nothing, stripped of digits, e-mail addresses and phone numbers;
    kept 90 days for administrators to improve the vocabulary."""

    __tablename__ = "unanswered_search"

    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    # The folded words, to count the same query typed differently as one.
    folded: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The resident's commune when one was chosen: élus see their territory's searches.
    commune_insee: Mapped[str | None] = mapped_column(String(5))
