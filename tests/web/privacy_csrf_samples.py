"""Sample POSTs of the personal data pages for tests/web/test_csrf.py: an administrator's
lookup, export and erasure of one resident's data, with what proves each was made.

Each function takes test_csrf's `kit` and `accepted` and returns the keywords of its `Post`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import AppointmentRequest, AuditEntry, User
from proxiservices.services import audit
from proxiservices.services import requests as service
from proxiservices.services.directory import get_body
from proxiservices.services.needs import get_need
from tests.web.samples import read

PAGE = "/admin/donnees-personnelles"


def _resident_request(kit) -> tuple[int, str]:
    """A request of a resident of its own, so that erasing it touches no other sample."""
    email = f"rgpd.{uuid.uuid4().hex[:10]}@example.net"

    def send() -> int:
        desk = db.session.get(User, kit.users["desk"].id)
        return service.submit_request(
            actor=desk,
            need=get_need("aide-logement"),
            commune=desk.site.commune,
            body=get_body("caf-vosges"),
            contact=service.ResidentContact(
                name="Usager Effaçable", phone=None, email=email, channel="email"
            ),
            at=datetime.now(PARIS),
        ).id

    return read(kit.app, send), email


def _exports(kit) -> int:
    return read(
        kit.app,
        lambda: db.session.scalar(
            select(func.count(AuditEntry.id)).where(AuditEntry.action == audit.EXPORT)
        ),
    )


def lookup(kit, accepted: bool) -> dict:
    _request_id, email = _resident_request(kit)
    return {
        "client": kit.clients["admin"],
        "token": kit.tokens["admin"],
        "url": PAGE,
        "data": {"email": email},
        "accepted": 200,
    }


def export(kit, accepted: bool) -> dict:
    _request_id, email = _resident_request(kit)
    before = _exports(kit)
    return {
        "client": kit.clients["admin"],
        "token": kit.tokens["admin"],
        "url": f"{PAGE}/export",
        "data": {"email": email},
        "accepted": 200,
        "refused_check": lambda: _exports(kit) == before,
        "accepted_check": lambda: _exports(kit) == before + 1,
    }


def erase(kit, accepted: bool) -> dict:
    request_id, email = _resident_request(kit)

    def anonymised() -> bool:
        return (
            read(kit.app, lambda: db.session.get(AppointmentRequest, request_id).anonymised_at)
            is not None
        )

    return {
        "client": kit.clients["admin"],
        "token": kit.tokens["admin"],
        "url": f"{PAGE}/effacer",
        "data": {"email": email, "expected": str(request_id), "confirm": "y"},
        "accepted": 303,
        "refused_check": lambda: not anonymised(),
        "accepted_check": anonymised,
    }


SAMPLES = {
    "privacy.lookup": lookup,
    "privacy.export": export,
    "privacy.erase": erase,
}
