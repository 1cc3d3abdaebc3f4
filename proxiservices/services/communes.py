"""Finding the resident's commune by name or postcode."""

from __future__ import annotations

from sqlalchemy import case, func, or_, select

from proxiservices.domain.text import fold
from proxiservices.extensions import db
from proxiservices.models import Commune


def get_commune(insee: str) -> Commune | None:
    if not could_be_insee(insee):
        return None
    return db.session.get(Commune, insee)


def could_be_insee(code: str) -> bool:
    """Worth looking up: an INSEE code has 5 characters (a longer one is never read)."""
    return bool(code) and len(code) <= 5


_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "s": "sur", "ss": "sous"}


def _expand_abbreviations(folded: str) -> str:
    """People type "St-Dié" or "Ste Marguerite"; the official names spell them out."""
    return " ".join(_ABBREVIATIONS.get(word, word) for word in folded.split())


def search_communes(query: str, limit: int = 10) -> list[Commune]:
    """Communes whose postcode starts with the digits typed, or whose name matches:
    exact name first, then names starting with it, then names containing it."""
    q = query.strip()
    if not q:
        return []
    if q.isdigit():
        stmt = (
            select(Commune)
            .where(or_(Commune.postcodes.like(f"{q}%"), Commune.postcodes.like(f"% {q}%")))
            .order_by(Commune.name)
        )
        return list(db.session.scalars(stmt.limit(limit)))
    folded = _expand_abbreviations(fold(q))
    if not folded:
        return []
    rank = case(
        (Commune.folded_name == folded, 0),
        (Commune.folded_name.like(f"{folded}%"), 1),
        else_=2,
    )
    stmt = (
        select(Commune)
        .where(Commune.folded_name.like(f"%{folded}%"))
        .order_by(rank, func.length(Commune.name), Commune.name)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))
