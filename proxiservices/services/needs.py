"""Needs: lookup by slug and plain matching on titles and keywords."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from proxiservices.domain.matching import score_need
from proxiservices.extensions import db
from proxiservices.models import Need


@dataclass(frozen=True)
class NeedMatch:
    need: Need
    score: float


def get_need(slug: str) -> Need | None:
    stmt = (
        select(Need)
        .where(Need.slug == slug)
        .options(joinedload(Need.theme), joinedload(Need.body_kind))
    )
    return db.session.scalars(stmt).one_or_none()


def list_needs() -> list[Need]:
    stmt = select(Need).options(joinedload(Need.theme), joinedload(Need.body_kind))
    return list(db.session.scalars(stmt.order_by(Need.title)))


def search_needs(query: str, limit: int = 10) -> list[NeedMatch]:
    """Needs ranked by how many of the query's words their title and keywords hold."""
    matches = []
    for need in list_needs():
        score = score_need(query, need.title, need.keywords)
        if score > 0:
            matches.append(NeedMatch(need, score))
    matches.sort(key=lambda m: (-m.score, m.need.title))
    return matches[:limit]
