"""Sample POSTs of the freshness loop for tests/web/test_csrf.py: a visitor's error report,
an administrator's "vérifié aujourd'hui" and resolution, with what proves each was made.

Each function takes test_csrf's `kit` and `accepted` and returns the keywords of its `Post`.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import ErrorReport, Site
from tests.plugins.accounts import csrf_token
from tests.web.samples import read

REPORTED_SITE = "sip-vittel"
STALE_SITE = "mission-locale-saint-die-site"
LONG_AGO = date(2020, 1, 1)


def _site(slug: str) -> Site:
    return db.session.scalars(select(Site).where(Site.slug == slug)).one()


def report_error(kit, accepted: bool) -> dict:
    def count() -> int:
        return read(
            kit.app,
            lambda: db.session.scalar(
                select(func.count(ErrorReport.id)).where(
                    ErrorReport.site_id == _site(REPORTED_SITE).id
                )
            ),
        )

    before = count()
    client = kit.app.test_client()
    return {
        "client": client,
        "token": csrf_token(client, f"/lieux/{REPORTED_SITE}/signaler"),
        "url": f"/lieux/{REPORTED_SITE}/signaler",
        "data": {"topic": "phone", "message": "Le numéro ne répond plus depuis lundi."},
        "accepted": 303,
        "refused_check": lambda: count() == before,
        "accepted_check": lambda: count() == before + 1,
    }


def mark_verified(kit, accepted: bool) -> dict:
    def prepare() -> int:
        site = _site(STALE_SITE)
        site.verified_on = LONG_AGO
        db.session.commit()
        return site.id

    site_id = read(kit.app, prepare)

    def verified_on() -> date | None:
        return read(kit.app, lambda: db.session.get(Site, site_id).verified_on)

    return {
        "client": kit.clients["admin"],
        "token": kit.tokens["admin"],
        "url": f"/admin/fraicheur/lieux/{site_id}/verifie",
        "data": {},
        "accepted": 303,
        "refused_check": lambda: verified_on() == LONG_AGO,
        "accepted_check": lambda: verified_on() == datetime.now(PARIS).date(),
    }


def resolve_report(kit, accepted: bool) -> dict:
    def file_report() -> int:
        # Straight into the table: the samples would pass the hourly limit of the form.
        report = ErrorReport(
            site_id=_site(STALE_SITE).id,
            topic="hours",
            message="Horaires du samedi faux.",
            created_at=datetime.now(PARIS),
            status="open",
        )
        db.session.add(report)
        db.session.commit()
        return report.id

    report_id = read(kit.app, file_report)

    def status() -> str:
        return read(kit.app, lambda: db.session.get(ErrorReport, report_id).status)

    return {
        "client": kit.clients["admin"],
        "token": kit.tokens["admin"],
        "url": f"/admin/signalements/{report_id}",
        "data": {
            f"r{report_id}-decision": "fixed",
            f"r{report_id}-note": "Horaires corrigés.",
        },
        "accepted": 303,
        "refused_check": lambda: status() == "open",
        "accepted_check": lambda: status() == "fixed",
    }


SAMPLES = {
    "upkeep.report_error": report_error,
    "upkeep.mark_verified": mark_verified,
    "upkeep.resolve_report": resolve_report,
}
