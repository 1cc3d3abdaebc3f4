"""Sample POSTs of the local information for tests/web/test_csrf.py: the Bruyères desk's
alerts for its own commune, the CAF agent's ateliers at its own site, with what proves each
was made or not.

Each function takes test_csrf's `kit` and `accepted` and returns the keywords of its `Post`.
Titles are new each call, and the alert or atelier an edit or a deletion acts on is made
for that sample alone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select

from proxiservices.extensions import db
from proxiservices.models import Alert, Atelier, Site
from tests.web.samples import read

DESK_COMMUNE = "88078"  # Bruyères, the commune of the kit's desk
CAF_SITE = "caf-vosges-epinal"
# Wall-clock dates typed in the forms (naive Paris time), well in the future.
STARTS, ENDS = datetime(2031, 3, 4, 9, 0), datetime(2031, 3, 5, 17, 0)
FORM = "%Y-%m-%dT%H:%M"


def _title(what: str, accepted: bool) -> str:
    return f"{what} {'acceptée' if accepted else 'refusée'} {uuid.uuid4().hex[:8]}"


def _count(kit, model, title: str) -> int:
    return read(
        kit.app,
        lambda: db.session.scalar(select(func.count(model.id)).where(model.title == title)),
    )


def _exists(kit, model, object_id: int) -> bool:
    return read(kit.app, lambda: db.session.get(model, object_id) is not None)


def _title_of(kit, model, object_id: int) -> str:
    return read(kit.app, lambda: db.session.get(model, object_id).title)


# --- alerts: the desk, for its own commune ---------------------------------------------------


def _desk(kit) -> dict:
    return {"client": kit.clients["desk"], "token": kit.tokens["desk"]}


def _alert_data(title: str) -> dict:
    return {
        "area_code": DESK_COMMUNE,
        "category": "water",
        "severity": "warning",
        "title": title,
        "message": "Eau coupée de 8 h à 17 h ; point d'eau place de la mairie.",
        "body_kind_code": "",
        "starts_at": STARTS.strftime(FORM),
        "ends_at": ENDS.strftime(FORM),
    }


def _alert(kit) -> int:
    """An alert of the desk's commune, straight into the table."""
    title = _title("Alerte à modifier", False)

    def make() -> int:
        stamp = datetime.now(UTC)
        alert = Alert(
            area_code=DESK_COMMUNE,
            category="water",
            severity="info",
            title=title,
            message="",
            starts_at=STARTS,
            ends_at=ENDS,
            created_at=stamp,
            updated_at=stamp,
            created_by_id=kit.users["desk"].id,
        )
        db.session.add(alert)
        db.session.commit()
        return alert.id

    return read(kit.app, make)


def new_alert(kit, accepted: bool) -> dict:
    title = _title("Coupure d'eau", accepted)
    return {
        **_desk(kit),
        "url": "/gestion/alertes/nouvelle",
        "data": _alert_data(title),
        "accepted": 303,
        "refused_check": lambda: _count(kit, Alert, title) == 0,
        "accepted_check": lambda: _count(kit, Alert, title) == 1,
    }


def edit_alert(kit, accepted: bool) -> dict:
    alert_id = _alert(kit)
    before = _title_of(kit, Alert, alert_id)
    title = _title("Coupure d'eau modifiée", accepted)
    return {
        **_desk(kit),
        "url": f"/gestion/alertes/{alert_id}",
        "data": _alert_data(title),
        "accepted": 303,
        "refused_check": lambda: _title_of(kit, Alert, alert_id) == before,
        "accepted_check": lambda: _title_of(kit, Alert, alert_id) == title,
    }


def delete_alert(kit, accepted: bool) -> dict:
    alert_id = _alert(kit)
    return {
        **_desk(kit),
        "url": f"/gestion/alertes/{alert_id}/supprimer",
        "data": {},
        "accepted": 303,
        "refused_check": lambda: _exists(kit, Alert, alert_id),
        "accepted_check": lambda: not _exists(kit, Alert, alert_id),
    }


# --- ateliers: the CAF agent, at its body's site ---------------------------------------------


def _caf(kit) -> dict:
    return {"client": kit.clients["caf"], "token": kit.tokens["caf"]}


def _caf_site_id(kit) -> int:
    return read(
        kit.app, lambda: db.session.scalars(select(Site.id).where(Site.slug == CAF_SITE)).one()
    )


def _atelier_data(kit, title: str) -> dict:
    return {
        "site_id": str(_caf_site_id(kit)),
        "body_id": "",
        "title": title,
        "theme": "démarches en ligne",
        "description": "Créer son espace personnel sur caf.fr.",
        "starts_at": STARTS.strftime(FORM),
        "ends_at": STARTS.replace(hour=11).strftime(FORM),
        "places": "8",
        "signup": "À l'accueil ou au 03 29 00 00 00",
        "signup_url": "",
    }


def _atelier(kit) -> int:
    """An atelier at the CAF's site, straight into the table."""
    title = _title("Atelier à modifier", False)
    site_id = _caf_site_id(kit)

    def make() -> int:
        stamp = datetime.now(UTC)
        atelier = Atelier(
            site_id=site_id,
            title=title,
            theme="démarches en ligne",
            description="",
            starts_at=STARTS,
            ends_at=STARTS.replace(hour=11),
            places=8,
            signup="À l'accueil",
            created_at=stamp,
            updated_at=stamp,
        )
        db.session.add(atelier)
        db.session.commit()
        return atelier.id

    return read(kit.app, make)


def new_atelier(kit, accepted: bool) -> dict:
    title = _title("Atelier espace personnel", accepted)
    return {
        **_caf(kit),
        "url": "/gestion/ateliers/nouveau",
        "data": _atelier_data(kit, title),
        "accepted": 303,
        "refused_check": lambda: _count(kit, Atelier, title) == 0,
        "accepted_check": lambda: _count(kit, Atelier, title) == 1,
    }


def edit_atelier(kit, accepted: bool) -> dict:
    atelier_id = _atelier(kit)
    before = _title_of(kit, Atelier, atelier_id)
    title = _title("Atelier espace personnel modifié", accepted)
    return {
        **_caf(kit),
        "url": f"/gestion/ateliers/{atelier_id}",
        "data": _atelier_data(kit, title),
        "accepted": 303,
        "refused_check": lambda: _title_of(kit, Atelier, atelier_id) == before,
        "accepted_check": lambda: _title_of(kit, Atelier, atelier_id) == title,
    }


def delete_atelier(kit, accepted: bool) -> dict:
    atelier_id = _atelier(kit)
    return {
        **_caf(kit),
        "url": f"/gestion/ateliers/{atelier_id}/supprimer",
        "data": {},
        "accepted": 303,
        "refused_check": lambda: _exists(kit, Atelier, atelier_id),
        "accepted_check": lambda: not _exists(kit, Atelier, atelier_id),
    }


SAMPLES = {
    "local_info.new_alert": new_alert,
    "local_info.edit_alert": edit_alert,
    "local_info.delete_alert": delete_alert,
    "local_info.new_atelier": new_atelier,
    "local_info.edit_atelier": edit_atelier,
    "local_info.delete_atelier": delete_atelier,
}
