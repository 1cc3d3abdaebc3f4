"""Demonstration accounts and referents (seeds/demo/), loaded only by `flask seed --demo`.

Idempotent: accounts are matched by e-mail, referents by (body, name). An existing
account keeps its password, so a demo password changed by hand stays changed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from proxiservices.extensions import db
from proxiservices.models import Body, Referent, User
from proxiservices.services.accounts import AccountError, add_user, attach_user
from proxiservices.services.seeding import Report, SeedError

DEMO_WARNING = (
    "Attention : comptes et contacts FICTIFS (@example.org), mot de passe commun indiqué dans "
    "seeds/demo/accounts.yaml. À réserver aux instances de démonstration."
)


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def seed_demo(seed_dir: str | Path, at: datetime) -> Report:
    """Load seeds/demo/accounts.yaml and referents.yaml (after the reference seeds)."""
    seed_dir = Path(seed_dir)
    report = Report()
    try:
        if (seed_dir / "accounts.yaml").exists():
            _seed_accounts(_read(seed_dir / "accounts.yaml"), at, report)
        if (seed_dir / "referents.yaml").exists():
            _seed_referents(_read(seed_dir / "referents.yaml"), report)
        _seed_dashboard_demo(seed_dir, at, report)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return report


def _attachment(raw: dict[str, Any]) -> dict[str, str | None]:
    def text(key: str) -> str | None:
        value = raw.get(key)
        return None if value is None else str(value)

    return {
        "body_slug": text("body"),
        "site_ref": text("site"),
        "commune_insee": text("commune"),
        "territory_code": text("territory"),
    }


def _seed_accounts(data: dict[str, Any], at: datetime, report: Report) -> None:
    password = str(data["password"])
    for raw in data["accounts"]:
        email = str(raw["email"]).strip().lower()
        try:
            user = db.session.scalars(select(User).where(User.email == email)).one_or_none()
            if user is None:
                add_user(
                    email=email,
                    role=raw["role"],
                    password=password,
                    at=at,
                    name=raw.get("name"),
                    **_attachment(raw),
                )
                report["comptes de démonstration créés"] += 1
                continue
            before = (user.name, user.role, user.site_id, user.body_id, user.territory_code)
            user.name, user.role = raw.get("name"), raw["role"]
            attach_user(user, **_attachment(raw))
            if (user.name, user.role, user.site_id, user.body_id, user.territory_code) != before:
                report["comptes de démonstration mis à jour"] += 1
        except AccountError as error:
            raise SeedError(f"accounts.yaml, compte {email} : {error}") from error


def _seed_referents(data: dict[str, Any], report: Report) -> None:
    bodies = {b.slug: b for b in db.session.scalars(select(Body))}
    for group in data["referents"]:
        body = bodies.get(group["body"])
        if body is None:
            raise SeedError(f"referents.yaml : organisme inconnu {group['body']}")
        existing = {
            r.name: r
            for r in db.session.scalars(select(Referent).where(Referent.body_id == body.id))
        }
        for position, raw in enumerate(group["contacts"]):
            values = {
                "function": raw.get("function"),
                "phone": raw.get("phone"),
                "email": raw.get("email"),
                "notify": bool(raw.get("notify")),
                "note": raw.get("note"),
                "position": position,
            }
            referent = existing.get(raw["name"])
            if referent is None:
                db.session.add(Referent(body_id=body.id, name=raw["name"], **values))
                report["référents de démonstration créés"] += 1
                continue
            changed = False
            for key, value in values.items():
                if getattr(referent, key) != value:
                    setattr(referent, key, value)
                    changed = True
            if changed:
                report["référents de démonstration mis à jour"] += 1


# --- the elected members' dashboard (issue 6) ----------------------------------------------

DEMO_ELECTED = "demo.elu.cc-bruyeres@example.org"
DEMO_TERRITORY = "200042000"  # CC Bruyères-Vallons des Vosges


def _seed_dashboard_demo(seed_dir: Path, at: datetime, report: Report) -> None:
    """An élu of the CC Bruyères-Vallons des Vosges and a few hundred anonymous events of
    the last 90 days, so that the dashboard is not empty; events only on an empty table."""
    import random
    from datetime import timedelta

    from proxiservices.domain.hours import PARIS
    from proxiservices.models import ActivityEvent, Commune, Need, Site
    from proxiservices.services.activity import record_visit

    if db.session.scalars(select(User).where(User.email == DEMO_ELECTED)).first() is None:
        accounts = seed_dir / "accounts.yaml"
        password = str(_read(accounts)["password"]) if accounts.exists() else "demo-proxiservices"
        add_user(
            email=DEMO_ELECTED,
            role="elected",
            password=password,
            at=at,
            name="Élu de démonstration (CC Bruyères-Vallons des Vosges)",
            territory_code=DEMO_TERRITORY,
        )
        report["comptes de démonstration créés"] += 1
    if db.session.scalars(select(ActivityEvent.id).limit(1)).first() is not None:
        return
    rng = random.Random(88)
    communes = list(
        db.session.scalars(select(Commune.insee).where(Commune.epci_code == DEMO_TERRITORY))
    )
    curated = list(db.session.scalars(select(Need).where(Need.origin == "curated")))
    needs = rng.sample(curated, min(25, len(curated)))
    desk = db.session.scalars(select(Site).where(Site.slug == "mairie-88078")).first()
    bodies = list(
        db.session.scalars(select(Body).where(Body.slug.in_(["caf-vosges", "cpam-vosges"])))
    )
    if not communes or not needs or desk is None:
        return
    weights = [40 if c == "88078" else rng.randint(1, 8) for c in communes]
    for _ in range(400):
        when = at - timedelta(minutes=rng.randrange(90 * 24 * 60))
        need = rng.choice(needs[:12] if rng.random() < 0.7 else needs)
        channel = rng.choices(["desk", "public", "api"], [75, 20, 5])[0]
        commune = rng.choices(communes, weights)[0]
        found_via = rng.choice(["tree", "search"])
        outcome = None
        if channel == "desk":
            outcome = rng.choice(["oriented", "accompanied", "autonomous", "autonomous", None])
        record_visit(
            need,
            commune,
            channel,
            when,
            desk_site_id=desk.id,
            found_via=found_via,
            outcome=outcome,
            commit=False,
        )
    steps = [
        (None, "submitted", 0),
        ("submitted", "in_progress", 2.5),
        ("in_progress", "closed", 8),
    ]
    for body in bodies:
        for _ in range(12):
            sent = at - timedelta(days=rng.randint(12, 85))
            for before, after, days in steps:
                elapsed = int(days * 86400 * rng.uniform(0.4, 1.8))
                when = sent + timedelta(seconds=elapsed)
                db.session.add(
                    ActivityEvent(
                        kind="request",
                        occurred_at=when,
                        occurred_on=when.astimezone(PARIS).date(),
                        need_id=needs[0].id,
                        theme_id=needs[0].theme_id,
                        commune_insee=rng.choices(communes, weights)[0],
                        desk_site_id=desk.id,
                        body_id=body.id,
                        from_status=before,
                        to_status=after,
                        elapsed_seconds=elapsed,
                    )
                )
    report["événements anonymes de démonstration (tableau de bord)"] += 400 + 36 * len(bodies)
