"""The e-mail outbox against a real SMTP server on 127.0.0.1: nothing lost, nothing twice."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from proxiservices.extensions import db
from proxiservices.models import OutboxAttempt, OutboxMessage
from proxiservices.services import outbox
from proxiservices.services.outbox import (
    deliver_due,
    list_messages,
    outbox_counts,
    queue_message,
)
from tests.conftest import make_app

AT = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def queue(count: int, *, at: datetime = AT, prefix: str = "Message") -> list[int]:
    """Queue `count` messages and commit them, as a service announcing a change would."""
    messages = [
        queue_message(
            kind="test",
            recipients=[f"usager{n}@exemple.fr"],
            subject=f"{prefix} {n}",
            body=f"Bonjour,\nvotre demande n° {n} a été reçue.",
            at=at,
        )
        for n in range(count)
    ]
    db.session.commit()
    return [m.id for m in messages]


def message(message_id: int) -> OutboxMessage:
    db.session.expire_all()
    return db.session.get(OutboxMessage, message_id)


def attempts(message_id: int) -> list[tuple[str, str | None]]:
    rows = db.session.execute(
        sa.select(OutboxAttempt.outcome, OutboxAttempt.error)
        .where(OutboxAttempt.message_id == message_id)
        .order_by(OutboxAttempt.id)
    )
    return [tuple(row) for row in rows]


def assert_each_received_once(smtp_server, count: int, prefix: str = "Message") -> None:
    subjects = Counter(smtp_server.subjects())
    assert subjects == Counter(f"{prefix} {n}" for n in range(count))
    assert len(set(smtp_server.message_ids())) == count


def test_queued_message_exists_only_with_the_callers_commit(mail_app):
    kept = queue_message(
        kind="test",
        recipients=[" agent@caf.fr", "AGENT@caf.fr", "", "usager@exemple.fr, agent@caf.fr"],
        subject="Demande reçue",
        body="…",
        at=AT,
        request_id=None,
    )
    assert kept.recipients == "agent@caf.fr,usager@exemple.fr"
    assert kept.status == "pending" and kept.next_attempt_at == AT
    db.session.rollback()
    assert outbox_counts()["pending"] == 0

    assert queue_message(kind="test", recipients=["", "  "], subject="s", body="b", at=AT) is None
    assert not db.session.new


def test_due_messages_are_delivered_once(mail_app, smtp_server):
    ids = queue(3)
    later = queue_message(
        kind="test",
        recipients=["plus-tard@exemple.fr"],
        subject="Plus tard",
        body=".",
        at=AT + MINUTE,
    )
    db.session.commit()

    report = deliver_due(at=AT)

    assert (report.sent, report.failed) == (3, 0)
    assert_each_received_once(smtp_server, 3)
    first = smtp_server.messages[0]
    assert first.rcpt_tos == ("usager0@exemple.fr",)
    assert first.mail_from == "ne-pas-repondre@proxiservices.localhost"
    assert first.message["To"] == "usager0@exemple.fr"
    assert first.message_id == outbox.message_id_header(message(ids[0]))
    assert "votre demande n° 0 a été reçue" in first.text
    for message_id in ids:
        sent = message(message_id)
        assert (sent.status, sent.sent_at, sent.attempts) == ("sent", AT, 0)
        assert attempts(message_id) == [("sent", None)]
    assert message(later.id).status == "pending"

    again = deliver_due(at=AT)
    assert (again.sent, again.failed) == (0, 0)
    assert len(smtp_server.messages) == 3
    assert outbox_counts() == {"pending": 1, "sending": 0, "sent": 3, "failed": 0}


def test_french_subject_survives_the_wire(mail_app, smtp_server):
    queue_message(
        kind="test",
        recipients=["usager@exemple.fr"],
        subject="Votre demande a été transmise à la CAF des Vosges",
        body="Élodie, votre rendez-vous est confirmé.",
        at=AT,
    )
    db.session.commit()
    deliver_due(at=AT)
    (received,) = smtp_server.messages
    assert received.subject == "Votre demande a été transmise à la CAF des Vosges"
    assert "Élodie, votre rendez-vous est confirmé." in received.text


def test_server_down_keeps_messages_with_backoff_then_delivers_once(mail_app, smtp_server):
    ids = queue(3)
    smtp_server.stop()

    report = deliver_due(at=AT)

    # Unreachable server: one failed attempt, then the batch stops.
    assert (report.sent, report.failed) == (0, 1)
    first = message(ids[0])
    assert (first.status, first.attempts, first.next_attempt_at) == ("pending", 1, AT + MINUTE)
    assert "ConnectionRefusedError" in first.last_error
    assert attempts(ids[0]) == [("failed", first.last_error)]
    assert [message(i).attempts for i in ids[1:]] == [0, 0]

    assert deliver_due(at=AT).failed == 1  # each run tries the next one due
    assert deliver_due(at=AT).failed == 1
    assert deliver_due(at=AT).failed == 0  # all wait for their retry time
    assert [message(i).attempts for i in ids] == [1, 1, 1]
    assert deliver_due(at=AT + MINUTE).failed == 1
    assert message(ids[0]).next_attempt_at == AT + 3 * MINUTE  # 1 then 2 minutes
    assert smtp_server.messages == []

    smtp_server.start()
    assert deliver_due(at=AT + 2 * MINUTE).sent == 2  # the first is not due yet
    assert deliver_due(at=AT + 3 * MINUTE).sent == 1
    assert deliver_due(at=AT + 10 * MINUTE).sent == 0
    assert_each_received_once(smtp_server, 3)
    assert [outcome for outcome, _ in attempts(ids[0])] == ["failed", "failed", "sent"]


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_refusing_server_retries_later_then_delivers_once(mail_app, smtp_server, stage):
    ids = queue(3)
    smtp_server.refuse(stage=stage)

    report = deliver_due(at=AT)

    # A refused message does not stop the batch: the server is up.
    assert (report.sent, report.failed) == (0, 3)
    for message_id in ids:
        refused = message(message_id)
        assert (refused.status, refused.attempts) == ("pending", 1)
        assert refused.next_attempt_at == AT + MINUTE
        assert "451" in refused.last_error and "Try again later" in refused.last_error
    assert deliver_due(at=AT + MINUTE / 2).failed == 0  # backoff respected

    smtp_server.refuse(False)
    assert deliver_due(at=AT + MINUTE).sent == 3
    assert_each_received_once(smtp_server, 3)


def test_worker_dying_between_two_messages_loses_and_repeats_nothing(
    mail_app, smtp_server, monkeypatch
):
    queue(5)
    real_mark_sent = outbox._mark_sent

    def mark_sent_then_die(*args):
        real_mark_sent(*args)
        raise SystemExit("killed")

    monkeypatch.setattr(outbox, "_mark_sent", mark_sent_then_die)
    with pytest.raises(SystemExit):
        deliver_due(at=AT, worker="doomed")
    assert smtp_server.subjects() == ["Message 0"]
    monkeypatch.undo()
    db.session.rollback()

    assert deliver_due(at=AT, worker="next").sent == 4
    assert_each_received_once(smtp_server, 5)


def test_claim_of_a_dead_worker_is_taken_over_after_the_timeout(mail_app, smtp_server):
    (message_id,) = queue(1)
    db.session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(status="sending", claimed_by="dead-host:42:abc", claimed_at=AT)
    )
    db.session.commit()

    assert deliver_due(at=AT + 9 * MINUTE).sent == 0  # OUTBOX_CLAIM_MINUTES is 10
    assert message(message_id).status == "sending"

    assert deliver_due(at=AT + 11 * MINUTE, worker="rescuer").sent == 1
    taken_over = message(message_id)
    assert (taken_over.status, taken_over.claimed_by, taken_over.attempts) == (
        "sent",
        "rescuer",
        1,
    )
    log = db.session.scalars(
        sa.select(OutboxAttempt)
        .where(OutboxAttempt.message_id == message_id)
        .order_by(OutboxAttempt.id)
    ).all()
    assert [(a.worker, a.outcome) for a in log] == [
        ("dead-host:42:abc", "failed"),
        ("rescuer", "sent"),
    ]
    assert_each_received_once(smtp_server, 1)


def test_parallel_workers_send_each_message_once(mail_app, smtp_server):
    queue(100)
    db.session.remove()
    start = threading.Barrier(4)
    reports: dict[str, outbox.DeliveryReport] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            with mail_app.app_context():
                start.wait()
                reports[name] = deliver_due(at=AT, worker=name)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(f"worker-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    assert sum(r.sent for r in reports.values()) == 100
    assert sum(r.failed for r in reports.values()) == 0
    assert_each_received_once(smtp_server, 100)
    assert outbox_counts()["sent"] == 100
    sent_rows = db.session.scalar(sa.select(sa.func.count()).select_from(OutboxAttempt))
    assert sent_rows == 100


def test_max_attempts_then_operator_retry(mail_app, smtp_server, monkeypatch):
    monkeypatch.setitem(mail_app.config, "OUTBOX_MAX_ATTEMPTS", 3)
    (message_id,) = queue(1)
    smtp_server.refuse(reply="550 5.1.1 Mailbox unavailable")
    runner = mail_app.test_cli_runner()

    for offset in (0, 1, 3):  # delays of 1 then 2 minutes
        assert deliver_due(at=AT + offset * MINUTE).failed == 1
    given_up = message(message_id)
    assert (given_up.status, given_up.attempts) == ("failed", 3)
    assert deliver_due(at=AT + timedelta(days=2)).failed == 0  # kept, never retried alone

    status = runner.invoke(args=["outbox", "status"])
    assert status.exit_code == 0, status.output
    assert "En échec définitif : 1" in status.output
    assert f"message n° {message_id}" in status.output
    assert "550 5.1.1 Mailbox unavailable" in status.output

    retried = runner.invoke(args=["outbox", "retry"])
    assert retried.exit_code == 0, retried.output
    assert "1 message(s) remis en file d'attente" in retried.output
    back = message(message_id)
    assert (back.status, back.attempts) == ("pending", 0)
    assert len(attempts(message_id)) == 3  # history kept

    smtp_server.refuse(False)
    sent = runner.invoke(args=["outbox", "send"])
    assert sent.exit_code == 0, sent.output
    assert "1 envoyé(s), 0 en échec" in sent.output
    assert_each_received_once(smtp_server, 1)
    quiet = runner.invoke(args=["outbox", "send", "--quiet"])
    assert (quiet.exit_code, quiet.output) == (0, "")


def test_send_command_reports_failures_and_respects_limit(mail_app, smtp_server):
    queue(3, at=datetime.now(UTC) - MINUTE)  # the command sends what is due now
    runner = mail_app.test_cli_runner()
    limited = runner.invoke(args=["outbox", "send", "--limit", "2"])
    assert "2 envoyé(s), 0 en échec" in limited.output
    smtp_server.stop()
    down = runner.invoke(args=["outbox", "send", "--quiet"])
    assert down.exit_code == 0
    assert "0 envoyé(s), 1 en échec" in down.output
    status = runner.invoke(args=["outbox", "status"])
    assert "En attente : 1" in status.output
    assert "Envoyés : 2" in status.output
    assert "Plus ancien message en attente : depuis 1 min" in status.output
    assert "ConnectionRefusedError" in status.output


def test_operator_listing(mail_app, smtp_server):
    queue(2, at=AT)
    queue(1, at=AT + MINUTE, prefix="Plus tard")
    deliver_due(at=AT)
    assert [m.subject for m in list_messages()] == ["Plus tard 0", "Message 1", "Message 0"]
    assert [m.subject for m in list_messages(status="pending")] == ["Plus tard 0"]
    assert len(list_messages(limit=1)) == 1
    assert outbox_counts() == {"pending": 1, "sending": 0, "sent": 2, "failed": 0}


# After the response ------------------------------------------------------------------


@pytest.fixture
def web_app(mail_app, smtp_server):
    """A fresh app on the same database with a route that queues one message, as the request
    services do; fresh because routes cannot be added once an app has served requests."""
    app = make_app(
        mail_app.config["SQLALCHEMY_DATABASE_URI"],
        WTF_CSRF_ENABLED=False,
        OUTBOX_SEND_AFTER_RESPONSE=True,
    )
    smtp_server.serve(app)

    @app.post("/_test/notify/<int:count>")
    def notify(count: int):
        queue(count, at=datetime.now(UTC), prefix="Notification")
        return "", 204

    @app.get("/_test/nothing")
    def nothing():
        return "", 204

    yield app
    with app.app_context():
        db.engine.dispose()


def test_mail_leaves_right_after_the_response(web_app, smtp_server):
    client = web_app.test_client()
    response = client.post("/_test/notify/2")
    response.close()
    assert response.status_code == 204
    assert_each_received_once(smtp_server, 2, prefix="Notification")
    with web_app.app_context():
        assert outbox_counts()["sent"] == 2


def test_requests_that_queue_nothing_send_nothing(web_app, smtp_server):
    queue(1, at=datetime.now(UTC) - MINUTE)
    client = web_app.test_client()
    client.get("/_test/nothing").close()
    assert smtp_server.messages == []
    web_app.config["OUTBOX_SEND_AFTER_RESPONSE"] = False
    client.post("/_test/notify/1").close()
    assert smtp_server.messages == []
    with web_app.app_context():
        assert outbox_counts()["pending"] == 2


def test_failed_delivery_after_response_never_breaks_the_response(
    web_app, smtp_server, monkeypatch, caplog
):
    client = web_app.test_client()
    smtp_server.stop()
    response = client.post("/_test/notify/1")
    response.close()
    assert response.status_code == 204
    with web_app.app_context():
        (pending,) = list_messages()
        assert (pending.status, pending.attempts) == ("pending", 1)

    def broken(**kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(outbox, "deliver_due", broken)
    response = client.post("/_test/notify/1")
    response.close()
    assert response.status_code == 204
    assert "Outbox delivery after response failed" in caplog.text


def test_a_refused_recipient_is_kept_for_the_operator_but_never_logged(
    mail_app, smtp_server, caplog
):
    """The log outlives retention and erasure: it gets the error's kind, not the address."""
    (message_id,) = queue(1)
    smtp_server.refuse(stage="RCPT")
    with caplog.at_level("WARNING", logger=outbox.log.name):
        assert deliver_due(at=AT).failed == 1
    assert "usager0@exemple.fr" in message(message_id).last_error
    assert f"Outbox message {message_id} not sent" in caplog.text
    assert "SMTPRecipientsRefused" in caplog.text
    assert "usager0@exemple.fr" not in caplog.text
    smtp_server.refuse(False)
