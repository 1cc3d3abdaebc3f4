"""The directory: body kinds, bodies, their sites, coverage, permanences and closures."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proxiservices.extensions import db
from proxiservices.models.geo import Commune


class BodyKind(db.Model):
    __tablename__ = "body_kind"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(200))
    short_label: Mapped[str] = mapped_column(String(80))
    online_only: Mapped[bool] = mapped_column(default=False)
    help_desk: Mapped[bool] = mapped_column(default=False)
    fallback_kind: Mapped[str | None] = mapped_column(String(40))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)


class Body(db.Model):
    __tablename__ = "body"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind_code: Mapped[str] = mapped_column(ForeignKey("body_kind.code"), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    national: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str | None] = mapped_column(String(500))
    verified_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(Text)
    # Set when a person edits the row in the application: seeding then leaves it alone.
    edited_at: Mapped[datetime | None]

    kind: Mapped[BodyKind] = relationship()
    sites: Mapped[list[Site]] = relationship(
        back_populates="body", order_by="Site.name", foreign_keys="Site.body_id"
    )


class Site(db.Model):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(300))
    postcode: Mapped[str | None] = mapped_column(String(10))
    commune_insee: Mapped[str] = mapped_column(ForeignKey("commune.insee"), index=True)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    position_approx: Mapped[bool] = mapped_column(default=True)
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(500))
    opening_hours: Mapped[str | None] = mapped_column(String(500))
    hours_note: Mapped[str | None] = mapped_column(Text)
    accessibility: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(500))
    verified_on: Mapped[date | None]
    note: Mapped[str | None] = mapped_column(Text)
    edited_at: Mapped[datetime | None]

    body: Mapped[Body] = relationship(back_populates="sites", foreign_keys=[body_id])
    commune: Mapped[Commune] = relationship()
    coverage: Mapped[list[SiteCoverage]] = relationship(
        back_populates="site", cascade="all, delete-orphan"
    )
    closures: Mapped[list[Closure]] = relationship(
        back_populates="site", cascade="all, delete-orphan", order_by="Closure.starts_at"
    )

    @property
    def public_url(self) -> str | None:
        """The site's own page, else its body's website: somewhere to look it up."""
        return self.url or self.body.website


class SiteCoverage(db.Model):
    """One commune or territory (EPCI, département) that a site is competent for."""

    __tablename__ = "site_coverage"
    __table_args__ = (UniqueConstraint("site_id", "area_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    # An INSEE commune code, an EPCI SIREN or a département code.
    area_code: Mapped[str] = mapped_column(String(12), index=True)

    site: Mapped[Site] = relationship(back_populates="coverage")


class Permanence(db.Model):
    """A body present at a host site on a schedule (OSM opening_hours syntax)."""

    __tablename__ = "permanence"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"), index=True)
    host_site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    schedule: Mapped[str] = mapped_column(String(500))
    by_appointment: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(500))
    verified_on: Mapped[date | None]
    # Optional validity: a permanence announced for a season only.
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    edited_at: Mapped[datetime | None]

    body: Mapped[Body] = relationship(foreign_keys=[body_id])
    host_site: Mapped[Site] = relationship(foreign_keys=[host_site_id])


class Closure(db.Model):
    """A dated exception on a site; times are Europe/Paris wall-clock times."""

    __tablename__ = "closure"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="closed")  # closed | hours | message
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    message: Mapped[str] = mapped_column(Text, default="")
    opening_hours: Mapped[str | None] = mapped_column(String(500))

    site: Mapped[Site] = relationship(back_populates="closures")
