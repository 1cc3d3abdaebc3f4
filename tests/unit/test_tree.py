"""The decision tree a receptionist clicks through: themes, questions, answers, needs."""

from typing import Any

import pytest

from proxiservices.domain.tree import TreeError, check_tree, iter_questions, parse_tree, walk


def need(label: str, slug: str) -> dict[str, Any]:
    return {"label": label, "need": slug}


def ask(label: str, question: dict[str, Any]) -> dict[str, Any]:
    return {"label": label, "question": question}


def question(slug: str, *answers: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"slug": slug, "text": f"{slug} ?", "answers": list(answers), **extra}


def theme(slug: str, root: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"slug": slug, "title": slug.capitalize(), "question": root, **extra}


PAPIERS = theme(
    "papiers",
    question(
        "papiers-document",
        ask(
            "Carte d'identité",
            question(
                "cni-motif",
                need("Première demande", "cni-premiere"),
                need("Renouvellement", "cni-renouvellement"),
                ask(
                    "Perte ou vol",
                    question("cni-perte-vol", need("Perte", "cni-perte"), need("Vol", "cni-vol")),
                ),
                help="Regardez la date au dos de la carte.",
            ),
        ),
        need("Passeport", "passeport"),
        ask("Permis de conduire", question("permis-motif", need("Perte", "permis-perte"))),
    ),
    description="Carte d'identité, passeport, permis",
)
ARGENT = theme(
    "argent",
    question("argent-sujet", need("Impôts", "impots"), need("Allocations", "allocations-caf")),
)
TREE = {"themes": [PAPIERS, ARGENT]}
NEEDS = {
    "cni-premiere",
    "cni-renouvellement",
    "cni-perte",
    "cni-vol",
    "passeport",
    "permis-perte",
    "impots",
    "allocations-caf",
}


def test_parse_keeps_themes_questions_and_help_text() -> None:
    papiers, argent = parse_tree(TREE)
    assert (papiers.slug, papiers.title, papiers.description) == (
        "papiers",
        "Papiers",
        "Carte d'identité, passeport, permis",
    )
    assert argent.description is None
    assert [a.label for a in papiers.question.answers] == [
        "Carte d'identité",
        "Passeport",
        "Permis de conduire",
    ]
    cni = papiers.question.answers[0]
    assert cni.need is None
    assert cni.question is not None
    assert cni.question.help == "Regardez la date au dos de la carte."
    assert papiers.question.help is None
    assert papiers.question.answers[1].need == "passeport"
    assert papiers.question.answers[1].question is None


@pytest.mark.parametrize("data", [{}, {"themes": None}, {"themes": []}])
def test_an_empty_file_gives_no_themes(data: dict[str, Any]) -> None:
    assert parse_tree(data) == []


def test_the_sample_tree_is_consistent() -> None:
    check_tree(parse_tree(TREE), NEEDS)


@pytest.mark.parametrize(
    ("theme_slug", "labels", "reached"),
    [
        ("papiers", ["Passeport"], "passeport"),
        ("papiers", ["Carte d'identité", "Première demande"], "cni-premiere"),
        ("papiers", ["Carte d'identité", "Renouvellement"], "cni-renouvellement"),
        ("papiers", ["Carte d'identité", "Perte ou vol", "Perte"], "cni-perte"),
        ("papiers", ["Carte d'identité", "Perte ou vol", "Vol"], "cni-vol"),
        # the same label under another question leads elsewhere
        ("papiers", ["Permis de conduire", "Perte"], "permis-perte"),
        ("argent", ["Impôts"], "impots"),
        ("argent", ["Allocations"], "allocations-caf"),
    ],
)
def test_walking_the_labels_reaches_a_need(
    theme_slug: str, labels: list[str], reached: str
) -> None:
    assert walk(parse_tree(TREE), theme_slug, labels) == reached


@pytest.mark.parametrize(
    ("theme_slug", "labels", "message"),
    [
        pytest.param("logement", ["Passeport"], "Thème inconnu : logement", id="unknown theme"),
        pytest.param("papiers", ["Visa"], "Réponse « Visa » absente", id="unknown label"),
        pytest.param(
            "argent", ["Passeport"], "absente de la question « argent-sujet »", id="wrong theme"
        ),
        pytest.param(
            "papiers",
            ["Carte d'identité", "Perte ou vol", "Perte ou vol"],
            "absente de la question « cni-perte-vol »",
            id="unknown label deeper",
        ),
        pytest.param("papiers", ["passeport"], "Réponse « passeport » absente", id="label case"),
        pytest.param("papiers", [], "s'arrête sur une question", id="no answer"),
        pytest.param(
            "papiers", ["Carte d'identité"], "s'arrête sur une question", id="ends on a question"
        ),
        pytest.param(
            "papiers",
            ["Carte d'identité", "Perte ou vol"],
            "s'arrête sur une question",
            id="ends on a nested question",
        ),
        pytest.param(
            "papiers", ["Passeport", "Perte"], "mène déjà au besoin passeport", id="past a need"
        ),
        pytest.param(
            "papiers",
            ["Carte d'identité", "Renouvellement", "Perte", "Vol"],
            "mène déjà au besoin cni-renouvellement",
            id="far past a need",
        ),
    ],
)
def test_walking_a_wrong_path_is_refused(theme_slug: str, labels: list[str], message: str) -> None:
    with pytest.raises(TreeError, match=message):
        walk(parse_tree(TREE), theme_slug, labels)


def test_questions_come_depth_first_with_their_theme_and_parent() -> None:
    assert [
        (t.slug, parent.slug if parent else None, q.slug)
        for t, parent, q in iter_questions(parse_tree(TREE))
    ] == [
        ("papiers", None, "papiers-document"),
        ("papiers", "papiers-document", "cni-motif"),
        ("papiers", "cni-motif", "cni-perte-vol"),
        ("papiers", "papiers-document", "permis-motif"),
        ("argent", None, "argent-sujet"),
    ]


@pytest.mark.parametrize(
    ("themes", "needs", "message"),
    [
        pytest.param(
            [
                theme("a", question("q", need("Oui", "n1"))),
                theme("a", question("r", need("Non", "n2"))),
            ],
            {"n1", "n2"},
            "Thème en double : a",
            id="duplicate theme",
        ),
        pytest.param(
            [theme("a", question("q", ask("Encore", question("q", need("Oui", "n1")))))],
            {"n1"},
            "Question en double : q",
            id="duplicate question in a theme",
        ),
        pytest.param(
            [
                theme("a", question("q", need("Oui", "n1"))),
                theme("b", question("q", need("Non", "n2"))),
            ],
            {"n1", "n2"},
            "Question en double : q",
            id="duplicate question across themes",
        ),
        pytest.param(
            [theme("a", question("q", need("Oui", "n1"), need("Non", "n-inconnu")))],
            {"n1"},
            "Besoin inconnu dans l'arbre : n-inconnu",
            id="unknown need",
        ),
        pytest.param(
            [theme("a", question("q", need("Oui", "n1")))],
            {"n1", "orphelin-b", "orphelin-a"},
            "Besoins absents de l'arbre : orphelin-a, orphelin-b",
            id="orphan needs",
        ),
        pytest.param(
            [theme("a", question("q", need("Oui", "n1"), ask("Autre", question("vide"))))],
            {"n1"},
            "La question « vide » n'a aucune réponse",
            id="empty question",
        ),
        pytest.param(
            [theme("a", {"slug": "sans-reponses", "text": "?"})],
            set(),
            "La question « sans-reponses » n'a aucune réponse",
            id="question without answers key",
        ),
    ],
)
def test_an_inconsistent_tree_is_refused(
    themes: list[dict[str, Any]], needs: set[str], message: str
) -> None:
    tree = parse_tree({"themes": themes})
    with pytest.raises(TreeError, match=message):
        check_tree(tree, needs)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        pytest.param(
            {"label": "Les deux", "need": "n1", "question": question("q2", need("Oui", "n2"))},
            "« Les deux » doit mener à un besoin ou à une question",
            id="need and question",
        ),
        pytest.param(
            {"label": "Rien"},
            "« Rien » doit mener à un besoin ou à une question",
            id="neither need nor question",
        ),
        pytest.param(
            {"label": "Vide", "need": None},
            "« Vide » doit mener à un besoin ou à une question",
            id="empty need",
        ),
        pytest.param(
            {"label": "Vide", "question": None},
            "« Vide » doit mener à un besoin ou à une question",
            id="empty question",
        ),
    ],
)
def test_an_answer_must_lead_to_exactly_one_of_need_or_question(
    answer: dict[str, Any], message: str
) -> None:
    with pytest.raises(TreeError, match=message):
        parse_tree({"themes": [theme("a", question("q", need("Oui", "n1"), answer))]})


def test_a_theme_without_a_question_is_refused() -> None:
    with pytest.raises(TreeError, match="Le thème « vide » n'a pas de question"):
        parse_tree({"themes": [{"slug": "vide", "title": "Vide"}]})
