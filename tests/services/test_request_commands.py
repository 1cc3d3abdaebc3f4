"""`flask requests remind`, run as cron would run it."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from proxiservices.extensions import db
from proxiservices.models import AppointmentRequest
from proxiservices.services import requests as service
from proxiservices.services.accounts import create_user
from proxiservices.services.directory import get_body
from proxiservices.services.needs import get_need


def test_remind_expires_an_old_unanswered_request(workspace):
    with workspace.app_context():
        desk = create_user(
            email="cron-desk@example.org",
            role="receptionist",
            password="x" * 12,
            at=datetime.now(UTC),
            commune_insee="88078",
        )
        create_user(
            email="cron-caf@example.org",
            role="partner",
            password="x" * 12,
            at=datetime.now(UTC),
            body_slug="caf-vosges",
        )
        old = service.submit_request(
            actor=desk,
            need=get_need("aide-logement"),
            commune=desk.site.commune,
            body=get_body("caf-vosges"),
            contact=service.ResidentContact(
                name="A", phone="0611111111", email=None, channel="phone"
            ),
            at=datetime.now(UTC) - timedelta(days=31),
        )
        old_id = old.id
        db.session.remove()
        result = workspace.test_cli_runner().invoke(args=["requests", "remind"])
        assert result.exit_code == 0, result.output
        assert "1 demande(s) expirée(s)" in result.output
        status = db.session.scalar(
            select(AppointmentRequest.status).where(AppointmentRequest.id == old_id)
        )
        assert status == "expired"
