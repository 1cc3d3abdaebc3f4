"""Sample POSTs of the directory administration for tests/web/test_csrf.py: each is a change
the CAF agent may make to its own body, with what proves it was made or not.

Each function takes test_csrf's `kit` and `accepted` and returns the keywords of its `Post`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select

from proxiservices.extensions import db
from proxiservices.models import Body, Closure, Permanence, Site
from tests.web.samples import read

CAF_SITE = "caf-vosges-epinal"


def _site(slug: str = CAF_SITE) -> Site:
    return db.session.scalars(select(Site).where(Site.slug == slug)).one()


def _caf(kit) -> dict:
    return {"client": kit.clients["caf"], "token": kit.tokens["caf"]}


def _new_phone() -> str:
    digits = f"{uuid.uuid4().int % 10**8:08d}"
    return f"03 {digits[:2]} {digits[2:4]} {digits[4:6]} {digits[6:]}"


def body_form(kit, accepted: bool) -> dict:
    phone = _new_phone()

    def current() -> str | None:
        return read(
            kit.app,
            lambda: db.session.scalars(select(Body.phone).where(Body.slug == "caf-vosges")).one(),
        )

    return {
        **_caf(kit),
        "url": "/gestion/organismes/caf-vosges/modifier",
        "data": {"phone": phone, "website": "https://www.caf.fr", "email": ""},
        "accepted": 303,
        "refused_check": lambda: current() != phone,
        "accepted_check": lambda: current() == phone,
    }


def site_form(kit, accepted: bool) -> dict:
    phone = _new_phone()

    def current() -> str | None:
        return read(kit.app, lambda: _site().phone)

    return {
        **_caf(kit),
        "url": f"/gestion/lieux/{CAF_SITE}/modifier",
        "data": {
            "name": "CAF des Vosges – accueil d'Épinal",
            "commune_insee": "88160",
            "postcode": "88000",
            "phone": phone,
            "opening_hours": "Mo-Fr 08:30-12:00; PH off",
            "coverage": "88",
        },
        "accepted": 303,
        "refused_check": lambda: current() != phone,
        "accepted_check": lambda: current() == phone,
    }


def _count(kit, model, **where) -> int:
    return read(kit.app, lambda: db.session.scalar(select(func.count(model.id)).filter_by(**where)))


def closure_form(kit, accepted: bool) -> dict:
    site_id = read(kit.app, lambda: _site().id)
    before = _count(kit, Closure, site_id=site_id)
    return {
        **_caf(kit),
        "url": f"/gestion/lieux/{CAF_SITE}/fermetures/nouvelle",
        "data": {"kind": "closed", "starts_at": "2031-12-24", "ends_at": "2031-12-26"},
        "accepted": 303,
        "refused_check": lambda: _count(kit, Closure, site_id=site_id) == before,
        "accepted_check": lambda: _count(kit, Closure, site_id=site_id) == before + 1,
    }


def _closure(kit) -> int:
    def make() -> int:
        closure = Closure(
            site_id=_site().id,
            kind="closed",
            starts_at=datetime(2031, 5, 2),
            ends_at=datetime(2031, 5, 3),
            message="Pont",
        )
        db.session.add(closure)
        db.session.commit()
        return closure.id

    return read(kit.app, make)


def delete_closure(kit, accepted: bool) -> dict:
    closure_id = _closure(kit)

    def exists() -> bool:
        return read(kit.app, lambda: db.session.get(Closure, closure_id) is not None)

    return {
        **_caf(kit),
        "url": f"/gestion/lieux/{CAF_SITE}/fermetures/{closure_id}/supprimer",
        "data": {},
        "accepted": 303,
        "refused_check": exists,
        "accepted_check": lambda: not exists(),
    }


def permanence_form(kit, accepted: bool) -> dict:
    host_id = read(kit.app, lambda: _site().id)
    before = _count(kit, Permanence)
    return {
        **_caf(kit),
        "url": "/gestion/organismes/caf-vosges/permanences/nouvelle",
        "data": {"host_site_id": str(host_id), "schedule": "Tu[1,3] 09:00-12:00"},
        "accepted": 303,
        "refused_check": lambda: _count(kit, Permanence) == before,
        "accepted_check": lambda: _count(kit, Permanence) == before + 1,
    }


def delete_permanence(kit, accepted: bool) -> dict:
    def make() -> int:
        site = _site()
        permanence = Permanence(
            body_id=site.body_id, host_site_id=site.id, schedule="Fr 09:00-12:00"
        )
        db.session.add(permanence)
        db.session.commit()
        return permanence.id

    permanence_id = read(kit.app, make)

    def exists() -> bool:
        return read(kit.app, lambda: db.session.get(Permanence, permanence_id) is not None)

    return {
        **_caf(kit),
        "url": f"/gestion/permanences/{permanence_id}/supprimer",
        "data": {},
        "accepted": 303,
        "refused_check": exists,
        "accepted_check": lambda: not exists(),
    }


def delete_site(kit, accepted: bool) -> dict:
    slug = f"antenne-jetable-{uuid.uuid4().hex[:8]}"

    def make() -> None:
        caf = _site().body_id
        db.session.add(Site(slug=slug, body_id=caf, name="Antenne jetable", commune_insee="88160"))
        db.session.commit()

    read(kit.app, make)

    def exists() -> bool:
        return read(
            kit.app,
            lambda: (
                db.session.scalars(select(Site.id).where(Site.slug == slug)).first() is not None
            ),
        )

    return {
        **_caf(kit),
        "url": f"/gestion/lieux/{slug}/supprimer",
        "data": {},
        "accepted": 303,
        "refused_check": exists,
        "accepted_check": lambda: not exists(),
    }


SAMPLES = {
    "manage.body_form": body_form,
    "manage.site_form": site_form,
    "manage.delete_site": delete_site,
    "manage.closure_form": closure_form,
    "manage.delete_closure": delete_closure,
    "manage.permanence_form": permanence_form,
    "manage.delete_permanence": delete_permanence,
}
