"""Requests routed from a reception desk to a partner body, and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proxiservices.extensions import db
from proxiservices.models.accounts import User
from proxiservices.models.directory import Body, Site
from proxiservices.models.geo import Commune
from proxiservices.models.tree import Need
from proxiservices.models.types import UTCDateTime


class AppointmentRequest(db.Model):
    __tablename__ = "appointment_request"
    __table_args__ = (
        # The purge's candidates (domain/retention.py): the requests not anonymised yet, by
        # the time of their last change, which for an ended request is when it ended and for
        # an open one is no later than its last activity.
        Index(
            "ix_appointment_request_to_purge",
            "status_changed_at",
            postgresql_where=text("anonymised_at IS NULL"),
            sqlite_where=text("anonymised_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), index=True)
    commune_insee: Mapped[str] = mapped_column(ForeignKey("commune.insee"), index=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"), index=True)
    desk_site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    sender_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)

    # Personal data: minimised, and only with the consent recorded below.
    resident_name: Mapped[str] = mapped_column(String(120))
    # Indexed for the right of access and erasure (services/privacy.py).
    resident_phone: Mapped[str | None] = mapped_column(String(30), index=True)
    resident_email: Mapped[str | None] = mapped_column(String(254))
    preferred_channel: Mapped[str] = mapped_column(String(10))
    time_slots: Mapped[str] = mapped_column(String(200), default="")
    availability: Mapped[str | None] = mapped_column(String(200))
    message: Mapped[str | None] = mapped_column(Text)
    consent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    consent_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    status: Mapped[str] = mapped_column(String(20), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    scheduled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scheduled_mode: Mapped[str | None] = mapped_column(String(10))
    scheduled_place: Mapped[str | None] = mapped_column(String(300))
    # Why it was refused, cancelled or redirected, as written by the person who did it.
    reason: Mapped[str | None] = mapped_column(Text)
    redirected_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment_request.id"), index=True
    )
    reminders_sent: Mapped[int] = mapped_column(default=0)
    last_reminder_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    need: Mapped[Need] = relationship()
    commune: Mapped[Commune] = relationship()
    body: Mapped[Body] = relationship()
    desk: Mapped[Site] = relationship()
    sender: Mapped[User] = relationship(foreign_keys=[sender_id])
    consent_by: Mapped[User] = relationship(foreign_keys=[consent_by_id])
    redirected_from: Mapped[AppointmentRequest | None] = relationship(
        remote_side=[id], back_populates="redirected_to"
    )
    redirected_to: Mapped[list[AppointmentRequest]] = relationship(back_populates="redirected_from")
    events: Mapped[list[RequestEvent]] = relationship(
        back_populates="request", order_by="(RequestEvent.at, RequestEvent.id)"
    )

    @property
    def reference(self) -> str:
        return f"D-{self.id:06d}"


class RequestEvent(db.Model):
    """One line of a request's history: who moved it from which status to which, and why."""

    __tablename__ = "request_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("appointment_request.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    comment: Mapped[str | None] = mapped_column(Text)

    request: Mapped[AppointmentRequest] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
