"""The resident's personal data: anonymised once the retention period after a request ends,
or after the last activity of a request left open, has passed (`flask purge`), and, on the
resident's demand, exported or erased at once by an administrator (rights of access and
erasure).

Anonymising keeps the request row (status, body, need, commune, desk, dates) and its
history (actions, statuses, times): the dashboard reads only the anonymous activity events
and these columns, so its figures do not move. What goes: the resident's name, phone,
e-mail, availability and message; the free texts staff wrote about the request (reasons,
comments, the appointment place), which may name or describe the resident; and the e-mails
about the request: bodies and recipients of those sent, the unsent ones deleted (they
would now carry erased data, or nothing)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app
from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from proxiservices.domain import lifecycle, retention
from proxiservices.domain.hours import PARIS
from proxiservices.domain.residents import CHANNELS, TIME_SLOTS, normalise_email, normalise_phone
from proxiservices.domain.roles import ROLE_LABELS
from proxiservices.extensions import db
from proxiservices.models import (
    ActivityEvent,
    AppointmentRequest,
    ErrorReport,
    OutboxAttempt,
    OutboxMessage,
    RequestEvent,
    User,
)
from proxiservices.services import activity, audit, notifications
from proxiservices.services.requests import desk_addresses

BATCH_SIZE = 500
UNSENT = ("pending", "failed")
# The history line and the reason of an open request cancelled by an erasure.
ERASURE_REASON = "Données personnelles effacées à la demande de l'usager."
IDLE_REASON = (
    "Sans aucune activité depuis {retention} : demande close et données personnelles "
    "anonymisées (durée de conservation)."
)


class PrivacyError(ValueError):
    """A lookup that cannot be made; the message is shown as is."""


def retention_months() -> int:
    return retention.parse_months(current_app.config["RETENTION_MONTHS"])


# --- anonymising -------------------------------------------------------------------------


@dataclass
class Scrubbed:
    requests: int = 0
    mails_scrubbed: int = 0
    mails_deleted: int = 0


def _erased_if_set(column):
    return case((column.is_(None), None), else_=retention.ERASED_TEXT)


def anonymise(request_ids: Sequence[int], at: datetime) -> Scrubbed:
    """Anonymise these requests, their history's free texts and their e-mails, in the
    current transaction (the caller commits). Already anonymised requests are left as
    they are, so running it twice changes nothing more."""
    ids = list(
        db.session.scalars(
            select(AppointmentRequest.id).where(
                AppointmentRequest.id.in_(list(request_ids)),
                AppointmentRequest.anonymised_at.is_(None),
            )
        )
    )
    if not ids:
        return Scrubbed()
    quiet = {"synchronize_session": False}
    db.session.execute(
        update(AppointmentRequest)
        .where(AppointmentRequest.id.in_(ids))
        .values(
            resident_name=retention.ANONYMOUS_NAME,
            resident_phone=None,
            resident_email=None,
            availability=None,
            message=None,
            reason=_erased_if_set(AppointmentRequest.reason),
            scheduled_place=_erased_if_set(AppointmentRequest.scheduled_place),
            anonymised_at=at,
        )
        .execution_options(**quiet)
    )
    db.session.execute(
        update(RequestEvent)
        .where(RequestEvent.request_id.in_(ids), RequestEvent.comment.is_not(None))
        .values(comment=retention.ERASED_TEXT)
        .execution_options(**quiet)
    )
    unsent = list(
        db.session.scalars(
            select(OutboxMessage.id).where(
                OutboxMessage.request_id.in_(ids), OutboxMessage.status.in_(UNSENT)
            )
        )
    )
    if unsent:
        db.session.execute(
            delete(OutboxAttempt)
            .where(OutboxAttempt.message_id.in_(unsent))
            .execution_options(**quiet)
        )
        db.session.execute(
            delete(OutboxMessage).where(OutboxMessage.id.in_(unsent)).execution_options(**quiet)
        )
    kept = select(OutboxMessage.id).where(OutboxMessage.request_id.in_(ids))
    # An SMTP error may quote the address it refused.
    db.session.execute(
        update(OutboxAttempt)
        .where(OutboxAttempt.message_id.in_(kept), OutboxAttempt.error.is_not(None))
        .values(error=retention.ERASED_TEXT)
        .execution_options(**quiet)
    )
    scrubbed = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.request_id.in_(ids))
        .values(
            body=retention.ERASED_MAIL,
            recipients="",
            last_error=_erased_if_set(OutboxMessage.last_error),
        )
        .execution_options(**quiet)
    ).rowcount
    # The objects already loaded must not show (or write back) the erased values.
    db.session.expire_all()
    return Scrubbed(requests=len(ids), mails_scrubbed=scrubbed, mails_deleted=len(unsent))


# --- the purge -----------------------------------------------------------------------------


@dataclass
class PurgeReport:
    months: int
    cutoff: datetime
    dry_run: bool
    due: int = 0
    due_open: int = 0  # of which requests still open, without activity for the period
    anonymised: int = 0
    anonymised_open: int = 0
    mails_scrubbed: int = 0
    mails_deleted: int = 0
    batches: int = 0


def _due(cutoff: datetime):
    """retention.purge_due in SQL: not anonymised, and ended at or before the cutoff, or open
    with no activity since. Both kinds changed status at or before the cutoff, the range the
    partial index reads; the open requests' appointment and history are checked on those
    few rows only (an open request's every action moves its status_changed_at)."""
    later_event = (
        select(RequestEvent.id)
        .where(RequestEvent.request_id == AppointmentRequest.id, RequestEvent.at > cutoff)
        .exists()
    )
    idle = and_(
        AppointmentRequest.status.in_(lifecycle.OPEN),
        or_(AppointmentRequest.scheduled_at.is_(None), AppointmentRequest.scheduled_at <= cutoff),
        ~later_event,
    )
    return (
        AppointmentRequest.anonymised_at.is_(None),
        AppointmentRequest.status_changed_at <= cutoff,
        or_(AppointmentRequest.status.in_(retention.ENDED), idle),
    )


def _expire_idle(request_ids: list[int], at: datetime, months: int) -> None:
    """Close the open requests the purge has just anonymised: with no name and no contact
    left, nobody can answer them, and whatever staff typed into them afterwards (a place,
    a reason, a comment) would never be erased. Expired by the application, as the daily
    job expires unanswered ones, with an impersonal history line and its anonymous twin
    for the statistics; nobody is e-mailed (there is no one left to tell, and the desk sees
    the status in its list). A fixed number of statements, whatever the batch's size."""
    if not request_ids:
        return
    comment = IDLE_REASON.format(retention=retention.months_label(months))
    requests = db.session.scalars(
        select(AppointmentRequest)
        .where(AppointmentRequest.id.in_(request_ids))
        .options(
            joinedload(AppointmentRequest.need),
            joinedload(AppointmentRequest.body),
            joinedload(AppointmentRequest.commune),
            joinedload(AppointmentRequest.desk),
        )
    ).all()
    history, twins = [], []
    for request in requests:
        from_status = request.status
        request.status = lifecycle.next_status(from_status, lifecycle.EXPIRE)
        request.status_changed_at = at
        history.append(
            {
                "request_id": request.id,
                "actor_id": None,
                "action": lifecycle.EXPIRE,
                "from_status": from_status,
                "to_status": request.status,
                "at": at,
                "comment": comment,
            }
        )
        twins.append(activity.transition_values(request, from_status, at))
    db.session.flush()
    # Tables, not entities: the ORM would insert the rows one by one to read their ids.
    db.session.execute(insert(RequestEvent.__table__), history)
    db.session.execute(insert(ActivityEvent.__table__), twins)


def _is_open():
    return case((AppointmentRequest.status.in_(lifecycle.OPEN), 1))


def purge(at: datetime, *, dry_run: bool = False, batch_size: int = BATCH_SIZE) -> PurgeReport:
    """Anonymise every request that ended, or was left open without any activity, at least
    the retention period before `at`, one committed batch at a time (a long purge holds no
    lock for long and an interrupted one resumes where it stopped); an open one is expired
    as well (_expire_idle). Records one audit entry."""
    months = retention_months()
    cutoff = retention.cutoff(at, months)
    report = PurgeReport(months=months, cutoff=cutoff, dry_run=dry_run)
    report.due, report.due_open = db.session.execute(
        select(func.count(AppointmentRequest.id), func.count(_is_open())).where(*_due(cutoff))
    ).one()
    if dry_run or not report.due:
        db.session.rollback()
        return report
    while True:
        rows = db.session.execute(
            select(AppointmentRequest.id, AppointmentRequest.status)
            .where(*_due(cutoff))
            # The partial index's order: only requests not anonymised yet are read.
            .order_by(AppointmentRequest.status_changed_at, AppointmentRequest.id)
            .limit(batch_size)
        ).all()
        if not rows:
            break
        done = anonymise([row.id for row in rows], at)
        idle = [row.id for row in rows if lifecycle.is_open(row.status)]
        _expire_idle(idle, at, months)
        report.anonymised += done.requests
        report.anonymised_open += len(idle)
        report.mails_scrubbed += done.mails_scrubbed
        report.mails_deleted += done.mails_deleted
        report.batches += 1
        db.session.commit()
    counts = {
        "demandes anonymisées": report.anonymised,
        "dont demandes en cours sans activité": report.anonymised_open,
        "courriels effacés": report.mails_scrubbed,
        "courriels non envoyés supprimés": report.mails_deleted,
    }
    audit.record(
        None,
        "purge",
        at.astimezone(PARIS).date().isoformat(),
        f"Durée de conservation : {retention.months_label(months)} après la fin de la demande, "
        "ou après la dernière activité d'une demande restée en cours (alors close : expirée)",
        audit.ERASE,
        before=dict.fromkeys(counts, 0),
        after=counts,
        at=at,
    )
    db.session.commit()
    return report


# --- rights of access and erasure ------------------------------------------------------------


@dataclass(frozen=True)
class Resident:
    """How the resident is found: an e-mail address and/or a phone number, normalised."""

    email: str | None
    phone: str | None


def parse_resident(email_text: str | None, phone_text: str | None) -> Resident:
    """The lookup keys as typed by an administrator; PrivacyError with a French message."""
    email_text, phone_text = (email_text or "").strip(), (phone_text or "").strip()
    if not email_text and not phone_text:
        raise PrivacyError("Indiquez l'adresse e-mail ou le numéro de téléphone de l'usager.")
    email = normalise_email(email_text) if email_text else None
    if email_text and email is None:
        raise PrivacyError("Adresse e-mail non reconnue, par exemple prenom.nom@exemple.fr.")
    phone = normalise_phone(phone_text) if phone_text else None
    if phone_text and phone is None:
        raise PrivacyError(
            "Numéro de téléphone non reconnu : 10 chiffres attendus, par exemple 06 12 34 56 78."
        )
    return Resident(email=email, phone=phone)


def find_requests(resident: Resident) -> list[AppointmentRequest]:
    """The requests that still hold this e-mail (any case) or this phone, oldest first.
    Anonymised requests hold neither and are not found: nothing is left of the resident."""
    same = []
    if resident.email:
        same.append(func.lower(AppointmentRequest.resident_email) == resident.email.lower())
    if resident.phone:
        same.append(AppointmentRequest.resident_phone == resident.phone)
    if not same:
        return []
    stmt = (
        select(AppointmentRequest)
        .where(or_(*same))
        .options(
            joinedload(AppointmentRequest.need),
            joinedload(AppointmentRequest.commune),
            joinedload(AppointmentRequest.body),
            joinedload(AppointmentRequest.desk),
            joinedload(AppointmentRequest.redirected_from),
            selectinload(AppointmentRequest.redirected_to),
            selectinload(AppointmentRequest.events)
            .joinedload(RequestEvent.actor)
            .options(joinedload(User.body), joinedload(User.site)),
        )
        .order_by(AppointmentRequest.created_at, AppointmentRequest.id)
    )
    return list(db.session.scalars(stmt).unique())


def find_reports(resident: Resident) -> list[ErrorReport]:
    """The error reports ("signaler une erreur") that left this e-mail to be answered."""
    if not resident.email:
        return []
    stmt = (
        select(ErrorReport)
        .where(func.lower(ErrorReport.contact) == resident.email.lower())
        .options(joinedload(ErrorReport.site))
        .order_by(ErrorReport.created_at, ErrorReport.id)
    )
    return list(db.session.scalars(stmt))


def _report_data(report: ErrorReport) -> dict:
    return {
        "date": _when(report.created_at),
        "lieu": report.site.name,
        "sujet": report.topic,
        "message": report.message,
        "adresse_de_reponse": report.contact,
        "statut": report.status,
    }


def _messages_of(request_ids: list[int]) -> dict[int, list[OutboxMessage]]:
    found: dict[int, list[OutboxMessage]] = {rid: [] for rid in request_ids}
    if not request_ids:
        return found
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.request_id.in_(request_ids))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
    )
    for message in db.session.scalars(stmt):
        found[message.request_id].append(message)
    return found


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(PARIS).isoformat()


def _actor(event: RequestEvent, request: AppointmentRequest) -> str:
    """Who acted, as the resident may know it: the organisation, not the agent's account."""
    actor = event.actor
    if actor is None:
        return "Proxiservices (automatique)"
    if actor.body is not None:
        return actor.body.name
    if actor.site is not None:
        return f"Accueil de {actor.site.name}"
    return f"{ROLE_LABELS.get(actor.role, actor.role).capitalize()} de Proxiservices"


# Who an e-mail of each kind went to (staff addresses are the staff's own data).
MAIL_AUDIENCE = {
    "new_request": "l'organisme partenaire",
    "reminder": "l'organisme partenaire",
    "status_changed": "l'accueil qui a envoyé la demande",
    "resident": "l'usager",
}


def planned_anonymisation(request: AppointmentRequest, months: int) -> datetime:
    """When the purge will anonymise this request (an open one: if nothing happens to it
    until then); reads its history, which find_requests loads with it."""
    return retention.purge_date(
        request.status,
        request.status_changed_at,
        months,
        last_event_at=max((event.at for event in request.events), default=None),
        scheduled_at=request.scheduled_at,
    )


def _request_data(request: AppointmentRequest, messages: list[OutboxMessage]) -> dict:
    months = retention_months()
    ended_at = request.status_changed_at if retention.has_ended(request.status) else None
    return {
        "reference": request.reference,
        "envoyee_le": _when(request.created_at),
        "demarche": request.need.title,
        "commune": f"{request.commune.name} ({request.commune.insee})",
        "organisme": request.body.name,
        "lieu_d_accueil": request.desk.name,
        "statut": lifecycle.STATUS_LABELS.get(request.status, request.status),
        "terminee_le": _when(ended_at),
        "anonymisation_prevue_le": _when(planned_anonymisation(request, months)),
        "usager": {
            "nom": request.resident_name,
            "telephone": request.resident_phone,
            "email": request.resident_email,
            "recontact_prefere": CHANNELS.get(request.preferred_channel, request.preferred_channel),
            "moments_joignable": [
                TIME_SLOTS.get(slot, slot) for slot in request.time_slots.split(",") if slot
            ],
            "disponibilites": request.availability,
            "message": request.message,
        },
        "accord_recueilli_le": _when(request.consent_at),
        "rendez_vous": None
        if request.scheduled_at is None
        else {
            "le": _when(request.scheduled_at),
            "mode": lifecycle.SCHEDULE_MODES.get(request.scheduled_mode or "", None),
            "lieu": request.scheduled_place,
        },
        "motif": request.reason,
        "reorientee_depuis": request.redirected_from.reference if request.redirected_from else None,
        "reorientee_vers": [r.reference for r in request.redirected_to],
        "historique": [
            {
                "le": _when(event.at),
                "action": lifecycle.ACTION_LABELS.get(event.action, "Demande envoyée"),
                "statut": lifecycle.STATUS_LABELS.get(event.to_status, event.to_status),
                "par": _actor(event, request),
                "commentaire": event.comment,
            }
            for event in request.events
        ],
        "courriels": [
            {
                "le": _when(message.created_at),
                "a": MAIL_AUDIENCE.get(message.kind, message.kind),
                "adresse": message.recipients if message.kind == "resident" else None,
                "objet": message.subject,
                "texte": message.body,
                "etat": message.status,
                "envoye_le": _when(message.sent_at),
            }
            for message in messages
        ],
    }


def export_resident(actor: User, resident: Resident, at: datetime) -> dict:
    """Everything held about the resident, as a JSON-ready dict (right of access); the
    export itself is audited, without the data. Commits the audit entry."""
    found = find_requests(resident)
    reports = find_reports(resident)
    messages = _messages_of([r.id for r in found])
    data = {
        "export_le": _when(at),
        "responsable_du_traitement": current_app.config.get("DATA_CONTROLLER") or None,
        "recherche": {"email": resident.email, "telephone": resident.phone},
        "duree_de_conservation": f"{retention.months_label(retention_months())} après la fin "
        "de chaque demande, ou après la dernière activité d'une demande restée en cours, "
        "puis anonymisation",
        "demandes": [_request_data(r, messages[r.id]) for r in found],
        "signalements_d_erreur": [_report_data(r) for r in reports],
    }
    _audit(
        actor,
        audit.EXPORT,
        found,
        {"demandes exportées": len(found), "signalements exportés": len(reports)},
        at,
    )
    db.session.commit()
    return data


@dataclass
class ErasureReport:
    references: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    mails_scrubbed: int = 0
    mails_deleted: int = 0
    reports_cleared: int = 0  # error reports whose answer address was erased


class ListChanged(PrivacyError):
    """The requests found are no longer those the administrator confirmed."""


def erase_resident(
    actor: User, resident: Resident, at: datetime, confirmed_ids: set[int] | None = None
) -> ErasureReport:
    """Anonymise every request of the resident now, whatever its state (right to erasure).
    An open request is cancelled first, so the partner stops working on a request it can no
    longer answer, the desk is told by the usual e-mail (which holds no personal data) and
    the statistics count one more cancellation. One commit, with an audit entry that says
    who, when and how many, never whom. With `confirmed_ids`, the requests found must be
    exactly those (ListChanged otherwise, nothing done)."""
    found = find_requests(resident)
    if confirmed_ids is not None and {r.id for r in found} != confirmed_ids:
        raise ListChanged(
            "Les demandes trouvées ont changé depuis l'affichage de la liste : "
            "vérifiez-la et confirmez à nouveau. Rien n'a été effacé."
        )
    report = ErasureReport(references=[r.reference for r in found])
    reports = find_reports(resident)
    for error_report in reports:
        error_report.contact = None
    report.reports_cleared = len(reports)
    if not found:
        if reports:
            _audit(actor, audit.ERASE, found, {"signalements sans adresse": len(reports)}, at)
            db.session.commit()
        return report
    open_ids = [r.id for r in found if lifecycle.is_open(r.status)]
    done = anonymise([r.id for r in found], at)
    report.mails_scrubbed, report.mails_deleted = done.mails_scrubbed, done.mails_deleted
    for request_id in open_ids:
        request = db.session.get(AppointmentRequest, request_id)
        event = _cancel_for_erasure(request, actor, at)
        report.cancelled.append(request.reference)
        notifications.status_changed(request, event, desk_addresses(request), at, None)
    _audit(
        actor,
        audit.ERASE,
        found,
        {
            "demandes anonymisées": len(found),
            "demandes en cours annulées": len(open_ids),
            "courriels effacés": report.mails_scrubbed,
            "courriels non envoyés supprimés": report.mails_deleted,
            "signalements sans adresse": report.reports_cleared,
        },
        at,
    )
    db.session.commit()
    return report


def _cancel_for_erasure(request: AppointmentRequest, actor: User, at: datetime) -> RequestEvent:
    """The desk's cancellation, made by the administrator with a fixed, impersonal reason."""
    from_status = request.status
    request.status = lifecycle.next_status(from_status, lifecycle.CANCEL)
    request.status_changed_at = at
    request.reason = ERASURE_REASON
    event = RequestEvent(
        request=request,
        actor=actor,
        action=lifecycle.CANCEL,
        from_status=from_status,
        to_status=request.status,
        at=at,
        comment=ERASURE_REASON,
    )
    db.session.add(event)
    activity.record_transition(request, from_status, at)
    return event


def _audit(
    actor: User, action: str, found: list[AppointmentRequest], counts: dict, at: datetime
) -> None:
    """Who, when, how many and which references: the references identify requests, not
    people, and the lookup keys are never written."""
    references = [r.reference for r in found]
    label = ", ".join(references) if references else "aucune demande trouvée"
    audit.record(
        actor,
        "resident",
        (" ".join(references) or "-")[:120],
        f"Demandes : {label}",
        action,
        before=dict.fromkeys(counts, 0),
        after=counts,
        at=at,
    )
