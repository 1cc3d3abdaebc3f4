"""The stored tree checked before an administrator's edit is saved: one target per answer,
no loop, no question following two answers, no question left unreachable."""

import pytest

from proxiservices.domain.tree import AnswerLink, TreeError, check_answer_target, check_graph

ROOTS = {"papiers": "papiers-document"}
TREE = {
    "papiers-document": [
        AnswerLink("Carte d'identité", question="cni-motif"),
        AnswerLink("Acte de naissance", need="acte-naissance"),
    ],
    "cni-motif": [
        AnswerLink("Perdue", need="cni-perte"),
        AnswerLink("Volée", question="cni-vol"),
    ],
    "cni-vol": [AnswerLink("Déclarer le vol", need="cni-vol")],
}
TEXTS = {"cni-motif": "Que s'est-il passé ?"}


def test_a_sound_tree_passes():
    check_graph(ROOTS, TREE, TEXTS)


@pytest.mark.parametrize(
    ("question", "need", "message"),
    [
        ("cni-vol", "cni-vol", "à la fois à une question et à un besoin"),
        (None, None, "doit mener à une question suivante ou à un besoin"),
        ("", "", "doit mener à une question suivante ou à un besoin"),
    ],
    ids=["both", "neither", "blank"],
)
def test_an_answer_leads_to_exactly_one_thing(question, need, message):
    with pytest.raises(TreeError, match=message):
        check_answer_target("Volée", question, need)
    with pytest.raises(TreeError, match=message):
        check_graph(ROOTS, {**TREE, "cni-vol": [AnswerLink("Volée", question, need)]})


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        # cni-vol leads back up to cni-motif, which is on its own path.
        (
            {"cni-vol": [AnswerLink("Retour", question="cni-motif")]},
            r"Boucle dans l'arbre : la question « cni-vol » ramène à « Que s'est-il passé \? »",
        ),
        ({"cni-vol": [AnswerLink("Encore", question="cni-vol")]}, "Boucle dans l'arbre"),
        (
            {"cni-motif": [AnswerLink("Perdue", need="cni-perte")]},
            "« cni-vol » ne serait plus atteinte depuis aucun thème",
        ),
        (
            {
                "papiers-document": [
                    *TREE["papiers-document"],
                    AnswerLink("Vol", question="cni-vol"),
                ]
            },
            "« cni-vol » suit déjà une autre réponse",
        ),
        (
            {"cni-vol": [AnswerLink("Au début", question="papiers-document")]},
            "Boucle dans l'arbre",
        ),
        ({"cni-vol": []}, "« cni-vol » n'a aucune réponse"),
        (
            {"cni-vol": [AnswerLink("Ailleurs", question="inconnue")]},
            "mène à une question inconnue",
        ),
    ],
    ids=["loop", "self-loop", "orphan", "two-parents", "back-to-root", "empty", "unknown"],
)
def test_a_broken_tree_is_refused_in_french(changed, message):
    with pytest.raises(TreeError, match=message):
        check_graph(ROOTS, {**TREE, **changed}, TEXTS)


def test_a_theme_root_cannot_follow_an_answer_of_another_theme():
    roots = {**ROOTS, "famille": "famille-racine"}
    tree = {
        **TREE,
        "famille-racine": [AnswerLink("Papiers", question="papiers-document")],
    }
    with pytest.raises(TreeError, match="suit déjà une autre réponse ou ouvre un thème"):
        check_graph(roots, tree)
