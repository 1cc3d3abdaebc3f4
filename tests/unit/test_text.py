"""Folding what people type so "L'Épinal", "EPINAL" and "épinal" all meet."""

import pytest

from proxiservices.domain.text import STOP_WORDS, fold


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        # accents and case
        ("Épinal", "epinal"),
        ("ÉPINAL", "epinal"),
        ("Gérardmer", "gerardmer"),
        ("Remiremont", "remiremont"),
        ("impôts", "impots"),
        ("Noël", "noel"),
        ("garçon", "garcon"),
        # elisions, straight and typographic apostrophes
        ("L'Épinal", "epinal"),
        ("d'identité", "identite"),
        ("carte d'identité", "carte identite"),
        ("carte d’identité", "carte identite"),
        ("jusqu'à l’école", "a ecole"),
        ("qu'il", "il"),
        ("Aujourd'hui", "aujourd hui"),
        # ligatures
        ("œuvre", "oeuvre"),
        ("CŒUR", "coeur"),
        ("sœur", "soeur"),
        ("curriculum vitæ", "curriculum vitae"),
        ("ﬁche", "fiche"),
        # punctuation and spacing
        ("  CAF -- Épinal!! ", "caf epinal"),
        ("Saint-Dié-des-Vosges", "saint die des vosges"),
        ("cerfa n°12345*05", "cerfa n 12345 05"),
        ("", ""),
        ("?!…", ""),
    ],
)
def test_fold_strips_accents_case_elisions_and_punctuation(typed: str, folded: str) -> None:
    assert fold(typed) == folded


@pytest.mark.parametrize("typed", ["L'Épinal", "EPINAL", "épinal", " Epinal. "])
def test_spellings_of_a_town_fold_to_the_same_word(typed: str) -> None:
    assert fold(typed) == "epinal"


def test_stop_words_are_already_folded() -> None:
    assert all(fold(word) == word for word in STOP_WORDS)
