"""The decision tree: themes, questions, answers and needs (its leaves)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from proxiservices.extensions import db
from proxiservices.models.directory import BodyKind


class Theme(db.Model):
    __tablename__ = "theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(default=0)
    edited_at: Mapped[datetime | None]


class Question(db.Model):
    __tablename__ = "question"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    text: Mapped[str] = mapped_column(String(300))
    help: Mapped[str | None] = mapped_column(Text)
    # Every question belongs to a theme; the theme's root question has no parent.
    theme_id: Mapped[int] = mapped_column(ForeignKey("theme.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    edited_at: Mapped[datetime | None]

    answers: Mapped[list[Answer]] = relationship(
        back_populates="question",
        order_by="Answer.position",
        cascade="all, delete-orphan",
        foreign_keys="Answer.question_id",
    )
    theme: Mapped[Theme] = relationship(foreign_keys=[theme_id])
    parent: Mapped[Question | None] = relationship(remote_side="Question.id")


class Answer(db.Model):
    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("question_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id"), index=True)
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(300))
    next_question_id: Mapped[int | None] = mapped_column(ForeignKey("question.id"))
    need_id: Mapped[int | None] = mapped_column(ForeignKey("need.id"))

    question: Mapped[Question] = relationship(back_populates="answers", foreign_keys=[question_id])
    next_question: Mapped[Question | None] = relationship(foreign_keys=[next_question_id])
    need: Mapped[Need | None] = relationship()


class CatalogueTheme(db.Model):
    """A node of the service-public.fr theme hierarchy (theme, sub-theme, dossier): the
    secondary way into the catalogue fiches, next to the curated tree."""

    __tablename__ = "catalogue_theme"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The service-public.fr identifier (N19810, N103, N358…).
    code: Mapped[str] = mapped_column(String(20), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("catalogue_theme.id"), index=True)
    position: Mapped[int] = mapped_column(default=0)

    parent: Mapped[CatalogueTheme | None] = relationship(remote_side="CatalogueTheme.id")


CURATED = "curated"
CATALOGUE = "catalogue"


class Need(db.Model):
    __tablename__ = "need"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    theme_id: Mapped[int | None] = mapped_column(ForeignKey("theme.id"), index=True)
    summary: Mapped[str | None] = mapped_column(Text)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Words that single out this need's situation among its neighbours ("agricole",
    # "volé", "né à l'étranger"): they weigh most in search.
    situations: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    body_kind_code: Mapped[str] = mapped_column(ForeignKey("body_kind.code"), index=True)
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    online_url: Mapped[str | None] = mapped_column(String(500))
    online_label: Mapped[str | None] = mapped_column(String(300))
    self_service: Mapped[list[str]] = mapped_column(JSON, default=list)
    help_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    request_possible: Mapped[bool] = mapped_column(default=False)
    # Which office of the kind answers: see proxiservices.domain.places.
    place: Mapped[str] = mapped_column(String(20), default="residence", server_default="residence")
    notice: Mapped[str | None] = mapped_column(Text)
    notice_url: Mapped[str | None] = mapped_column(String(500))
    source_url: Mapped[str | None] = mapped_column(String(500))
    # "curated" (the desk's tree) or "catalogue" (a service-public.fr fiche, slug sp-F…).
    origin: Mapped[str] = mapped_column(
        String(20), default=CURATED, server_default=CURATED, index=True
    )
    catalogue_theme_id: Mapped[int | None] = mapped_column(
        ForeignKey("catalogue_theme.id"), index=True
    )
    # Catalogue fiches: the online services ({"title", "url"}), the further body kinds of
    # "où s'adresser" after the primary one, that text itself when no kind is mapped,
    # and the date of the copy.
    online_services: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")
    other_kinds: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    where_text: Mapped[str | None] = mapped_column(Text)
    source_date: Mapped[date | None]
    edited_at: Mapped[datetime | None]

    theme: Mapped[Theme | None] = relationship()
    catalogue_theme: Mapped[CatalogueTheme | None] = relationship()
    body_kind: Mapped[BodyKind] = relationship()
