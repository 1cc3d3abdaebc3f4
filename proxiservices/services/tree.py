"""Reading the decision tree for the walk-in flow."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from proxiservices.extensions import db
from proxiservices.models import Answer, Need, Question, Theme
from proxiservices.services import answer_cache


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


@dataclass(frozen=True)
class ThemeStep:
    slug: str
    title: str


@dataclass(frozen=True)
class PathStep:
    """A question on the way to a need, as the result page's breadcrumb shows it."""

    slug: str
    text: str
    theme: ThemeStep


@dataclass(frozen=True)
class _Paths:
    """The tree's shape (which questions lead to each need, every question's parent and
    theme), kept per directory generation: a result page finds its path without a query."""

    questions_of_need: dict[int, tuple[int, ...]]
    questions: dict[int, tuple[str, str, int, int | None]]  # slug, text, theme, parent
    themes: dict[int, ThemeStep]


_PATHS_KEY = "tree.need_paths"


def _paths() -> _Paths:
    generation, paths = answer_cache.get(_PATHS_KEY)
    if paths is None:
        # One query: every question with its theme, once per answer leading to a need.
        rows = db.session.execute(
            select(
                Question.id,
                Question.slug,
                Question.text,
                Question.theme_id,
                Question.parent_id,
                Theme.slug,
                Theme.title,
                Answer.need_id,
            )
            .join(Theme, Theme.id == Question.theme_id)
            .outerjoin(Answer, (Answer.question_id == Question.id) & Answer.need_id.is_not(None))
            .order_by(Answer.id)
        )
        leading: dict[int, list[int]] = {}
        questions: dict[int, tuple[str, str, int, int | None]] = {}
        themes: dict[int, ThemeStep] = {}
        for id_, slug, text, theme_id, parent_id, theme_slug, theme_title, need_id in rows:
            questions[id_] = (slug, text, theme_id, parent_id)
            themes[theme_id] = ThemeStep(theme_slug, theme_title)
            if need_id is not None:
                leading.setdefault(need_id, []).append(id_)
        paths = _Paths({need: tuple(ids) for need, ids in leading.items()}, questions, themes)
        answer_cache.put(generation, _PATHS_KEY, paths)
    return paths


def find_need_path(need: Need) -> list[PathStep]:
    """One tree path leading to a need (its primary theme first), for breadcrumbs."""
    paths = _paths()
    leading = [paths.questions[i] for i in paths.questions_of_need.get(need.id, ())]
    if not leading:
        return []
    leading.sort(key=lambda question: question[2] != need.theme_id)
    question = leading[0]
    chain: list[PathStep] = []
    while question is not None:
        slug, text, theme_id, parent_id = question
        chain.insert(0, PathStep(slug, text, paths.themes[theme_id]))
        parent = paths.questions.get(parent_id) if parent_id is not None else None
        # Like list_ancestors: a parent in another theme ends the path.
        question = parent if parent is not None and parent[2] == theme_id else None
    return chain
