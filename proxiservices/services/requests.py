"""Requests from a reception desk to a partner body: sending, answering, following.

Every change writes its history row and queues its e-mails in the same transaction, so a
request is never saved without its notifications, nor a notification sent for a change
that was rolled back."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from proxiservices.domain import lifecycle, roles
from proxiservices.extensions import db
from proxiservices.models import (
    AppointmentRequest,
    Body,
    Commune,
    Need,
    Referent,
    RequestEvent,
    Site,
    User,
)
from proxiservices.services import activity, notifications
from proxiservices.services.orientation import OrientationAnswer

SUBMIT = "submit"


class RequestError(ValueError):
    """A request that cannot be sent or changed; the message is shown to the user as is."""


class NotAllowed(RequestError):
    """The actor may not see or act on this request (shown as 404: ids are not confirmed)."""


@dataclass
class ResidentContact:
    name: str
    phone: str | None
    email: str | None
    channel: str
    time_slots: Sequence[str] = ()
    availability: str | None = None
    message: str | None = None


@dataclass
class ActionInput:
    comment: str | None = None
    scheduled_at: datetime | None = None
    mode: str | None = None
    place: str | None = None
    target_body: Body | None = None


@dataclass
class ReminderReport:
    reminded: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)


# --- who receives what -------------------------------------------------------------------


def _active_partners():
    return (User.role == roles.PARTNER, User.active.is_(True))


def _notified_referents():
    return (Referent.notify.is_(True), Referent.email.is_not(None))


def _receiving_body_ids(body_ids: Iterable[int]) -> set[int]:
    """Bodies that someone will read: an active partner account or a notified referent."""
    ids = set(body_ids)
    if not ids:
        return set()
    partners = select(User.body_id).where(User.body_id.in_(ids), *_active_partners())
    referents = select(Referent.body_id).where(Referent.body_id.in_(ids), *_notified_referents())
    return set(db.session.scalars(partners.union(referents)))


def body_receives_requests(body: Body) -> bool:
    return body.id in _receiving_body_ids([body.id])


def request_targets(answer: OrientationAnswer) -> list[Body]:
    """Bodies a request for this answer may go to, the competent one first: the bodies of
    the sites shown, national bodies of the kind, then the help desks (digital help)."""
    ordered: list[Body] = []
    for body in [
        *(s.body for s in answer.sites),
        *answer.bodies_without_site,
        *(s.body for s in answer.help_desks),
    ]:
        if body not in ordered:
            ordered.append(body)
    receiving = _receiving_body_ids(b.id for b in ordered)
    return [b for b in ordered if b.id in receiving]


def list_redirect_targets(current: Body) -> list[Body]:
    """Every other body that receives requests, for a partner who reorients one."""
    stmt = select(Body).options(joinedload(Body.kind)).order_by(Body.name)
    bodies = [b for b in db.session.scalars(stmt) if b.id != current.id]
    receiving = _receiving_body_ids(b.id for b in bodies)
    return [b for b in bodies if b.id in receiving]


def partner_addresses(body: Body) -> list[str]:
    """The body's notification addresses: its notified referents, else its partner agents."""
    referents = db.session.scalars(
        select(Referent.email).where(Referent.body_id == body.id, *_notified_referents())
    ).all()
    if referents:
        return list(referents)
    return list(
        db.session.scalars(select(User.email).where(User.body_id == body.id, *_active_partners()))
    )


def desk_addresses(request: AppointmentRequest) -> list[str]:
    """The sender and the other active receptionists of the same desk."""
    colleagues = db.session.scalars(
        select(User.email).where(
            User.site_id == request.desk_site_id,
            User.role == roles.RECEPTIONIST,
            User.active.is_(True),
        )
    ).all()
    sender = [request.sender.email] if request.sender.active else []
    return list(dict.fromkeys([*sender, *colleagues]))


# --- reading -------------------------------------------------------------------------------


def _request_query():
    return select(AppointmentRequest).options(
        joinedload(AppointmentRequest.need).joinedload(Need.theme),
        joinedload(AppointmentRequest.commune),
        joinedload(AppointmentRequest.body).joinedload(Body.kind),
        joinedload(AppointmentRequest.desk).joinedload(Site.commune),
        joinedload(AppointmentRequest.sender),
    )


def _is_partner_of(actor: User, request: AppointmentRequest) -> bool:
    return actor.role == roles.ADMIN or (
        actor.role == roles.PARTNER and actor.body_id == request.body_id
    )


def _is_desk_of(actor: User, request: AppointmentRequest) -> bool:
    return actor.role == roles.ADMIN or (
        actor.role == roles.RECEPTIONIST and actor.site_id == request.desk_site_id
    )


def _with_history(request_id: int) -> AppointmentRequest | None:
    stmt = (
        _request_query()
        .where(AppointmentRequest.id == request_id)
        .options(
            selectinload(AppointmentRequest.events)
            .joinedload(RequestEvent.actor)
            .options(joinedload(User.body), joinedload(User.site)),
            selectinload(AppointmentRequest.redirected_to).joinedload(AppointmentRequest.body),
            joinedload(AppointmentRequest.redirected_from).joinedload(AppointmentRequest.body),
            joinedload(AppointmentRequest.consent_by),
        )
    )
    return db.session.scalars(stmt).unique().one_or_none()


def get_request_for_partner(actor: User, request_id: int) -> AppointmentRequest:
    request = _with_history(request_id)
    if request is None or not _is_partner_of(actor, request):
        raise NotAllowed("Demande introuvable.")
    return request


def get_request_for_desk(actor: User, request_id: int) -> AppointmentRequest:
    request = _with_history(request_id)
    if request is None or not _is_desk_of(actor, request):
        raise NotAllowed("Demande introuvable.")
    return request


INBOX_FILTERS = {
    "ouvertes": lifecycle.OPEN,
    "nouvelles": lifecycle.UNANSWERED,
    **{status: (status,) for status in lifecycle.STATUS_LABELS},
    "toutes": tuple(lifecycle.STATUS_LABELS),
}


def _filtered(stmt, status_filter: str, min_age_days: int | None, at: datetime):
    statuses = INBOX_FILTERS.get(status_filter)
    if statuses is None:
        raise RequestError(f"Filtre de statut inconnu : « {status_filter[:30]} ».")
    stmt = stmt.where(AppointmentRequest.status.in_(statuses))
    if min_age_days:
        stmt = stmt.where(AppointmentRequest.created_at <= at - timedelta(days=min_age_days))
    return stmt


def list_inbox(
    actor: User, at: datetime, status_filter: str = "ouvertes", min_age_days: int | None = None
) -> list[AppointmentRequest]:
    """The partner body's requests (all bodies for an administrator), oldest first."""
    stmt = _filtered(_request_query(), status_filter, min_age_days, at)
    if actor.role != roles.ADMIN:
        stmt = stmt.where(AppointmentRequest.body_id == (actor.body_id or -1))
    return list(db.session.scalars(stmt.order_by(AppointmentRequest.created_at)))


def list_desk_requests(
    actor: User, at: datetime, status_filter: str = "toutes", min_age_days: int | None = None
) -> list[AppointmentRequest]:
    """The desk's sent requests (every desk for an administrator), newest first."""
    stmt = _filtered(_request_query(), status_filter, min_age_days, at)
    if actor.role != roles.ADMIN:
        stmt = stmt.where(AppointmentRequest.desk_site_id == (actor.site_id or -1))
    return list(db.session.scalars(stmt.order_by(AppointmentRequest.created_at.desc())))


def find_duplicates(need: Need, contact: ResidentContact, at: datetime) -> list[AppointmentRequest]:
    """Requests for the same need and the same resident in the last days (default 7)."""
    window = int(current_app.config["DUPLICATE_WINDOW_DAYS"])
    same = [func.lower(AppointmentRequest.resident_name) == contact.name.lower()]
    if contact.phone:
        same.append(AppointmentRequest.resident_phone == contact.phone)
    if contact.email:
        same.append(func.lower(AppointmentRequest.resident_email) == contact.email.lower())
    stmt = (
        _request_query()
        .where(
            AppointmentRequest.need_id == need.id,
            AppointmentRequest.created_at >= at - timedelta(days=window),
            AppointmentRequest.anonymised_at.is_(None),
        )
        .where(or_(*same))
    )
    return list(db.session.scalars(stmt))


# --- changing ------------------------------------------------------------------------------


def _record(
    request: AppointmentRequest,
    actor: User | None,
    action: str,
    from_status: str | None,
    at: datetime,
    comment: str | None,
) -> RequestEvent:
    event = RequestEvent(
        request=request,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=request.status,
        at=at,
        comment=comment or None,
    )
    db.session.add(event)
    activity.record_transition(request, from_status, at)
    return event


def _new_request(
    *,
    actor: User,
    need: Need,
    commune: Commune,
    body: Body,
    desk: Site,
    sender: User,
    contact: ResidentContact,
    consent_at: datetime,
    consent_by: User,
    at: datetime,
    comment: str | None = None,
    redirected_from: AppointmentRequest | None = None,
) -> AppointmentRequest:
    if not body_receives_requests(body):
        raise RequestError(
            f"{body.name} ne reçoit pas encore de demandes par Proxiservices "
            "(aucun agent partenaire inscrit) : donnez ses coordonnées à l'usager."
        )
    request = AppointmentRequest(
        need=need,
        commune=commune,
        body=body,
        desk=desk,
        sender=sender,
        resident_name=contact.name,
        resident_phone=contact.phone,
        resident_email=contact.email,
        preferred_channel=contact.channel,
        time_slots=",".join(contact.time_slots),
        availability=contact.availability or None,
        message=contact.message or None,
        consent_at=consent_at,
        consent_by=consent_by,
        status=lifecycle.SUBMITTED,
        created_at=at,
        status_changed_at=at,
        redirected_from=redirected_from,
    )
    db.session.add(request)
    db.session.flush()
    _record(request, actor, SUBMIT, None, at, comment)
    notifications.new_request(request, partner_addresses(body), at)
    return request


def submit_request(
    *,
    actor: User,
    need: Need,
    commune: Commune,
    body: Body,
    contact: ResidentContact,
    at: datetime,
) -> AppointmentRequest:
    """Save a resident's request for a partner, with the consent the receptionist recorded
    now, and queue the partner's e-mail; one commit."""
    if not roles.may(actor.role, roles.SEND_REQUESTS) or actor.site_id is None:
        raise NotAllowed(
            "Seul un agent d'accueil rattaché à un lieu d'accueil envoie des demandes."
        )
    if not need.request_possible:
        raise RequestError("Cette démarche ne prévoit pas de demande de mise en relation.")
    if not (contact.phone or contact.email):
        raise RequestError("Indiquez au moins un moyen de joindre l'usager.")
    # The answer's objects may be the shared read-only ones of directory_memory: the new
    # row names this session's own.
    need, commune, body = (
        db.session.get(Need, need.id),
        db.session.get(Commune, commune.insee),
        db.session.get(Body, body.id),
    )
    request = _new_request(
        actor=actor,
        need=need,
        commune=commune,
        body=body,
        desk=actor.site,
        sender=actor,
        contact=contact,
        consent_at=at,
        consent_by=actor,
        at=at,
    )
    db.session.commit()
    return request


def _check_actor(actor: User | None, request: AppointmentRequest, action: str) -> None:
    side = lifecycle.ACTORS[action]
    if side == lifecycle.SYSTEM:
        allowed = actor is None
    elif side == lifecycle.PARTNER:
        allowed = actor is not None and _is_partner_of(actor, request)
    else:
        allowed = actor is not None and _is_desk_of(actor, request)
    if not allowed:
        raise NotAllowed("Demande introuvable.")


def apply_action(
    request: AppointmentRequest,
    action: str,
    *,
    actor: User | None,
    at: datetime,
    details: ActionInput | None = None,
) -> AppointmentRequest:
    """Move a request through its lifecycle (the table in domain.lifecycle), with its
    history row and e-mails; the new request of a redirection is returned via
    `request.redirected_to`. Raises TransitionError or RequestError, French messages."""
    details = details or ActionInput()
    _check_actor(actor, request, action)
    new_status = lifecycle.next_status(request.status, action)
    comment = (details.comment or "").strip() or None
    if action in lifecycle.REASON_REQUIRED and not comment:
        raise RequestError(
            "Indiquez le motif : il est transmis à l'accueil qui a envoyé la demande."
        )
    if action == lifecycle.SCHEDULE:
        _check_schedule(details, at)
        request.scheduled_at = details.scheduled_at
        request.scheduled_mode = details.mode
        request.scheduled_place = (details.place or "").strip() or None
    created: AppointmentRequest | None = None
    if action == lifecycle.REDIRECT:
        target = details.target_body
        if target is None or target.id == request.body_id:
            raise RequestError("Choisissez l'organisme vers lequel réorienter la demande.")
        created = _new_request(
            actor=actor,
            need=request.need,
            commune=request.commune,
            body=target,
            desk=request.desk,
            sender=request.sender,
            contact=_contact_of(request),
            consent_at=request.consent_at,
            consent_by=request.consent_by,
            at=at,
            comment=f"Réorientée par {request.body.name} (demande {request.reference}) : {comment}",
            redirected_from=request,
        )
    if action in (lifecycle.REFUSE, lifecycle.CANCEL, lifecycle.REDIRECT):
        request.reason = comment
    from_status = request.status
    request.status = new_status
    request.status_changed_at = at
    event = _record(request, actor, action, from_status, at, comment)
    # The desk follows every change except the partner merely opening the request.
    if action != lifecycle.VIEW:
        notifications.status_changed(request, event, desk_addresses(request), at, created)
    if action in lifecycle.RESIDENT_TOLD and request.resident_email:
        notifications.resident_told(request, event, at, created)
    db.session.commit()
    return request


def _check_schedule(details: ActionInput, at: datetime) -> None:
    if details.scheduled_at is None:
        raise RequestError("Indiquez la date et l'heure du rendez-vous.")
    if details.scheduled_at <= at:
        raise RequestError("Le rendez-vous doit être fixé à une date à venir.")
    if details.mode not in lifecycle.SCHEDULE_MODES:
        raise RequestError(
            "Indiquez si le rendez-vous a lieu sur place, par téléphone ou en visio."
        )
    if details.mode == "site" and not (details.place or "").strip():
        raise RequestError("Indiquez le lieu du rendez-vous.")


def _contact_of(request: AppointmentRequest) -> ResidentContact:
    return ResidentContact(
        name=request.resident_name,
        phone=request.resident_phone,
        email=request.resident_email,
        channel=request.preferred_channel,
        time_slots=[s for s in request.time_slots.split(",") if s],
        availability=request.availability,
        message=request.message,
    )


def mark_viewed(request: AppointmentRequest, actor: User, at: datetime) -> None:
    """The partner opened a new request: the desk then sees it was read."""
    if request.status == lifecycle.SUBMITTED and actor.role == roles.PARTNER:
        apply_action(request, lifecycle.VIEW, actor=actor, at=at)


def send_reminders(at: datetime) -> ReminderReport:
    """Remind partners of unanswered requests (day 3, day 10) and expire the oldest; for cron."""
    days = lifecycle.parse_reminder_days(current_app.config["REQUEST_REMINDER_DAYS"])
    expiry_days = int(current_app.config["REQUEST_EXPIRY_DAYS"])
    report = ReminderReport()
    stmt = _request_query().where(AppointmentRequest.status.in_(lifecycle.UNANSWERED))
    for request in db.session.scalars(stmt.order_by(AppointmentRequest.id)).all():
        if lifecycle.expiry_due(request.created_at, at, expiry_days):
            apply_action(request, lifecycle.EXPIRE, actor=None, at=at)
            report.expired.append(request.id)
        elif lifecycle.reminder_due(request.created_at, at, request.reminders_sent, days):
            request.reminders_sent += 1
            request.last_reminder_at = at
            notifications.reminder(request, partner_addresses(request.body), at)
            db.session.commit()
            report.reminded.append(request.id)
    return report
