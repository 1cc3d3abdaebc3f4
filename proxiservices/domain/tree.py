"""The decision tree as plain data: parsed from the seed file, checked, and walked."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class TreeError(ValueError):
    """The tree data is inconsistent (duplicate slug, dangling need, dead end...)."""


@dataclass
class AnswerNode:
    label: str
    need: str | None = None
    question: QuestionNode | None = None


@dataclass
class QuestionNode:
    slug: str
    text: str
    help: str | None = None
    answers: list[AnswerNode] = field(default_factory=list)


@dataclass
class ThemeNode:
    slug: str
    title: str
    description: str | None
    question: QuestionNode


def parse_tree(data: Mapping[str, Any]) -> list[ThemeNode]:
    """Build the tree from its YAML form (see seeds/tree.yaml)."""
    themes = []
    for raw in data.get("themes") or []:
        if "question" not in raw:
            raise TreeError(f"Le thème « {raw.get('slug')} » n'a pas de question.")
        themes.append(
            ThemeNode(
                slug=raw["slug"],
                title=raw["title"],
                description=raw.get("description"),
                question=_parse_question(raw["question"]),
            )
        )
    return themes


def _parse_question(raw: Mapping[str, Any]) -> QuestionNode:
    answers = []
    for a in raw.get("answers") or []:
        has_need, has_question = a.get("need") is not None, a.get("question") is not None
        if has_need == has_question:
            raise TreeError(
                f"La réponse « {a.get('label')} » doit mener à un besoin ou à une question."
            )
        answers.append(
            AnswerNode(
                label=a["label"],
                need=a.get("need"),
                question=_parse_question(a["question"]) if has_question else None,
            )
        )
    return QuestionNode(slug=raw["slug"], text=raw["text"], help=raw.get("help"), answers=answers)


def iter_questions(
    themes: Sequence[ThemeNode],
) -> Iterator[tuple[ThemeNode, QuestionNode | None, QuestionNode]]:
    """Every question with its theme and parent question, depth first."""
    for theme in themes:
        stack: list[tuple[QuestionNode | None, QuestionNode]] = [(None, theme.question)]
        while stack:
            parent, question = stack.pop()
            yield theme, parent, question
            for answer in reversed(question.answers):
                if answer.question is not None:
                    stack.append((question, answer.question))


def check_tree(themes: Sequence[ThemeNode], need_slugs: set[str]) -> None:
    """Refuse a tree with duplicate slugs, unknown needs, empty questions or orphan needs."""
    seen_themes: set[str] = set()
    seen_questions: set[str] = set()
    reached: set[str] = set()
    for theme in themes:
        if theme.slug in seen_themes:
            raise TreeError(f"Thème en double : {theme.slug}")
        seen_themes.add(theme.slug)
    for _theme, _parent, question in iter_questions(themes):
        if question.slug in seen_questions:
            raise TreeError(f"Question en double : {question.slug}")
        seen_questions.add(question.slug)
        if not question.answers:
            raise TreeError(f"La question « {question.slug} » n'a aucune réponse.")
        for answer in question.answers:
            if answer.need is not None:
                if answer.need not in need_slugs:
                    raise TreeError(f"Besoin inconnu dans l'arbre : {answer.need}")
                reached.add(answer.need)
    orphans = need_slugs - reached
    if orphans:
        raise TreeError(f"Besoins absents de l'arbre : {', '.join(sorted(orphans))}")


def walk(themes: Sequence[ThemeNode], theme_slug: str, labels: Sequence[str]) -> str:
    """Follow answer labels from a theme, as a receptionist clicks, to the need reached."""
    theme = next((t for t in themes if t.slug == theme_slug), None)
    if theme is None:
        raise TreeError(f"Thème inconnu : {theme_slug}")
    question: QuestionNode | None = theme.question
    for i, label in enumerate(labels):
        if question is None:
            raise TreeError(f"Plus de question après « {labels[i - 1]} ».")
        answer = next((a for a in question.answers if a.label == label), None)
        if answer is None:
            raise TreeError(f"Réponse « {label} » absente de la question « {question.slug} ».")
        if answer.need is not None:
            if i != len(labels) - 1:
                raise TreeError(f"« {label} » mène déjà au besoin {answer.need}.")
            return answer.need
        question = answer.question
    raise TreeError("Le chemin s'arrête sur une question, pas sur un besoin.")
