"""The staff "who's who": named contacts in partner bodies, never shown to the public."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import contains_eager

from proxiservices.extensions import db
from proxiservices.models import Body, BodyKind, Referent


@dataclass
class PartnerContacts:
    body: Body
    referents: list[Referent] = field(default_factory=list)


@dataclass
class PartnerDirectory:
    partners: list[PartnerContacts]
    # Every kind that has referents, for the filter, whichever kind is shown.
    kinds: list[BodyKind]


def list_partner_directory(kind_code: str | None = None) -> PartnerDirectory:
    """Bodies that have referents, in body-kind order, each with its referents: one query."""
    stmt = (
        select(Referent)
        .join(Referent.body)
        .join(Body.kind)
        .options(contains_eager(Referent.body).contains_eager(Body.kind))
        .order_by(BodyKind.position, Body.name, Referent.position, Referent.name)
    )
    partners: dict[int, PartnerContacts] = {}
    kinds: dict[str, BodyKind] = {}
    for referent in db.session.scalars(stmt):
        body = referent.body
        kinds.setdefault(body.kind_code, body.kind)
        if kind_code and body.kind_code != kind_code:
            continue
        partners.setdefault(body.id, PartnerContacts(body)).referents.append(referent)
    return PartnerDirectory(list(partners.values()), list(kinds.values()))
