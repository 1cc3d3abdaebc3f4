"""SQLAlchemy models, one module per aggregate."""

from proxiservices.models.accounts import LoginFailure, PasswordResetToken, Referent, User
from proxiservices.models.activity import ActivityCount, ActivityEvent, DashboardShare
from proxiservices.models.cache import DirectoryGeneration
from proxiservices.models.directory import (
    Body,
    BodyKind,
    Closure,
    Permanence,
    Site,
    SiteCoverage,
)
from proxiservices.models.geo import Commune, Territory
from proxiservices.models.outbox import OutboxAttempt, OutboxMessage
from proxiservices.models.requests import AppointmentRequest, RequestEvent
from proxiservices.models.screen import ScreenDesk, ScreenPairing
from proxiservices.models.search import CatalogueRevision, UnansweredSearch
from proxiservices.models.tree import Answer, CatalogueTheme, Need, Question, Theme
from proxiservices.models.upkeep import Alert, Atelier, AuditEntry, ErrorReport, LinkCheck

__all__ = [
    "ActivityCount",
    "ActivityEvent",
    "Alert",
    "Answer",
    "AppointmentRequest",
    "Atelier",
    "AuditEntry",
    "Body",
    "BodyKind",
    "CatalogueRevision",
    "CatalogueTheme",
    "Closure",
    "Commune",
    "DashboardShare",
    "DirectoryGeneration",
    "ErrorReport",
    "LinkCheck",
    "LoginFailure",
    "Need",
    "OutboxAttempt",
    "OutboxMessage",
    "PasswordResetToken",
    "Permanence",
    "Question",
    "Referent",
    "RequestEvent",
    "ScreenDesk",
    "ScreenPairing",
    "Site",
    "SiteCoverage",
    "Territory",
    "Theme",
    "UnansweredSearch",
    "User",
]
