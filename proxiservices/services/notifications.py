"""The e-mails a request's life sends, queued in the outbox of the current transaction.

Staff e-mails carry no personal data (reference, need, commune and a link to log in);
only the resident's own e-mail tells the decision and the appointment."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, render_template

from proxiservices.domain import lifecycle
from proxiservices.models import AppointmentRequest, RequestEvent
from proxiservices.services.outbox import queue_message


def _link(path: str) -> str:
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def _queue(
    kind: str,
    recipients: list[str],
    request: AppointmentRequest,
    at: datetime,
    subject: str,
    **context,
) -> None:
    body = render_template(f"mail/{kind}.txt", request=request, **context)
    queue_message(
        kind=kind,
        recipients=recipients,
        subject=subject,
        body=body,
        at=at,
        request_id=request.id,
    )


def new_request(request: AppointmentRequest, recipients: list[str], at: datetime) -> None:
    _queue(
        "new_request",
        recipients,
        request,
        at,
        f"Nouvelle demande {request.reference} : {request.need.title}",
        link=_link(f"/partenaire/demandes/{request.id}"),
    )


def reminder(request: AppointmentRequest, recipients: list[str], at: datetime) -> None:
    _queue(
        "reminder",
        recipients,
        request,
        at,
        f"Rappel : demande {request.reference} sans réponse",
        link=_link(f"/partenaire/demandes/{request.id}"),
        days=lifecycle.age_in_days(request.created_at, at),
    )


def status_changed(
    request: AppointmentRequest,
    event: RequestEvent,
    recipients: list[str],
    at: datetime,
    created: AppointmentRequest | None,
) -> None:
    """The sending desk follows each change."""
    _queue(
        "status_changed",
        recipients,
        request,
        at,
        f"Demande {request.reference} : {lifecycle.STATUS_LABELS[request.status]}",
        event=event,
        created=created,
        link=_link(f"/demandes/{request.id}"),
    )


def resident_told(
    request: AppointmentRequest,
    event: RequestEvent,
    at: datetime,
    created: AppointmentRequest | None,
) -> None:
    _queue(
        "resident",
        [request.resident_email],
        request,
        at,
        f"Votre demande auprès de {request.body.name}",
        event=event,
        created=created,
    )
