"""Keeping the directory true: the audit trail, local alerts, ateliers, error reports from
the field and the results of the link checker.

Dates of alerts and ateliers are Europe/Paris wall-clock times (naive), like closures:
they are what people read on a poster, not instants.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proxiservices.extensions import db
from proxiservices.models.accounts import User
from proxiservices.models.directory import Body, Site
from proxiservices.models.types import UTCDateTime


class AuditEntry(db.Model):
    """One change made in the application: who, when, what, and each field before → after."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )
    # The actor's e-mail when the change was made: it survives the account's removal.
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    # body, site, closure, permanence, alert, atelier, theme, question, need, report, import…
    object_type: Mapped[str] = mapped_column(String(30))
    object_id: Mapped[str] = mapped_column(String(120))
    object_label: Mapped[str] = mapped_column(String(300), default="")
    action: Mapped[str] = mapped_column(String(20))  # create | update | delete | import
    # {field: [before, after]}; values are JSON-friendly (dates as ISO strings).
    changes: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()


ALERT_CATEGORIES = {
    "works": "Travaux",
    "water": "Coupure d'eau",
    "service_closed": "Service fermé",
    "hours_changed": "Horaires modifiés",
    "flood": "Risque d'inondation",
    "other": "Information",
}
ALERT_SEVERITIES = {"info": "Information", "warning": "Attention", "critical": "Alerte"}


class Alert(db.Model):
    """A local alert for a commune, an EPCI or the département (MAELIS-style)."""

    __tablename__ = "alert"

    id: Mapped[int] = mapped_column(primary_key=True)
    # An INSEE commune code, an EPCI SIREN or a département code, as site coverage.
    area_code: Mapped[str] = mapped_column(String(12), index=True)
    category: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10), default="info")
    title: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text, default="")
    # When set, the alert concerns results answered by this body kind only.
    body_kind_code: Mapped[str | None] = mapped_column(ForeignKey("body_kind.code"))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )


class Atelier(db.Model):
    """A collective workshop (conseillers numériques, France Services) on a date at a site."""

    __tablename__ = "atelier"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    # The organising body when it is not the host site's own (a conseiller numérique).
    body_id: Mapped[int | None] = mapped_column(ForeignKey("body.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    theme: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    places: Mapped[int | None]
    signup: Mapped[str] = mapped_column(Text, default="")  # how to sign up, in French
    signup_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    site: Mapped[Site] = relationship()
    body: Mapped[Body | None] = relationship()


REPORT_OPEN = "open"
REPORT_FIXED = "fixed"
REPORT_REJECTED = "rejected"


class ErrorReport(db.Model):
    """ "Signaler une erreur" on a site page: the administrators' queue."""

    __tablename__ = "error_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    # What is wrong: phone, address, hours, closed, other.
    topic: Mapped[str] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    # Optional address to answer the reporter; purged with the report.
    contact: Mapped[str | None] = mapped_column(String(200))
    reporter_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(10), default=REPORT_OPEN, index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    resolution: Mapped[str | None] = mapped_column(Text)

    site: Mapped[Site] = relationship()


class LinkCheck(db.Model):
    """The last result of the link checker for one URL found in the directory or the tree."""

    __tablename__ = "link_check"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(500), unique=True)
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool]
    status_code: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(String(300))
