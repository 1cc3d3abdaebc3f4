"""Sample POSTs of the decision tree administration for tests/web/test_csrf.py: an
administrator's change to a theme, a question, a need and its vocabulary, a question
inserted under an answer and a new need, with what proves each was made or not.

Each function takes test_csrf's `kit` and `accepted` and returns the keywords of its `Post`.
The texts posted are new each call, so that a check never sees an earlier sample's change.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select

from proxiservices.extensions import db
from proxiservices.models import Answer, Need, Question, Theme
from tests.web.samples import read

THEME = "logement"
QUESTION = "lieu-deces"
INSERT_UNDER = "declarations"  # the question whose first answer gets a question inserted
NEED = "aide-logement-msa"  # a curated need: its whole form may be posted
VOCABULARY_NEED = "aide-logement"


def _value(kit, stmt):
    return read(kit.app, lambda: db.session.scalar(stmt))


def _admin(kit) -> dict:
    return {"client": kit.clients["admin"], "token": kit.tokens["admin"]}


def _mark(accepted: bool) -> str:
    return f"{'accepté' if accepted else 'refusé'} {uuid.uuid4().hex[:8]}"


def theme(kit, accepted: bool) -> dict:
    title = f"Logement – essai CSRF {_mark(accepted)}"

    def current() -> dict:
        item = db.session.scalars(select(Theme).where(Theme.slug == THEME)).one()
        return {"description": item.description or "", "position": str(item.position)}

    def title_now() -> str:
        return _value(kit, select(Theme.title).where(Theme.slug == THEME))

    return {
        **_admin(kit),
        "url": f"/admin/arbre/themes/{THEME}",
        "data": {"title": title, **read(kit.app, current)},
        "accepted": 303,
        "refused_check": lambda: title_now() != title,
        "accepted_check": lambda: title_now() == title,
    }


def question(kit, accepted: bool) -> dict:
    text = f"Où le décès a-t-il eu lieu ? ({_mark(accepted)})"

    def current() -> dict:
        item = db.session.scalars(select(Question).where(Question.slug == QUESTION)).one()
        data = {"text": text, "help": item.help or ""}
        for i, answer in enumerate(item.answers):
            data[f"answers-{i}-label"] = answer.label
            data[f"answers-{i}-need"] = str(answer.need_id or "")
            data[f"answers-{i}-next_question"] = str(answer.next_question_id or "")
            data[f"answers-{i}-position"] = str(i + 1)
        return data

    def text_now() -> str:
        return _value(kit, select(Question.text).where(Question.slug == QUESTION))

    return {
        **_admin(kit),
        "url": f"/admin/arbre/questions/{QUESTION}",
        "data": read(kit.app, current),
        "accepted": 303,
        "refused_check": lambda: text_now() != text,
        "accepted_check": lambda: text_now() == text,
    }


def insert_question(kit, accepted: bool) -> dict:
    answer_id = _value(
        kit,
        select(Answer.id)
        .join(Answer.question)
        .where(Question.slug == INSERT_UNDER)
        .order_by(Answer.position),
    )
    text = f"Question insérée {_mark(accepted)} ?"

    def found() -> bool:
        return _value(kit, select(Question.id).where(Question.text == text)) is not None

    return {
        **_admin(kit),
        "url": f"/admin/arbre/reponses/{answer_id}/question",
        "data": {"text": text, "first_label": "Oui"},
        "accepted": 303,
        "refused_check": lambda: not found(),
        "accepted_check": found,
    }


def new_need(kit, accepted: bool) -> dict:
    title = f"Besoin créé {_mark(accepted)} (essai CSRF)"

    def found() -> bool:
        return _value(kit, select(Need.id).where(Need.title == title)) is not None

    return {
        **_admin(kit),
        "url": "/admin/arbre/besoins/nouveau",
        "data": {"title": title, "body_kind_code": "MAIRIE", "place": "residence"},
        "accepted": 303,
        "refused_check": lambda: not found(),
        "accepted_check": found,
    }


def need(kit, accepted: bool) -> dict:
    summary = f"Résumé {_mark(accepted)}"

    def current() -> dict:
        item = db.session.scalars(select(Need).where(Need.slug == NEED)).one()
        data = {
            "title": item.title,
            "theme": item.theme.slug if item.theme is not None else "",
            "summary": summary,
            "body_kind_code": item.body_kind_code,
            "place": item.place,
            "documents": "\n".join(item.documents or []),
            "online_url": item.online_url or "",
            "online_label": item.online_label or "",
            "self_service": "\n".join(item.self_service or []),
            "help_kinds": list(item.help_kinds or []),
            "notice": item.notice or "",
            "notice_url": item.notice_url or "",
            "source_url": item.source_url or "",
        }
        if item.request_possible:
            data["request_possible"] = "y"
        return data

    def summary_now() -> str | None:
        return _value(kit, select(Need.summary).where(Need.slug == NEED))

    return {
        **_admin(kit),
        "url": f"/admin/arbre/besoins/{NEED}",
        "data": read(kit.app, current),
        "accepted": 303,
        "refused_check": lambda: summary_now() != summary,
        "accepted_check": lambda: summary_now() == summary,
    }


def vocabulary(kit, accepted: bool) -> dict:
    word = f"motcsrf {_mark(accepted)}"

    def current() -> tuple[list[str], list[str]]:
        item = db.session.scalars(select(Need).where(Need.slug == VOCABULARY_NEED)).one()
        return list(item.keywords or []), list(item.situations or [])

    keywords, situations = read(kit.app, current)

    def has_word() -> bool:
        return word in read(kit.app, current)[0]

    return {
        **_admin(kit),
        "url": f"/admin/arbre/besoins/{VOCABULARY_NEED}/vocabulaire",
        "data": {"keywords": "\n".join([*keywords, word]), "situations": "\n".join(situations)},
        "accepted": 303,
        "refused_check": lambda: not has_word(),
        "accepted_check": has_word,
    }


SAMPLES = {
    "tree_admin.theme": theme,
    "tree_admin.question": question,
    "tree_admin.insert_question": insert_question,
    "tree_admin.new_need": new_need,
    "tree_admin.need": need,
    "tree_admin.vocabulary": vocabulary,
}
