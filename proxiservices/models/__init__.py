"""SQLAlchemy models, one module per aggregate."""

from proxiservices.models.directory import (
    Body,
    BodyKind,
    Closure,
    Permanence,
    Site,
    SiteCoverage,
)
from proxiservices.models.geo import Commune, Territory
from proxiservices.models.tree import Answer, Need, Question, Theme

__all__ = [
    "Answer",
    "Body",
    "BodyKind",
    "Closure",
    "Commune",
    "Need",
    "Permanence",
    "Question",
    "Site",
    "SiteCoverage",
    "Territory",
    "Theme",
]
