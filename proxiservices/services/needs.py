"""Needs: lookup by slug and listing (search lives in proxiservices.services.search)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from proxiservices.extensions import db
from proxiservices.models import Need


def get_need(slug: str) -> Need | None:
    stmt = (
        select(Need)
        .where(Need.slug == slug)
        .options(joinedload(Need.theme), joinedload(Need.body_kind))
    )
    return db.session.scalars(stmt).one_or_none()
