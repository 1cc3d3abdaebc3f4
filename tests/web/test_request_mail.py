"""The e-mails of requests, through a real SMTP server (aiosmtpd) and the real pages."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from proxiservices.extensions import db
from proxiservices.models import AppointmentRequest, OutboxMessage
from proxiservices.services.outbox import deliver_due
from tests.plugins.accounts import csrf_in, logged_in, make_user
from tests.web.html import text_of

NEW_URL = "/demandes/nouvelle?need=aide-logement&commune=88078"


@pytest.fixture(scope="module")
def staff(workspace):
    return {
        "desk": make_user(workspace, "receptionist", commune_insee="88078").email,
        "caf": make_user(workspace, "partner", body_slug="caf-vosges").email,
    }


@pytest.fixture
def mail(workspace, smtp_server, monkeypatch):
    """The workspace app sending to the test server, after each response as in production."""
    smtp_server.serve(workspace)
    monkeypatch.setitem(workspace.config, "OUTBOX_SEND_AFTER_RESPONSE", True)
    return smtp_server


def post(client, url, data):
    """POST and close the response, as a WSGI server does: after-response work runs then."""
    with client.post(url, data=data) as response:
        status, location = response.status_code, response.headers.get("Location", "")
        body = response.get_data(as_text=True)
    return status, location, body


def send_request(client, page, n: int, email: str = ""):
    body_id = re.search(r'name="body"[^>]*value="(\d+)"', page).group(1)
    return post(
        client,
        NEW_URL,
        {
            "csrf_token": csrf_in(page),
            "body": body_id,
            "resident_name": f"Résident numéro {n}",
            "phone": f"06 00 00 {n // 100:02d} {n % 100:02d}",
            "email": email,
            "channel": "email" if email else "phone",
            "consent": "y",
        },
    )


def test_bruyeres_to_caf_scheduled_with_the_mails_arriving(workspace, staff, mail):
    desk = logged_in(workspace, staff["desk"])
    status, location, _ = send_request(
        desk, desk.get(NEW_URL).text, 1, email="jeanne.usager@example.org"
    )
    assert status == 303
    request_id = int(location.rsplit("/", 1)[1])

    (new,) = mail.messages
    assert new.rcpt_tos == (staff["caf"],)
    assert new.subject.startswith("Nouvelle demande D-")
    assert f"/partenaire/demandes/{request_id}" in new.text
    assert "Résident numéro 1" not in new.text  # no personal data in staff e-mails

    caf = logged_in(workspace, staff["caf"])
    detail = caf.get(f"/partenaire/demandes/{request_id}")
    day = (datetime.now(UTC) + timedelta(days=5)).date()
    status, _, _ = post(
        caf,
        f"/partenaire/demandes/{request_id}/schedule",
        {
            "schedule-csrf_token": csrf_in(detail.text),
            "schedule-day": day.isoformat(),
            "schedule-time": "14:00",
            "schedule-mode": "site",
            "schedule-place": "CAF des Vosges, 30 chemin la Belle au Bois Dormant, Épinal",
        },
    )
    assert status == 303

    to_desk = [m for m in mail.messages if staff["desk"] in m.rcpt_tos]
    to_resident = [m for m in mail.messages if m.rcpt_tos == ("jeanne.usager@example.org",)]
    assert len(to_desk) == 1 and "rendez-vous fixé" in to_desk[0].subject
    assert "14h" in to_desk[0].text
    assert len(to_resident) == 1
    assert "rendez-vous" in to_resident[0].text and "Belle au Bois Dormant" in to_resident[0].text

    seen = text_of(desk.get(f"/demandes/{request_id}").text)
    assert "rendez-vous fixé" in seen and "14h" in seen


def test_smtp_down_100_requests_kept_then_each_mail_sent_once(workspace, staff, mail):
    with workspace.app_context():
        before = db.session.scalar(select(func.count()).select_from(AppointmentRequest))
    mail.stop()
    desk = logged_in(workspace, staff["desk"])
    page = desk.get(NEW_URL).text
    for n in range(100, 200):
        status, _, body = send_request(desk, page, n)
        assert status == 303, text_of(body)[:500]

    with workspace.app_context():
        assert db.session.scalar(select(func.count()).select_from(AppointmentRequest)) == (
            before + 100
        )
        waiting = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "new_request", OutboxMessage.status == "pending")
        )
        assert waiting >= 100
        # Each response tried its own message once, failed, and left it for later.
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending", OutboxMessage.attempts >= 1)
            )
            >= 100
        )

    mail.start()
    with workspace.app_context():
        later = datetime.now(UTC) + timedelta(hours=1)
        report = deliver_due(at=later)
        assert report.failed == 0
        assert deliver_due(at=later + timedelta(hours=1)).sent == 0
        sent_ids = db.session.scalars(
            select(OutboxMessage.id).where(OutboxMessage.kind == "new_request")
        ).all()

    received = Counter(m.message_id for m in mail.messages)
    assert all(count == 1 for count in received.values())
    subjects = [m.subject for m in mail.messages if m.subject.startswith("Nouvelle demande")]
    assert len(subjects) >= 100
    assert len(set(subjects)) == len(subjects)
    assert len(sent_ids) >= 100
