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


# -- the tree as stored (questions linked by answers), checked before an edit is saved ----


@dataclass(frozen=True)
class AnswerLink:
    """One answer as stored: its label and where it leads (a question slug or a need slug)."""

    label: str
    question: str | None = None
    need: str | None = None


def check_answer_target(label: str, question: str | None, need: str | None) -> None:
    """An answer leads to exactly one thing: the next question or a need."""
    if question and need:
        raise TreeError(
            f"La réponse « {label} » mène à la fois à une question et à un besoin : "
            "choisissez l'un ou l'autre."
        )
    if not question and not need:
        raise TreeError(
            f"La réponse « {label} » doit mener à une question suivante ou à un besoin."
        )


def check_graph(
    roots: Mapping[str, str],
    answers: Mapping[str, Sequence[AnswerLink]],
    texts: Mapping[str, str] | None = None,
) -> None:
    """Refuse a stored tree with a loop, a question that follows two answers, a question
    no theme reaches any more, or a question without answers. `roots`: theme slug -> its
    root question; `answers`: question slug -> its answers; `texts` name the questions."""
    texts = texts or {}

    def name(slug: str) -> str:
        return f"« {texts[slug]} » ({slug})" if slug in texts else f"« {slug} »"

    for slug, links in answers.items():
        if not links:
            raise TreeError(f"La question {name(slug)} n'a aucune réponse.")
        for link in links:
            check_answer_target(link.label, link.question, link.need)
            if link.question is not None and link.question not in answers:
                raise TreeError(f"La réponse « {link.label} » mène à une question inconnue.")
    _refuse_loops(answers, name)
    followed: dict[str, str] = {root: "theme" for root in roots.values()}
    for slug, links in answers.items():
        for link in links:
            if link.question is None:
                continue
            if link.question in followed:
                raise TreeError(
                    f"La question {name(link.question)} suit déjà une autre réponse "
                    "ou ouvre un thème : une question ne peut suivre qu'une seule réponse."
                )
            followed[link.question] = slug
    orphans = sorted(set(answers) - set(followed))
    if orphans:
        raise TreeError(
            f"La question {name(orphans[0])} ne serait plus atteinte depuis aucun thème : "
            "faites-la suivre d'une réponse."
        )


def _refuse_loops(answers: Mapping[str, Sequence[AnswerLink]], name) -> None:
    """Depth first from every question; meeting a question still on the path is a loop."""
    done: set[str] = set()
    for start in answers:
        if start in done:
            continue
        on_path = {start}
        stack = [(start, _next_questions(answers, start))]
        while stack:
            slug, nexts = stack[-1]
            child = next(nexts, None)
            if child is None:
                stack.pop()
                on_path.discard(slug)
                done.add(slug)
            elif child in on_path:
                raise TreeError(
                    f"Boucle dans l'arbre : la question {name(slug)} ramène à "
                    f"{name(child)}, déjà posée plus haut."
                )
            elif child not in done:
                on_path.add(child)
                stack.append((child, _next_questions(answers, child)))


def _next_questions(answers: Mapping[str, Sequence[AnswerLink]], slug: str) -> Iterator[str]:
    return iter([a.question for a in answers.get(slug, ()) if a.question is not None])
