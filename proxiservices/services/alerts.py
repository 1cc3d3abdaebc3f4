"""Local alerts (MAELIS-style): works, water cuts, closed services for a commune, an EPCI
or the département. Who may post where, which alerts a commune sees, and the audited edits.

Dates are Europe/Paris wall-clock times (naive), as people read them on a poster.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select, union_all

from proxiservices.domain import roles
from proxiservices.domain.hours import PARIS
from proxiservices.extensions import db
from proxiservices.models import Alert, BodyKind, Commune, Territory, User
from proxiservices.models.upkeep import ALERT_CATEGORIES, ALERT_SEVERITIES
from proxiservices.services import audit

# Coming alerts are announced this many days before they start (desk home, results, feed).
AHEAD_DAYS = 7
PAST_SHOWN = 50
FIELDS = (
    "area_code",
    "category",
    "severity",
    "title",
    "message",
    "body_kind_code",
    "starts_at",
    "ends_at",
)
SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}


class AlertScopeError(PermissionError):
    """The actor may not post or edit an alert for this area; the message is shown as is."""


@dataclass(frozen=True)
class AlertInput:
    area_code: str
    category: str
    severity: str
    title: str
    message: str
    body_kind_code: str | None
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class ShownAlert:
    """An alert as a page shows it: where it applies, and whether it runs now."""

    alert: Alert
    area_name: str
    current: bool
    body_kind: BodyKind | None = None

    @property
    def severity_label(self) -> str:
        return ALERT_SEVERITIES.get(self.alert.severity, self.alert.severity)

    @property
    def category_label(self) -> str:
        return ALERT_CATEGORIES.get(self.alert.category, self.alert.category)


def wall_clock(at: datetime) -> datetime:
    """The naive Paris time that alert dates are compared with."""
    return at.astimezone(PARIS).replace(tzinfo=None)


def desk_commune(actor: User) -> Commune | None:
    """The commune of a receptionist's desk (its site's commune)."""
    return actor.site.commune if actor.site is not None else None


def allowed_areas(actor: User) -> set[str] | None:
    """Area codes the actor may post for: None means any (administrators)."""
    if roles.may(actor.role, roles.ADMINISTER):
        return None
    if not roles.may(actor.role, roles.PUBLISH_ALERTS):
        return set()
    commune = desk_commune(actor)
    return {commune.insee} if commune is not None else set()


def check_area(actor: User, area_code: str) -> None:
    allowed = allowed_areas(actor)
    if allowed is not None and area_code not in allowed:
        raise AlertScopeError(
            "Un agent d'accueil ne publie des alertes que pour la commune de son accueil."
        )


def list_areas() -> list[tuple[str, list[tuple[str, str]]]]:
    """Areas an alert may name, grouped for a select: départements, EPCIs, communes."""
    territories = list(db.session.scalars(select(Territory).order_by(Territory.name)))
    communes = db.session.execute(
        select(Commune.insee, Commune.name, Commune.postcodes).order_by(Commune.name)
    ).all()
    return [
        (
            "Département",
            [(t.code, f"{t.name} ({t.code})") for t in territories if t.kind == "departement"],
        ),
        ("Intercommunalités", [(t.code, t.name) for t in territories if t.kind == "epci"]),
        ("Communes", [(c.insee, f"{c.name} ({c.postcodes.split(' ')[0]})") for c in communes]),
    ]


def area_names(codes: Iterable[str]) -> dict[str, str]:
    """Human names of area codes (communes and territories), in one query."""
    codes = set(codes)
    if not codes:
        return {}
    stmt = union_all(
        select(Territory.code, Territory.name).where(Territory.code.in_(codes)),
        select(Commune.insee, Commune.name).where(Commune.insee.in_(codes)),
    )
    return {code: name for code, name in db.session.execute(stmt)}


def is_known_area(code: str) -> bool:
    return bool(code) and bool(area_names([code]))


def _shown(alerts: list[Alert], at: datetime) -> list[ShownAlert]:
    names = area_names(a.area_code for a in alerts)
    codes = {a.body_kind_code for a in alerts if a.body_kind_code}
    kinds = (
        {k.code: k for k in db.session.scalars(select(BodyKind).where(BodyKind.code.in_(codes)))}
        if codes
        else {}
    )
    return shown_with(alerts, at, names, kinds)


def shown_with(
    alerts: list[Alert], at: datetime, names: dict[str, str], kinds: dict[str, BodyKind]
) -> list[ShownAlert]:
    """The alerts as pages show them, from area names and body kinds already at hand."""
    local = wall_clock(at)
    shown = [
        ShownAlert(
            alert=a,
            area_name=names.get(a.area_code, a.area_code),
            current=a.starts_at <= local,
            body_kind=kinds.get(a.body_kind_code) if a.body_kind_code else None,
        )
        for a in alerts
    ]
    shown.sort(
        key=lambda s: (not s.current, SEVERITY_ORDER.get(s.alert.severity, 9), s.alert.starts_at)
    )
    return shown


def list_for_areas(
    codes: Iterable[str],
    at: datetime,
    ahead_days: int = AHEAD_DAYS,
    body_kind_codes: Iterable[str] | None = None,
) -> list[ShownAlert]:
    """Alerts naming one of `codes` that run at `at` or start within `ahead_days`; with
    body kinds, the alerts for every kind and those for one of these kinds only."""
    codes = set(codes)
    if not codes:
        return []
    local = wall_clock(at)
    stmt = select(Alert).where(
        Alert.area_code.in_(codes),
        Alert.ends_at >= local,
        Alert.starts_at <= local + timedelta(days=ahead_days),
    )
    if body_kind_codes is not None:
        stmt = stmt.where(
            or_(Alert.body_kind_code.is_(None), Alert.body_kind_code.in_(set(body_kind_codes)))
        )
    return _shown(list(db.session.scalars(stmt.order_by(Alert.starts_at, Alert.id))), at)


def pick_for_areas(
    alerts: Iterable[Alert],
    codes: Iterable[str],
    at: datetime,
    ahead_days: int = AHEAD_DAYS,
    body_kind_codes: Iterable[str] | None = None,
) -> list[Alert]:
    """What list_for_areas selects, from alerts already loaded (sorted by start, then id):
    the orientation answer filters the rows it keeps in memory (directory_memory.py)."""
    codes = set(codes)
    local = wall_clock(at)
    until = local + timedelta(days=ahead_days)
    kinds = None if body_kind_codes is None else set(body_kind_codes)
    return [
        a
        for a in alerts
        if a.area_code in codes
        and a.ends_at >= local
        and a.starts_at <= until
        and (kinds is None or a.body_kind_code is None or a.body_kind_code in kinds)
    ]


def list_for_commune(
    commune: Commune, at: datetime, body_kind_codes: Iterable[str] | None = None
) -> list[ShownAlert]:
    """What concerns a commune: its own alerts, its EPCI's and its département's (with
    body kinds: only the alerts for every kind or for one of these)."""
    return list_for_areas(commune.territory_codes, at, body_kind_codes=body_kind_codes)


def list_for_communes(communes: Iterable[Commune | None], at: datetime) -> list[ShownAlert]:
    """The desk home page: the desk's commune and the resident's, without repeats."""
    codes: set[str] = set()
    for commune in communes:
        if commune is not None:
            codes |= commune.territory_codes
    return list_for_areas(codes, at)


@dataclass
class ManagedAlerts:
    current: list[ShownAlert]
    coming: list[ShownAlert]
    past: list[ShownAlert]


def list_managed(actor: User, at: datetime) -> ManagedAlerts:
    """The management list: everything for an administrator, the desk's commune otherwise."""
    allowed = allowed_areas(actor)
    stmt = select(Alert)
    if allowed is not None:
        stmt = stmt.where(Alert.area_code.in_(allowed))
    local = wall_clock(at)
    live = list(db.session.scalars(stmt.where(Alert.ends_at >= local).order_by(Alert.starts_at)))
    past = list(
        db.session.scalars(
            stmt.where(Alert.ends_at < local).order_by(Alert.ends_at.desc()).limit(PAST_SHOWN)
        )
    )
    shown = _shown(live + past, at)
    return ManagedAlerts(
        current=[s for s in shown if s.current and s.alert.ends_at >= local],
        coming=[s for s in shown if not s.current],
        past=sorted(
            (s for s in shown if s.alert.ends_at < local),
            key=lambda s: s.alert.ends_at,
            reverse=True,
        ),
    )


def get_alert_for(actor: User, alert_id: int) -> Alert | None:
    """The alert, None when no alert has this id; AlertScopeError when it is not the actor's."""
    alert = db.session.get(Alert, alert_id)
    if alert is None:
        return None
    check_area(actor, alert.area_code)
    return alert


def _apply(alert: Alert, data: AlertInput) -> None:
    alert.area_code = data.area_code
    alert.category = data.category
    alert.severity = data.severity
    alert.title = data.title
    alert.message = data.message
    alert.body_kind_code = data.body_kind_code or None
    alert.starts_at = data.starts_at
    alert.ends_at = data.ends_at


def _label(alert: Alert) -> str:
    return f"{alert.title} ({alert.area_code})"


def create_alert(actor: User, data: AlertInput, at: datetime) -> Alert:
    check_area(actor, data.area_code)
    stamp = at.astimezone(UTC)
    alert = Alert(created_at=stamp, updated_at=stamp, created_by_id=actor.id)
    _apply(alert, data)
    db.session.add(alert)
    db.session.flush()
    audit.record(
        actor,
        "alert",
        alert.id,
        _label(alert),
        audit.CREATE,
        {},
        audit.snapshot(alert, FIELDS),
        stamp,
    )
    db.session.commit()
    return alert


def update_alert(actor: User, alert: Alert, data: AlertInput, at: datetime) -> Alert:
    check_area(actor, alert.area_code)
    check_area(actor, data.area_code)
    before = audit.snapshot(alert, FIELDS)
    _apply(alert, data)
    after = audit.snapshot(alert, FIELDS)
    if after != before:
        alert.updated_at = at.astimezone(UTC)
    audit.record(actor, "alert", alert.id, _label(alert), audit.UPDATE, before, after, at)
    db.session.commit()
    return alert


def delete_alert(actor: User, alert: Alert, at: datetime) -> None:
    check_area(actor, alert.area_code)
    before = audit.snapshot(alert, FIELDS)
    audit.record(actor, "alert", alert.id, _label(alert), audit.DELETE, before, None, at)
    db.session.delete(alert)
    db.session.commit()
