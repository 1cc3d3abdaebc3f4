"""The search engine on small hand-made needs: what each matching rule buys."""

import pytest

from proxiservices.domain.search import (
    EXACT,
    PREFIX,
    SITUATION,
    TYPO,
    YOUNG,
    Document,
    SearchIndex,
    analyse,
    stem,
)

NEEDS = [
    Document(
        "cni-perte",
        "Carte d'identité perdue : la refaire",
        theme="Papiers",
        body="Mairie",
        keywords=("carte d'identité", "CNI", "perdu", "perte"),
    ),
    Document(
        "cni-vol",
        "Carte d'identité volée",
        theme="Papiers",
        body="Mairie",
        keywords=("carte d'identité", "CNI"),
        situations=("volé", "vol", "cambriolage"),
    ),
    Document(
        "carte-grise",
        "Carte grise : changer d'adresse",
        theme="Transports",
        body="ANTS",
        keywords=("carte grise", "certificat d'immatriculation", "déménagement"),
    ),
    Document(
        "retraite",
        "Demander sa retraite (salarié du privé)",
        theme="Retraite",
        body="Carsat",
        keywords=("retraite", "pension", "partir à la retraite"),
    ),
    Document(
        "retraite-msa",
        "Retraite des agriculteurs",
        theme="Retraite",
        body="MSA",
        keywords=("retraite", "pension"),
        situations=("agriculteur", "agricole", "exploitant", "ferme"),
    ),
    Document(
        "aide-logement",
        "Aide au logement (APL)",
        theme="Logement",
        body="CAF",
        keywords=("APL", "allocation logement", "allocs", "loyer"),
    ),
    Document(
        "mission-locale",
        "Accompagnement vers l'emploi des jeunes",
        theme="Emploi",
        body="Mission locale",
        keywords=("emploi", "travail", "boulot"),
        situations=(YOUNG, "moins de 26 ans"),
    ),
    Document(
        "france-travail",
        "S'inscrire comme demandeur d'emploi",
        theme="Emploi",
        body="France Travail",
        keywords=("emploi", "travail", "boulot", "chômage"),
    ),
]


@pytest.fixture(scope="module")
def index():
    return SearchIndex(NEEDS)


def keys(index, query, **options):
    return [hit.key for hit in index.search(query, **options)]


def test_query_words_are_folded_stemmed_and_stripped_of_desk_phrasing():
    words = analyse("Bonjour, je voudrais savoir comment faire pour l'Allocation LOGEMENT")
    assert [w.surface for w in words] == ["allocation", "logement"]
    assert [w.stem for w in words] == [stem("allocation"), stem("logement")]


@pytest.mark.parametrize(
    ("typed", "same_as"),
    [
        ("volée", "vol"),
        ("identitée", "identité"),
        ("handicapée", "handicap"),
        ("étrangère", "étranger"),
    ],
)
def test_feminine_and_doubled_endings_share_the_stem(typed, same_as):
    assert analyse(typed)[0].stem == analyse(same_as)[0].stem


def test_retirement_is_not_a_withdrawal():
    """Stemming twice would send "retraite" (pension) onto "retrait" (collecting a card)."""
    assert stem("retraite") != stem("retrait")


def test_an_age_under_26_reads_as_young():
    assert YOUNG in [w.surface for w in analyse("j'ai 22 ans", ages=True)]
    assert YOUNG not in [w.surface for w in analyse("j'ai 63 ans", ages=True)]
    assert YOUNG in [w.surface for w in analyse("il a moins de 26 ans", ages=True)]


def test_accents_case_and_elisions_do_not_matter(index):
    assert keys(index, "CARTE D IDENTITE PERDUE")[0] == "cni-perte"
    assert keys(index, "l'identité perdue")[0] == "cni-perte"


def test_abbreviations_and_everyday_words_from_the_vocabulary(index):
    assert keys(index, "les allocs")[0] == "aide-logement"
    assert keys(index, "APL")[0] == "aide-logement"


def test_a_situation_word_ranks_its_need_first(index):
    assert keys(index, "ma retraite")[:1] == ["retraite"]
    assert keys(index, "je suis agriculteur, pour ma retraite")[0] == "retraite-msa"
    assert keys(index, "carte d'identité perdue")[0] == "cni-perte"
    assert keys(index, "on m'a volé ma carte d'identité")[0] == "cni-vol"


def test_an_age_changes_the_body(index):
    assert keys(index, "je suis au chômage")[0] == "france-travail"
    assert keys(index, "j'ai 19 ans je cherche du boulot")[0] == "mission-locale"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("retraitte", "retraite"),
        ("identiter perdue", "cni-perte"),
        ("alocation logement", "aide-logement"),
    ],
)
def test_typos_are_forgiven(index, typed, expected):
    assert expected in keys(index, typed)[:2]


def test_short_words_are_not_guessed_from_one_letter():
    """ "ferme" must not become "femme", nor "manger" "danger"."""
    index = SearchIndex([Document("a", "Violences faites aux femmes"), Document("b", "Danger")])
    assert keys(index, "ferme") == []
    assert keys(index, "manger") == []


def test_the_word_being_typed_matches_by_its_start(index):
    assert keys(index, "carte d'ide", partial_last=True)[0] in {"cni-perte", "cni-vol"}
    assert keys(index, "carte d'ide") == keys(index, "carte")  # "ide" alone means nothing


def test_a_phrase_said_in_order_counts_more(index):
    hits = index.search("carte grise")
    assert hits[0].key == "carte-grise"
    assert hits[0].phrase == "carte grise"
    assert hits[0].phrase_points > 0


def test_scores_are_explained_word_by_word(index):
    hit = index.search("agriculteur retraitte")[0]
    assert hit.key == "retraite-msa"
    by_word = {m.word: m for m in hit.matches}
    assert by_word["agriculteur"].how == EXACT
    assert by_word["agriculteur"].field == SITUATION
    assert by_word["retraitte"].how == TYPO
    assert by_word["retraitte"].distance == 1
    assert hit.score == pytest.approx(
        sum(m.points for m in hit.matches) + hit.phrase_points, abs=0.01
    )


def test_prefix_matches_are_marked(index):
    hit = index.search("allocat", partial_last=True)[0]
    assert hit.matches[0].how in (PREFIX, EXACT)


def test_nonsense_finds_nothing_and_stop_words_alone_find_nothing(index):
    assert index.search("xqzwv blorp") == []
    assert index.search("je voudrais savoir comment faire") == []
    assert index.search("") == []
    assert index.search("06 12 34 56 78") == []


def test_weak_matches_are_left_out(index):
    """A need that only shares a word of its body's name with the query is noise."""
    hits = index.search("carte grise déménagement")
    assert hits[0].key == "carte-grise"
    assert all(h.score >= hits[0].score * 0.2 for h in hits)


def test_equal_scores_put_curated_needs_before_catalogue_ones():
    index = SearchIndex(
        [
            Document("sp-F1", "Chasse : permis de chasser", tier=1),
            Document("chasse", "Chasse : permis de chasser", tier=0),
        ]
    )
    assert keys(index, "permis de chasser") == ["chasse", "sp-F1"]


def test_results_are_deterministic_and_limited(index):
    first = [(h.key, h.score) for h in index.search("carte", 3)]
    again = [(h.key, h.score) for h in SearchIndex(list(reversed(NEEDS))).search("carte", 3)]
    assert len(first) == 3
    assert first == again


def test_unknown_words_and_close_spellings(index):
    assert index.unknown_words("retraite xqzwv") == ["xqzwv"]
    assert index.unknown_words("retraitte") == []  # a typo the search forgives
    assert "agriculteur" in index.suggestions("agricltr")
    assert index.suggestions("retraite") == []


def test_a_huge_query_is_cut_not_slow(index):
    hits = index.search("carte grise " * 5000)
    assert hits[0].key == "carte-grise"


def test_a_catalogue_fiche_must_match_clearly_better_to_pass_a_curated_need():
    """A fiche's points count for less: one more word of the query is not enough."""
    index = SearchIndex(
        [
            Document("chasse", "Permis de chasser", tier=0),
            Document("sp-F1", "Permis de chasser : examen", tier=1),
            Document("sp-F2", "Permis de chasser : examen théorique et pratique", tier=1),
        ]
    )
    assert keys(index, "permis de chasser") == ["chasse", "sp-F1", "sp-F2"]
    assert keys(index, "permis de chasser examen")[0] == "sp-F1"


def test_equal_catalogue_fiches_put_the_shortest_title_first():
    index = SearchIndex(
        [
            Document("sp-F3", "Permis de chasse perdu ou abîmé : le refaire", tier=1),
            Document("sp-F2", "Examen du permis de chasse", tier=1),
        ]
    )
    assert keys(index, "permis de chasse") == ["sp-F2", "sp-F3"]


def explained(hits):
    return [(h.key, h.score, h.phrase, h.phrase_points, h.matches) for h in hits]


@pytest.mark.parametrize(
    ("query", "typing"),
    [("carte grise", False), ("agriculteur retraitte", False), ("alloc", True), ("cni vol", False)],
)
def test_a_search_asked_again_is_answered_and_explained_the_same(query, typing):
    """The index keeps what each word matched: the second answer is the first one."""
    index = SearchIndex(NEEDS)
    first = explained(index.search(query, partial_last=typing))
    assert first
    assert explained(index.search(query, partial_last=typing)) == first
    assert explained(SearchIndex(NEEDS).search(query, partial_last=typing)) == first


def test_a_phrase_counts_only_said_in_that_order(index):
    assert index.search("carte grise")[0].phrase == "carte grise"
    reversed_words = {h.key: h for h in index.search("grise carte")}
    assert reversed_words["carte-grise"].phrase is None
    assert reversed_words["carte-grise"].phrase_points == 0.0


def test_needs_with_equal_scores_and_titles_keep_their_order():
    index = SearchIndex([Document(key, "Permis de chasser") for key in ("b", "c", "a")])
    assert keys(index, "permis de chasser") == ["b", "c", "a"]
    assert keys(index, "permis de chasser", limit=2) == ["b", "c"]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("cambrolage", "cni-vol"), ("cambrioolage", "cni-vol"), ("agricultuer", "retraite-msa")],
)
def test_a_typo_that_changes_the_length_is_forgiven(index, typed, expected):
    assert keys(index, typed)[0] == expected
