"""The e-mail outbox: a message is queued in the same transaction as the change it announces,
then delivered by `deliver_due` (cron `flask outbox send`, and right after the response of
the request that queued it), so a notification is never lost and never sent twice by two
workers."""

from __future__ import annotations

import logging
import os
import secrets
import smtplib
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

import sqlalchemy as sa
from flask import Flask, Response, current_app, g, has_app_context
from flask_mailman import EmailMessage
from flask_mailman.backends.base import BaseEmailBackend

from proxiservices.domain.delivery import retry_delay
from proxiservices.extensions import db, mail
from proxiservices.models.outbox import OutboxAttempt, OutboxMessage

log = logging.getLogger(__name__)

STATUSES = ("pending", "sending", "sent", "failed")
# Delivery after a response also takes a few older due messages along.
AFTER_RESPONSE_MARGIN = 5
# Candidates read per claim: when another worker wins one, the next is tried at once.
CANDIDATES = 5
ERROR_MAX_LENGTH = 2000
_QUEUED = "outbox_queued"


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


def queue_message(
    *,
    kind: str,
    recipients: Iterable[str],
    subject: str,
    body: str,
    at: datetime,
    request_id: int | None = None,
) -> OutboxMessage | None:
    """Add a message to the session without committing: it exists if and only if the
    caller's change is committed with it."""
    addresses = _clean_addresses(recipients)
    if not addresses:
        return None
    message = OutboxMessage(
        kind=kind,
        recipients=",".join(addresses),
        subject=subject,
        body=body,
        request_id=request_id,
        created_at=at,
        status="pending",
        attempts=0,
        next_attempt_at=at,
    )
    db.session.add(message)
    if has_app_context():
        setattr(g, _QUEUED, g.get(_QUEUED, 0) + 1)
    return message


def _clean_addresses(recipients: Iterable[str]) -> list[str]:
    """Stripped, without blanks or duplicates (case-insensitive), first spelling kept."""
    seen: set[str] = set()
    addresses = []
    for entry in recipients:
        for address in str(entry or "").split(","):
            address = address.strip()
            if address and address.lower() not in seen:
                seen.add(address.lower())
                addresses.append(address)
    return addresses


def default_worker() -> str:
    """hostname:pid:random, so an operator can tell which process holds a claim."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[-64:]


def deliver_due(
    *, at: datetime | None = None, worker: str | None = None, limit: int | None = None
) -> DeliveryReport:
    """Send due messages one at a time, each claimed and committed before sending and marked
    sent right after, so a crash loses nothing and concurrent workers never share one."""
    clock = (lambda: at) if at is not None else _now
    worker = (worker or default_worker())[:64]
    report = DeliveryReport()
    connection = _connection()
    try:
        while limit is None or report.sent + report.failed < limit:
            message = _claim_next(clock(), worker)
            if message is None:
                break
            try:
                _send(message, connection)
            except Exception as error:
                _close_quietly(connection)
                _mark_failed(message, worker, clock(), error)
                report.failed += 1
                if _is_unreachable(error):
                    break  # the next messages would fail the same way
            else:
                _mark_sent(message, worker, clock())
                report.sent += 1
    finally:
        _close_quietly(connection)
    return report


def _now() -> datetime:
    return datetime.now(UTC)


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    """Due and free, or claimed by a worker that has not finished in time (it died)."""
    stale = now - timedelta(minutes=current_app.config["OUTBOX_CLAIM_MINUTES"])
    return sa.or_(
        sa.and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < stale),
    )


def _claim_next(now: datetime, worker: str) -> OutboxMessage | None:
    """Claim one message by compare-and-set (safe on SQLite and PostgreSQL); on PostgreSQL
    SKIP LOCKED also keeps workers off each other's candidates."""
    claimable = _claimable(now)
    while True:
        candidates = db.session.execute(
            sa.select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.claimed_by)
            .where(claimable)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(CANDIDATES)
            .with_for_update(skip_locked=True)
        ).all()
        if not candidates:
            db.session.rollback()
            return None
        for message_id, status, previous_worker in candidates:
            claimed = db.session.execute(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == message_id, claimable)
                .values(status="sending", claimed_by=worker, claimed_at=now)
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount != 1:
                continue  # another worker was faster
            if status == "sending":
                _record_abandoned_claim(message_id, previous_worker, now)
            db.session.commit()
            return db.session.get(OutboxMessage, message_id)
        db.session.commit()


def _record_abandoned_claim(message_id: int, previous_worker: str | None, now: datetime) -> None:
    """Count the dead worker's try as a failed attempt: the mail may or may not have left,
    and a message that kills every worker must still end up failed."""
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        OutboxAttempt(
            message_id=message_id,
            at=now,
            worker=previous_worker or "?",
            outcome="failed",
            error="Envoi interrompu : le processus qui l'avait pris en charge n'a pas terminé.",
        )
    )


def message_id_header(message: OutboxMessage) -> str:
    """The same Message-ID on every retry, so a duplicate (after a crash between sending and
    recording it) can be recognised by mail clients and by people."""
    return f"<outbox-{message.id}.{int(message.created_at.timestamp())}@proxiservices>"


def _connection() -> BaseEmailBackend:
    """Read the server settings at send time, so a running app can be re-pointed."""
    config = current_app.config
    return mail.get_connection(
        backend=config.get("MAIL_BACKEND") or None,
        host=config["MAIL_SERVER"],
        port=int(config["MAIL_PORT"]),
        timeout=config["MAIL_TIMEOUT"],
    )


def _send(message: OutboxMessage, connection: BaseEmailBackend) -> None:
    email = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=message.recipient_list,
        headers={"Message-ID": message_id_header(message)},
        connection=connection,
    )
    connection.open()  # kept open for the whole batch
    email.send()


def _close_quietly(connection: BaseEmailBackend) -> None:
    try:
        connection.close()
    except Exception:
        connection.connection = None


def _mark_sent(message: OutboxMessage, worker: str, now: datetime) -> None:
    message.status = "sent"
    message.sent_at = now
    db.session.add(OutboxAttempt(message_id=message.id, at=now, worker=worker, outcome="sent"))
    db.session.commit()


def _mark_failed(message: OutboxMessage, worker: str, now: datetime, error: Exception) -> None:
    text = describe_error(error)
    message.attempts += 1
    message.last_error = text
    message.claimed_by = None
    message.claimed_at = None
    if message.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        message.status = "failed"
    else:
        message.status = "pending"
        message.next_attempt_at = now + retry_delay(message.attempts)
    db.session.add(
        OutboxAttempt(message_id=message.id, at=now, worker=worker, outcome="failed", error=text)
    )
    db.session.commit()
    # The full reply stays in the database (erased with the request); the log gets only the
    # error's kind and code: SMTP replies quote the recipient's address.
    code = getattr(error, "smtp_code", None)
    log.warning(
        "Outbox message %s not sent (attempt %s): %s%s",
        message.id,
        message.attempts,
        type(error).__name__,
        f" {code}" if code else "",
    )


def describe_error(error: Exception) -> str:
    """The SMTP reply when there is one, readable by an operator."""
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        detail = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        text = f"{type(error).__name__}: {error.smtp_code} {detail}"
    elif isinstance(error, smtplib.SMTPRecipientsRefused):
        refused = "; ".join(
            f"{address} {code} {reply.decode('utf-8', 'replace')}"
            for address, (code, reply) in error.recipients.items()
        )
        text = f"{type(error).__name__}: {refused}"
    else:
        text = f"{type(error).__name__}: {error}"
    return text[:ERROR_MAX_LENGTH]


def _is_unreachable(error: Exception) -> bool:
    """Whether the server itself is out of reach (refused, timed out, dropped, 421)."""
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPServerDisconnected):
        return True
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code == 421
    # smtplib.SMTPException derives from OSError: only plain socket errors are network ones.
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)


def install_after_response_delivery(app: Flask) -> None:
    """Deliver what a request queued once its response is out, so notifications leave within
    seconds without waiting for cron (which still catches whatever this misses)."""

    @app.after_request
    def deliver_after_response(response: Response) -> Response:
        queued = g.get(_QUEUED, 0)
        if queued and app.config["OUTBOX_SEND_AFTER_RESPONSE"]:
            response.call_on_close(
                partial(_deliver_quietly, app, limit=queued + AFTER_RESPONSE_MARGIN)
            )
        return response


def _deliver_quietly(app: Flask, *, limit: int) -> None:
    """Best effort: whatever goes wrong here, the messages are safe in the outbox."""
    try:
        with app.app_context():
            deliver_due(limit=limit)
    except Exception:
        log.exception("Outbox delivery after response failed; cron will retry")


def outbox_counts() -> dict[str, int]:
    """Messages per status, every status present, for operators and monitoring."""
    counts = dict.fromkeys(STATUSES, 0)
    rows = db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
    )
    for status, count in rows:
        counts[status] = count
    return counts


def list_messages(status: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    """Newest first, optionally of one status."""
    query = sa.select(OutboxMessage).order_by(
        OutboxMessage.created_at.desc(), OutboxMessage.id.desc()
    )
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(db.session.scalars(query.limit(limit)))


def get_oldest_pending_at() -> datetime | None:
    """When the oldest message still waiting was queued: the delay residents are seeing."""
    return db.session.scalar(
        sa.select(sa.func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status.in_(("pending", "sending"))
        )
    )


def get_last_failure() -> OutboxAttempt | None:
    return db.session.scalar(
        sa.select(OutboxAttempt)
        .where(OutboxAttempt.outcome == "failed")
        .order_by(OutboxAttempt.at.desc(), OutboxAttempt.id.desc())
        .limit(1)
    )


def retry_failed(*, at: datetime, message_ids: Iterable[int] | None = None) -> int:
    """Give messages that exhausted their attempts a fresh series, due at once (after the
    operator fixed the cause); their attempt log is kept."""
    query = (
        sa.update(OutboxMessage)
        .where(OutboxMessage.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=at, claimed_by=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    if message_ids is not None:
        query = query.where(OutboxMessage.id.in_(list(message_ids)))
    count = db.session.execute(query).rowcount
    db.session.commit()
    return count
