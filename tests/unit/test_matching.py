"""Finding a need from what the receptionist types: words, keyword phrases, loose spelling."""

import pytest

from proxiservices.domain.matching import score_need

Need = tuple[str, list[str]]

CARTE_GRISE: Need = (
    "Carte grise",
    ["carte grise", "certificat d'immatriculation", "changement d'adresse"],
)
CNI: Need = ("Carte nationale d'identité", ["carte d'identité", "CNI"])
IMPOTS: Need = ("Payer ses impôts", ["impôts", "déclaration de revenus", "taxe foncière"])
CAF: Need = ("Allocations familiales", ["CAF", "allocation logement", "APL"])
LOGEMENT_SOCIAL: Need = ("Demande de logement social", ["logement social", "HLM"])


def score(query: str, need: Need) -> float:
    title, keywords = need
    return score_need(query, title, keywords)


@pytest.mark.parametrize(
    ("query", "need", "expected"),
    [
        # every word found (1.0) + bonus 0.5 + 0.1 per word of the keyword phrase
        ("carte grise", CARTE_GRISE, 1.7),
        ("taxe foncière", IMPOTS, 1.7),
        ("allocation logement", CAF, 1.7),
        ("CAF", CAF, 1.6),
        ("APL", CAF, 1.6),
        ("refaire ma carte grise", CARTE_GRISE, 1.367),
        # words found in title or keywords, no whole phrase
        ("carte", CARTE_GRISE, 1.0),
        ("grise", CARTE_GRISE, 1.0),
        ("immatriculation", CARTE_GRISE, 1.0),
        ("déclaration des revenus", IMPOTS, 1.0),
        ("carte bleue", CARTE_GRISE, 0.5),
        ("carte grise", CNI, 0.5),
        # nothing in common
        ("passeport", CAF, 0.0),
        ("passeport", CARTE_GRISE, 0.0),
    ],
)
def test_score(query: str, need: Need, expected: float) -> None:
    assert score(query, need) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("query", "best", "other"),
    [
        ("carte grise", CARTE_GRISE, CNI),
        ("carte d'identité", CNI, CARTE_GRISE),
        ("allocation logement", CAF, LOGEMENT_SOCIAL),
        ("logement social", LOGEMENT_SOCIAL, CAF),
    ],
)
def test_a_whole_keyword_phrase_beats_a_single_shared_word(
    query: str, best: Need, other: Need
) -> None:
    assert score(query, best) > score(query, other) > 0


@pytest.mark.parametrize(
    ("phrase", "word", "need"),
    [
        ("carte grise", "carte", CARTE_GRISE),
        ("carte grise", "grise", CARTE_GRISE),
        ("taxe foncière", "taxe", IMPOTS),
        ("logement social", "logement", LOGEMENT_SOCIAL),
    ],
)
def test_the_phrase_scores_above_one_of_its_words(phrase: str, word: str, need: Need) -> None:
    assert score(phrase, need) > score(word, need) > 0


@pytest.mark.parametrize("query", ["impôts", "IMPOTS", "Impots", "IMPÔTS", "  impôts ! "])
def test_accents_and_case_do_not_matter(query: str) -> None:
    assert score(query, IMPOTS) == score("impôts", IMPOTS) == pytest.approx(1.6)


@pytest.mark.parametrize(
    ("query", "need"),
    [
        pytest.param("allocations", CAF, id="plural of a keyword word"),
        pytest.param("allocation", CAF, id="singular of the title word"),
        pytest.param("familiale", CAF, id="singular of the title word"),
        pytest.param("impot", IMPOTS, id="truncated"),
        pytest.param("immatric", CARTE_GRISE, id="prefix"),
        pytest.param("declarations", IMPOTS, id="plural without accent"),
    ],
)
def test_plurals_and_prefixes_count_as_found(query: str, need: Need) -> None:
    assert score(query, need) == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("query", "need"),
    [
        pytest.param("ap", CAF, id="too short to be a prefix"),
        pytest.param("car", CARTE_GRISE, id="three letters only"),
    ],
)
def test_very_short_words_need_an_exact_match(query: str, need: Need) -> None:
    assert score(query, need) == 0.0


@pytest.mark.parametrize("query", ["", "   ", "?!", "le la des", "je suis", "c'est pour de la"])
def test_a_query_of_stop_words_only_matches_nothing(query: str) -> None:
    for need in (CARTE_GRISE, CNI, IMPOTS, CAF, LOGEMENT_SOCIAL):
        assert score(query, need) == 0.0
