"""The SMTP-down guarantee under load: with the mail server unreachable, requests submitted at
the same time by several desks through the real form are all accepted and kept, with their
notifications waiting in the outbox; once the server is back, concurrent delivery workers
send each notification exactly once.

Runs on the suite's database (SQLite, or PostgreSQL with TEST_DATABASE_URL).
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from proxiservices.extensions import db
from proxiservices.models import AppointmentRequest, OutboxMessage
from proxiservices.services.outbox import deliver_due
from tests.plugins.accounts import csrf_in, logged_in, make_user

NEW_URL = "/demandes/nouvelle?need=aide-logement&commune=88078"
DESKS = 4
PER_DESK = 10
WORKERS = 3


@pytest.fixture(scope="module")
def desks(workspace):
    """Agents of the Bruyères desk (one per thread), and a CAF partner to notify."""
    make_user(workspace, "partner", body_slug="caf-vosges")
    return [make_user(workspace, "receptionist", commune_insee="88078").email for _ in range(DESKS)]


def submit(client, page: str, n: int) -> tuple[int, str]:
    """POST the form and close the response as a WSGI server does (after-response work)."""
    body_id = re.search(r'name="body"[^>]*value="(\d+)"', page).group(1)
    data = {
        "csrf_token": csrf_in(page),
        "body": body_id,
        "resident_name": f"Usager en charge {n}",
        "phone": f"06 11 22 {n // 100:02d} {n % 100:02d}",
        "channel": "phone",
        "consent": "y",
    }
    with client.post(NEW_URL, data=data) as response:
        return response.status_code, response.headers.get("Location", "")


def test_smtp_down_concurrent_requests_kept_then_each_mail_sent_once(
    workspace, desks, smtp_server, monkeypatch
):
    smtp_server.serve(workspace)
    monkeypatch.setitem(workspace.config, "OUTBOX_SEND_AFTER_RESPONSE", True)  # as in production
    smtp_server.stop()  # its port is now closed: every connection is refused
    with workspace.app_context():
        outbox_before = db.session.scalar(select(func.max(OutboxMessage.id))) or 0
        db.session.remove()
    clients = [logged_in(workspace, email) for email in desks]
    pages = [client.get(NEW_URL).text for client in clients]
    start = threading.Barrier(DESKS)

    def desk(index: int) -> list[tuple[int, int, str]]:
        start.wait()
        return [
            (n, *submit(clients[index], pages[index], n))
            for n in range(index * PER_DESK, (index + 1) * PER_DESK)
        ]

    started = time.monotonic()
    with ThreadPoolExecutor(DESKS) as pool:
        answers = [a for result in pool.map(desk, range(DESKS)) for a in result]
    elapsed = time.monotonic() - started

    total = DESKS * PER_DESK
    assert len(answers) == total
    for n, status, location in answers:
        assert status == 303 and re.fullmatch(r"/demandes/\d+", location), (n, status, location)
    request_ids = {int(location.rsplit("/", 1)[1]) for _, _, location in answers}
    assert len(request_ids) == total

    with workspace.app_context():
        kept = db.session.execute(
            select(AppointmentRequest.id, AppointmentRequest.resident_name).where(
                AppointmentRequest.id.in_(request_ids)
            )
        ).all()
        assert sorted(name for _, name in kept) == sorted(
            f"Usager en charge {n}" for n in range(total)
        )
        queued = db.session.execute(
            select(OutboxMessage.request_id, OutboxMessage.status, OutboxMessage.sent_at).where(
                OutboxMessage.id > outbox_before
            )
        ).all()
        db.session.remove()
    # One notification per request, all waiting: none sent, none given up on.
    assert Counter(request_id for request_id, _, _ in queued) == Counter(request_ids)
    assert {status for _, status, _ in queued} == {"pending"}
    assert all(sent_at is None for _, _, sent_at in queued)
    assert smtp_server.messages == []

    smtp_server.start()
    later = datetime.now(UTC) + timedelta(hours=1)  # past every retry delay

    def worker(n: int):
        with workspace.app_context():
            try:
                return deliver_due(at=later, worker=f"test-worker-{n}")
            finally:
                db.session.remove()

    with ThreadPoolExecutor(WORKERS) as pool:
        reports = list(pool.map(worker, range(WORKERS)))
    assert sum(r.failed for r in reports) == 0
    assert sum(r.sent for r in reports) == total

    received = [m for m in smtp_server.messages if m.subject.startswith("Nouvelle demande")]
    assert len(received) == total
    assert all(count == 1 for count in Counter(m.message_id for m in received).values())
    assert len({m.subject for m in received}) == total  # one per request reference
    with workspace.app_context():
        assert deliver_due(at=later + timedelta(hours=1)).sent == 0
        statuses = db.session.scalars(
            select(OutboxMessage.status).where(OutboxMessage.id > outbox_before)
        ).all()
        db.session.remove()
    assert set(statuses) == {"sent"} and len(statuses) == total
    print(f"\n{total} requests from {DESKS} desks in {elapsed:.2f} s with the SMTP port closed")
