"""Recording the anonymous activity events: orientation results shown, request transitions,
and the outcome a receptionist gives to a visit. One INSERT each, never a name or free text."""

from __future__ import annotations

from datetime import datetime

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import AppointmentRequest, Need, User
from proxiservices.models.activity import (
    API,
    DESK,
    PUBLIC,
    REQUEST,
    SEARCH,
    TREE,
    VISIT,
    ActivityEvent,
)

CHANNELS = (DESK, PUBLIC, API)
FOUND_VIA = (TREE, SEARCH)
OUTCOMES = {
    "oriented": "Orienté",
    "accompanied": "Accompagné dans la démarche",
    "autonomous": "Autonome",
}


class ActivityError(ValueError):
    """An outcome that cannot be set; the message is shown as is."""


def record_visit(
    need: Need,
    commune_insee: str,
    channel: str,
    at: datetime,
    *,
    desk_site_id: int | None = None,
    found_via: str = TREE,
    commit: bool = True,
) -> ActivityEvent:
    """Count one orientation result shown. With commit=False the row is only flushed (its
    id known), for a page that commits once it is rendered: committing earlier would
    expire the objects the page is about to show."""
    if channel not in CHANNELS or found_via not in FOUND_VIA:
        raise ValueError(f"unknown channel or way: {channel}, {found_via}")
    event = ActivityEvent(
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
    )
    db.session.add(event)
    if commit:
        db.session.commit()
    else:
        db.session.flush()
    return event


def record_transition(request: AppointmentRequest, from_status: str | None, at: datetime) -> None:
    """Add the anonymous twin of a request's history row, in the same transaction: body,
    need, commune, statuses and the time since the request was sent; nothing else."""
    db.session.add(
        ActivityEvent(
            kind=REQUEST,
            occurred_at=at,
            occurred_on=at.astimezone(PARIS).date(),
            need_id=request.need.id,
            theme_id=request.need.theme_id,
            body_kind_code=request.body.kind_code,
            commune_insee=request.commune.insee,
            desk_site_id=request.desk.id,
            body_id=request.body.id,
            from_status=from_status,
            to_status=request.status,
            elapsed_seconds=max(0, int((at - request.created_at).total_seconds())),
        )
    )


def get_desk_visit(actor: User, event_id: int) -> ActivityEvent | None:
    """A visit of the actor's own desk; any other (or none) is None, told apart by nobody."""
    if actor.site_id is None or not 0 < event_id < 2**31:
        return None
    event = db.session.get(ActivityEvent, event_id)
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
    event.outcome = outcome
    db.session.commit()
    return event
