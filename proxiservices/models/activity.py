"""Anonymous activity events for the elected members' figures, and the links that share them.

An event never names a person: no resident, no staff account, no free text. It says what
was needed, for which commune, at which desk, and when; request transitions add the body,
the statuses and the time elapsed since the request was sent.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from proxiservices.extensions import db
from proxiservices.models.types import UTCDateTime

VISIT = "visit"
REQUEST = "request"

DESK = "desk"
PUBLIC = "public"
API = "api"

TREE = "tree"
SEARCH = "search"


class ActivityEvent(db.Model):
    __tablename__ = "activity_event"
    __table_args__ = (
        # Covers the dashboard's scans of a period (read from the index alone).
        Index(
            "ix_activity_event_kind_day",
            "kind",
            "occurred_on",
            "channel",
            "commune_insee",
            "theme_id",
            "need_id",
            "outcome",
        ),
        Index("ix_activity_event_commune_day", "commune_insee", "occurred_on"),
        # Request transitions of a period, read from the index alone by PostgreSQL.
        Index(
            "ix_activity_event_requests",
            "occurred_on",
            postgresql_include=[
                "commune_insee",
                "body_id",
                "from_status",
                "to_status",
                "elapsed_seconds",
            ],
            postgresql_where=text("kind = 'request'"),
            sqlite_where=text("kind = 'request'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # visit | request
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The Paris calendar day of occurred_at: periods and trends are counted in local days,
    # which SQLite cannot derive from a UTC instant.
    occurred_on: Mapped[date] = mapped_column(Date)
    # Visits: desk (a logged-in receptionist), public (anonymous web page) or api.
    channel: Mapped[str | None] = mapped_column(String(10))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("need.id", ondelete="SET NULL"))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id", ondelete="SET NULL"))
    body_kind_code: Mapped[str | None] = mapped_column(String(40))
    # The resident's commune (not the desk's): the territory the figures belong to.
    commune_insee: Mapped[str] = mapped_column(ForeignKey("commune.insee"))
    desk_site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"))
    found_via: Mapped[str | None] = mapped_column(String(10))  # tree | search
    # Set by the receptionist in one click: oriented | accompanied | autonomous.
    outcome: Mapped[str | None] = mapped_column(String(20))
    # Request transitions: the body, the statuses, seconds since the request was sent.
    body_id: Mapped[int | None] = mapped_column(ForeignKey("body.id", ondelete="SET NULL"))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    elapsed_seconds: Mapped[int | None]


DAY = "day"
MONTH = "month"
ALL_AREAS = "*"


class ActivityCount(db.Model):
    """Visits counted per Paris day and per month, for a commune, its EPCI, its département
    and everywhere ("*"): the dashboard reads a year of a département from a few thousand
    of these instead of scanning the events. Kept in step with the events on every write
    (`services.activity`); `flask activity rebuild-counts` recomputes them from the events.

    `key` says what is counted: "desk" (desk visits), "channel:<channel>" (all visits),
    "need:<theme id or ->:<need id or ->", "outcome:<outcome or ->" and "commune:<INSEE>"
    (desk visits: the communes of a territory are read with its other figures)."""

    __tablename__ = "activity_count"
    __table_args__ = (
        # A period of one area, every key (the figures by need, outcome and channel); with
        # the count in the index, PostgreSQL reads it alone.
        UniqueConstraint("area_code", "grain", "day", "key", postgresql_include=["n"]),
        # One key over days or communes (the trend, the communes table).
        Index(
            "ix_activity_count_key", "key", "area_code", "grain", "day", postgresql_include=["n"]
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    grain: Mapped[str] = mapped_column(String(5))  # day | month
    # The day, or the first day of the month.
    day: Mapped[date] = mapped_column(Date)
    area_code: Mapped[str] = mapped_column(String(12))
    key: Mapped[str] = mapped_column(String(60))
    n: Mapped[int] = mapped_column(default=0)


class DashboardShare(db.Model):
    """A read-only link to the figures of one territory and period, for a council meeting.
    Only a hash of the token is stored: the link is shown once, when it is made."""

    __tablename__ = "dashboard_share"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None: every territory (an administrator's link).
    territory_code: Mapped[str | None] = mapped_column(String(20))
    period_kind: Mapped[str] = mapped_column(String(12))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
