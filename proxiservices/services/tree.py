"""Reading the decision tree for the walk-in flow."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from proxiservices.extensions import db
from proxiservices.models import Answer, Need, Question, Theme


def list_themes() -> list[Theme]:
    return list(db.session.scalars(select(Theme).order_by(Theme.position)))


def _question_query():
    return select(Question).options(
        joinedload(Question.theme),
        selectinload(Question.answers).joinedload(Answer.need).joinedload(Need.body_kind),
        selectinload(Question.answers).joinedload(Answer.next_question),
    )


def get_theme_question(theme_slug: str) -> Question | None:
    """The root question of a theme, with its answers."""
    stmt = (
        _question_query()
        .join(Question.theme)
        .where(Theme.slug == theme_slug, Question.parent_id.is_(None))
    )
    return db.session.scalars(stmt).unique().one_or_none()


def get_question(slug: str) -> Question | None:
    return db.session.scalars(_question_query().where(Question.slug == slug)).unique().one_or_none()


def list_ancestors(question: Question) -> list[Question]:
    """Parent questions from the theme's root down, for breadcrumbs and the back step."""
    chain: list[Question] = []
    if question.parent_id is None:
        return chain
    by_id = {
        q.id: q
        for q in db.session.scalars(select(Question).where(Question.theme_id == question.theme_id))
    }
    current = by_id.get(question.parent_id)
    while current is not None:
        chain.append(current)
        current = by_id.get(current.parent_id) if current.parent_id else None
    return list(reversed(chain))


def find_need_path(need: Need) -> list[Question]:
    """One tree path leading to a need (its primary theme first), for breadcrumbs."""
    stmt = (
        select(Answer)
        .where(Answer.need_id == need.id)
        .options(joinedload(Answer.question).joinedload(Question.theme))
    )
    answers = list(db.session.scalars(stmt))
    if not answers:
        return []
    answers.sort(key=lambda a: a.question.theme_id != need.theme_id)
    question = answers[0].question
    return [*list_ancestors(question), question]
