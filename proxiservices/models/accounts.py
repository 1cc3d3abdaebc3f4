"""Staff accounts: who may log in, with which role, attached to which desk, body or territory."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proxiservices.extensions import db
from proxiservices.models.directory import Body, Site
from proxiservices.models.types import UTCDateTime


class User(UserMixin, db.Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    # receptionist: its desk; partner: its body; elected: an INSEE, EPCI SIREN or "88".
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)
    body_id: Mapped[int | None] = mapped_column(ForeignKey("body.id"), index=True)
    territory_code: Mapped[str | None] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the session id: changing it (password change, disabling) ends every session.
    session_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    site: Mapped[Site | None] = relationship()
    body: Mapped[Body | None] = relationship()

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def display_name(self) -> str:
        return self.name or self.email


class LoginFailure(db.Model):
    """A failed login, kept briefly to throttle guessing per e-mail and per address."""

    __tablename__ = "login_failure"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class PasswordResetToken(db.Model):
    """Single use, expiring; only a hash of the token is stored."""

    __tablename__ = "password_reset_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class Referent(db.Model):
    """A named contact in a partner body, for staff only (the "interconnaissance")."""

    __tablename__ = "referent"

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    function: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    # New requests for the body are e-mailed to the referents marked here.
    notify: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)

    body: Mapped[Body] = relationship()
