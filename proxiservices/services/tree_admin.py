"""Editing the decision tree: themes, questions and their answers, needs and their search
vocabulary. Every change is checked against the whole stored tree (no loop, no lost
question), audited field by field, and marks the row as edited so seeding keeps it."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload, load_only, selectinload

from proxiservices.domain.text import fold
from proxiservices.domain.tree import AnswerLink, TreeError, check_graph
from proxiservices.extensions import db
from proxiservices.models import Answer, BodyKind, Need, Question, Theme
from proxiservices.models.accounts import User
from proxiservices.models.tree import CATALOGUE, CURATED
from proxiservices.services import audit
from proxiservices.services.search import search_needs

THEME_FIELDS = ("title", "description", "position")
QUESTION_FIELDS = ("text", "help", "answers")
VOCABULARY_FIELDS = ("keywords", "situations")
NEED_FIELDS = (
    "title",
    "theme",
    "summary",
    "body_kind_code",
    "documents",
    "online_url",
    "online_label",
    "self_service",
    "help_kinds",
    "request_possible",
    "place",
    "notice",
    "notice_url",
    "source_url",
)
FIELD_LABELS = {
    "slug": "identifiant",
    "title": "titre",
    "description": "description",
    "position": "ordre",
    "text": "question",
    "help": "aide",
    "answers": "réponses",
    "theme": "thème",
    "summary": "résumé",
    "body_kind_code": "type d'organisme",
    "documents": "documents",
    "online_url": "démarche en ligne",
    "online_label": "libellé du lien",
    "self_service": "étapes « faire soi-même »",
    "help_kinds": "lieux d'aide",
    "request_possible": "demande possible",
    "place": "lieu compétent",
    "notice": "avertissement",
    "notice_url": "lien de l'avertissement",
    "source_url": "source",
    "keywords": "mots-clés",
    "situations": "situations",
}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
RESERVED_SLUGS = frozenset({"nouveau"})


class NotEditable(PermissionError):
    """A catalogue fiche: its content comes from service-public.fr, only its vocabulary
    is the desk's."""


def _edited_at(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


# -- reading ------------------------------------------------------------------------------


@dataclass
class QuestionView:
    question: Question
    answers: list[AnswerView] = field(default_factory=list)


@dataclass
class AnswerView:
    answer: Answer
    next: QuestionView | None = None


@dataclass
class ThemeView:
    theme: Theme
    root: QuestionView | None


@dataclass
class Overview:
    themes: list[ThemeView]
    off_tree: list[Need]  # curated needs no answer leads to: found only by search
    questions: int
    answers: int


def tree_overview() -> Overview:
    """The whole curated tree, nested, in four queries whatever its size."""
    themes = list(db.session.scalars(select(Theme).order_by(Theme.position, Theme.title)))
    questions = {q.id: q for q in db.session.scalars(select(Question).order_by(Question.id))}
    answers = list(
        db.session.scalars(
            select(Answer)
            .options(
                joinedload(Answer.need).load_only(
                    Need.id, Need.slug, Need.title, Need.body_kind_code, Need.origin
                )
            )
            .order_by(Answer.question_id, Answer.position)
        )
    )
    views = {qid: QuestionView(q) for qid, q in questions.items()}
    for a in answers:
        views[a.question_id].answers.append(
            AnswerView(a, views.get(a.next_question_id) if a.next_question_id else None)
        )
    roots = {q.theme_id: views[q.id] for q in questions.values() if q.parent_id is None}
    reached = {a.need_id for a in answers if a.need_id is not None}
    off_tree = [
        n
        for n in db.session.scalars(
            select(Need)
            .where(Need.origin == CURATED)
            .options(load_only(Need.id, Need.slug, Need.title, Need.body_kind_code))
            .order_by(Need.title)
        )
        if n.id not in reached
    ]
    return Overview(
        themes=[ThemeView(t, roots.get(t.id)) for t in themes],
        off_tree=off_tree,
        questions=len(questions),
        answers=len(answers),
    )


def get_theme(slug: str) -> Theme | None:
    return db.session.scalars(select(Theme).where(Theme.slug == slug)).one_or_none()


def list_themes() -> list[Theme]:
    return list(db.session.scalars(select(Theme).order_by(Theme.position, Theme.title)))


def get_question(slug: str) -> Question | None:
    stmt = (
        select(Question)
        .where(Question.slug == slug)
        .options(
            joinedload(Question.theme),
            joinedload(Question.parent),
            selectinload(Question.answers).joinedload(Answer.need),
            selectinload(Question.answers).joinedload(Answer.next_question),
        )
    )
    return db.session.scalars(stmt).unique().one_or_none()


def get_answer(answer_id: int) -> Answer | None:
    stmt = (
        select(Answer)
        .where(Answer.id == answer_id)
        .options(
            joinedload(Answer.question).joinedload(Question.theme),
            joinedload(Answer.need),
            joinedload(Answer.next_question),
        )
    )
    return db.session.scalars(stmt).one_or_none()


def list_theme_questions(theme_id: int) -> list[Question]:
    stmt = select(Question).where(Question.theme_id == theme_id).order_by(Question.text)
    return list(db.session.scalars(stmt))


def list_curated_needs() -> list[Need]:
    stmt = (
        select(Need)
        .where(Need.origin == CURATED)
        .options(load_only(Need.id, Need.slug, Need.title))
        .order_by(Need.title)
    )
    return list(db.session.scalars(stmt))


def list_body_kinds() -> list[BodyKind]:
    return list(db.session.scalars(select(BodyKind).order_by(BodyKind.position, BodyKind.label)))


def get_need(slug: str) -> Need | None:
    stmt = (
        select(Need)
        .where(Need.slug == slug)
        .options(joinedload(Need.theme), joinedload(Need.body_kind))
    )
    return db.session.scalars(stmt).one_or_none()


def list_need_answers(need: Need) -> list[Answer]:
    """Where the tree leads to a need: the answers and their questions."""
    stmt = (
        select(Answer)
        .where(Answer.need_id == need.id)
        .options(joinedload(Answer.question).joinedload(Question.theme))
        .order_by(Answer.question_id)
    )
    return list(db.session.scalars(stmt))


@dataclass(frozen=True)
class SearchCheck:
    query: str
    rank: int | None  # 1 = first result; None: not among the results
    results: list  # SearchResult, best first


def check_search(need: Need, query: str, limit: int = 20) -> SearchCheck:
    """Where a need comes in the search for a query, as residents' words are searched."""
    results = search_needs(query, limit)
    rank = next((i for i, r in enumerate(results, start=1) if r.slug == need.slug), None)
    return SearchCheck(query, rank, results)


# -- audit labels --------------------------------------------------------------------------


def _answers_text(answers: Sequence[Answer], questions: Mapping[int, str], needs: Mapping) -> list:
    return [
        f"{a.label} → "
        + (
            f"question {questions.get(a.next_question_id, a.next_question_id)}"
            if a.next_question_id
            else f"besoin {needs.get(a.need_id, a.need_id)}"
        )
        for a in answers
    ]


def _slug_maps(question_ids, need_ids) -> tuple[dict[int, str], dict[int, str]]:
    questions = dict(
        db.session.execute(
            select(Question.id, Question.slug).where(Question.id.in_(question_ids))
        ).all()
    )
    needs = dict(db.session.execute(select(Need.id, Need.slug).where(Need.id.in_(need_ids))).all())
    return questions, needs


def history(object_type: str, object_id: Any) -> list:
    return audit.history(object_type, object_id)


# -- themes --------------------------------------------------------------------------------


def update_theme(
    theme: Theme, values: Mapping[str, Any], actor: User, at: datetime
) -> audit.AuditEntry | None:
    before = audit.snapshot(theme, THEME_FIELDS)
    for name in THEME_FIELDS:
        setattr(theme, name, values[name])
    after = audit.snapshot(theme, THEME_FIELDS)
    entry = audit.record(actor, "theme", theme.id, theme.title, audit.UPDATE, before, after, at)
    if entry is not None:
        theme.edited_at = _edited_at(at)
    db.session.commit()
    return entry


# -- questions and answers ----------------------------------------------------------------


@dataclass(frozen=True)
class AnswerInput:
    label: str
    next_question_id: int | None
    need_id: int | None


def _stored_graph() -> tuple[dict[str, str], dict[str, list[AnswerLink]], dict, dict]:
    """The tree as stored: roots per theme, answers per question (slugs), and the names."""
    questions = list(
        db.session.execute(
            select(Question.id, Question.slug, Question.text, Question.theme_id, Question.parent_id)
        )
    )
    slug_of = {q.id: q.slug for q in questions}
    answers: dict[str, list[AnswerLink]] = {q.slug: [] for q in questions}
    rows = db.session.execute(
        select(Answer.question_id, Answer.label, Answer.next_question_id, Answer.need_id).order_by(
            Answer.question_id, Answer.position
        )
    )
    for qid, label, next_id, need_id in rows:
        answers[slug_of[qid]].append(
            AnswerLink(label, slug_of.get(next_id), str(need_id) if need_id else None)
        )
    roots = {str(q.theme_id): q.slug for q in questions if q.parent_id is None}
    texts = {q.slug: q.text for q in questions}
    return roots, answers, texts, {q.id: q for q in questions}


def check_question_answers(question: Question, answers: Sequence[AnswerInput]) -> None:
    """Refuse answers that would break the stored tree (raises TreeError in French)."""
    roots, graph, texts, rows = _stored_graph()
    need_ids = {a.need_id for a in answers if a.need_id}
    known_needs = set(db.session.scalars(select(Need.id).where(Need.id.in_(need_ids))))
    links = []
    for a in answers:
        if a.next_question_id is not None:
            target = rows.get(a.next_question_id)
            if target is None:
                raise TreeError(f"La réponse « {a.label} » mène à une question inconnue.")
            if target.theme_id != question.theme_id:
                raise TreeError(
                    f"La réponse « {a.label} » mène à une question d'un autre thème : "
                    "une question suivante reste dans le thème."
                )
        if a.need_id is not None and a.need_id not in known_needs:
            raise TreeError(f"La réponse « {a.label} » mène à un besoin inconnu.")
        links.append(
            AnswerLink(
                a.label,
                rows[a.next_question_id].slug if a.next_question_id else None,
                str(a.need_id) if a.need_id else None,
            )
        )
    graph[question.slug] = links
    check_graph(roots, graph, texts)


def update_question(
    question: Question,
    text: str,
    help_text: str | None,
    answers: Sequence[AnswerInput],
    actor: User,
    at: datetime,
) -> audit.AuditEntry | None:
    """Save a question and its answers in their new order, or raise TreeError and write
    nothing."""
    check_question_answers(question, answers)
    question_ids = {a.next_question_id for a in [*question.answers, *answers] if a.next_question_id}
    need_ids = {a.need_id for a in [*question.answers, *answers] if a.need_id}
    slugs, needs = _slug_maps(question_ids, need_ids)
    before = {
        "text": question.text,
        "help": question.help,
        "answers": _answers_text(question.answers, slugs, needs),
    }
    after = {
        "text": text,
        "help": help_text,
        "answers": _answers_text(answers, slugs, needs),  # type: ignore[arg-type]
    }
    if not audit.differences(before, after):
        return None
    question.text, question.help = text, help_text
    if before["answers"] != after["answers"]:
        question.answers.clear()
        db.session.flush()
        for position, a in enumerate(answers):
            question.answers.append(
                Answer(
                    position=position,
                    label=a.label,
                    next_question_id=a.next_question_id,
                    need_id=a.need_id,
                )
            )
        children = [a.next_question_id for a in answers if a.next_question_id]
        for child in db.session.scalars(select(Question).where(Question.id.in_(children))):
            child.parent_id = question.id
    question.edited_at = _edited_at(at)
    entry = audit.record(
        actor, "question", question.id, question.text, audit.UPDATE, before, after, at
    )
    db.session.commit()
    return entry


def _unique_slug(model: type, wanted: str, fallback: str) -> str:
    base = (wanted or "-".join(fold(fallback).split())[:100]).strip("-") or "element"
    slug, n = base, 2
    taken = set(db.session.scalars(select(model.slug).where(model.slug.like(f"{base}%"))))
    while slug in taken or slug in RESERVED_SLUGS:
        slug, n = f"{base}-{n}", n + 1
    return slug


def slug_taken(model: type, slug: str) -> bool:
    return (
        slug in RESERVED_SLUGS
        or db.session.scalar(select(model.id).where(model.slug == slug)) is not None
    )


def insert_question(
    answer: Answer,
    slug: str,
    text: str,
    help_text: str | None,
    first_label: str,
    actor: User,
    at: datetime,
) -> Question:
    """Put a new question after an answer: the answer now leads to it, and its first answer
    leads where the answer used to, so nothing is lost or left unreachable."""
    parent = answer.question
    question = Question(
        slug=_unique_slug(Question, slug, text),
        text=text,
        help=help_text,
        theme_id=parent.theme_id,
        parent_id=parent.id,
        edited_at=_edited_at(at),
    )
    db.session.add(question)
    db.session.flush()
    slugs, needs = _slug_maps(
        {a.next_question_id for a in parent.answers if a.next_question_id} | {question.id},
        {a.need_id for a in parent.answers if a.need_id},
    )
    parent_before = {"answers": _answers_text(parent.answers, slugs, needs)}
    question.answers.append(
        Answer(
            position=0,
            label=first_label,
            next_question_id=answer.next_question_id,
            need_id=answer.need_id,
        )
    )
    if answer.next_question is not None:
        answer.next_question.parent_id = question.id
    answer.next_question_id, answer.need_id = question.id, None
    db.session.flush()
    audit.record(
        actor,
        "question",
        question.id,
        question.text,
        audit.CREATE,
        after={
            "slug": question.slug,
            "text": text,
            "help": help_text,
            "answers": _answers_text(question.answers, slugs, needs),
        },
        at=at,
    )
    audit.record(
        actor,
        "question",
        parent.id,
        parent.text,
        audit.UPDATE,
        parent_before,
        {"answers": _answers_text(parent.answers, slugs, needs)},
        at,
    )
    parent.edited_at = _edited_at(at)
    roots, graph, texts, _rows = _stored_graph()
    check_graph(roots, graph, texts)
    db.session.commit()
    return question


# -- needs ----------------------------------------------------------------------------------


def _need_snapshot(need: Need, fields: Sequence[str]) -> dict[str, Any]:
    values = audit.snapshot(need, [f for f in fields if f != "theme"])
    if "theme" in fields:
        values["theme"] = need.theme.slug if need.theme is not None else None
    return values


def _apply(need: Need, values: Mapping[str, Any], fields: Sequence[str]) -> None:
    for name in fields:
        if name == "theme":
            need.theme = values["theme"]
        else:
            setattr(need, name, values[name])


def create_need(values: Mapping[str, Any], actor: User, at: datetime) -> Need:
    """A new need of the desk's tree; the search index follows at the next search."""
    need = Need(
        slug=_unique_slug(Need, values.get("slug") or "", values["title"]),
        origin=CURATED,
        edited_at=_edited_at(at),
    )
    fields = [*NEED_FIELDS, *VOCABULARY_FIELDS]
    _apply(need, values, fields)
    db.session.add(need)
    db.session.flush()
    audit.record(
        actor,
        "need",
        need.id,
        need.title,
        audit.CREATE,
        after={"slug": need.slug, **_need_snapshot(need, fields)},
        at=at,
    )
    db.session.commit()
    return need


def update_need(
    need: Need, values: Mapping[str, Any], actor: User, at: datetime
) -> audit.AuditEntry | None:
    if need.origin == CATALOGUE:
        raise NotEditable(
            "Fiche du catalogue service-public.fr : son contenu vient de la fiche officielle, "
            "seul son vocabulaire de recherche se modifie ici."
        )
    before = _need_snapshot(need, NEED_FIELDS)
    _apply(need, values, NEED_FIELDS)
    entry = audit.record(
        actor,
        "need",
        need.id,
        need.title,
        audit.UPDATE,
        before,
        _need_snapshot(need, NEED_FIELDS),
        at,
    )
    if entry is not None:
        need.edited_at = _edited_at(at)
    db.session.commit()
    return entry


def update_vocabulary(
    need: Need, keywords: list[str], situations: list[str], actor: User, at: datetime
) -> audit.AuditEntry | None:
    """The words residents say for a need; the search index is rebuilt at the next search
    (the need's change bumps the index revision)."""
    before = audit.snapshot(need, VOCABULARY_FIELDS)
    need.keywords, need.situations = list(keywords), list(situations)
    entry = audit.record(
        actor,
        "need",
        need.id,
        need.title,
        audit.UPDATE,
        before,
        audit.snapshot(need, VOCABULARY_FIELDS),
        at,
    )
    if entry is not None:
        need.edited_at = _edited_at(at)
    db.session.commit()
    return entry
