"""The resident screen: a desk session that screens follow, and the screens paired with it.

Rows hold no personal data: the desk's current screen is a kind and identifiers
(domain/screen.py), codes and screen tokens are kept as keyed hashes only.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from proxiservices.extensions import db
from proxiservices.models.types import UTCDateTime


class ScreenDesk(db.Model):
    """One login session of a desk that shows its orientation to residents, for one day."""

    __tablename__ = "screen_desk"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    # The encoded ScreenState; `version` grows by one each time it changes (the ETag).
    state: Mapped[str] = mapped_column(String(1000), default="home")
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The pairing code waiting to be typed on a tablet: single use, valid a few minutes.
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ScreenPairing(db.Model):
    """A screen (a tablet, or a second window of the desk's browser) following a desk."""

    __tablename__ = "screen_pairing"

    id: Mapped[int] = mapped_column(primary_key=True)
    desk_id: Mapped[int] = mapped_column(
        ForeignKey("screen_desk.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # "tablette" | "fenetre"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
