"""Search over needs for what a walk-in says, typed in a hurry at the desk.

Words are folded (case, accents, elisions), desk phrasing and function words dropped,
then stemmed; a word the needs do not know is matched by the start of a word (typing in
progress, "alloc") or by a typo of one or two letters. Each query word scores the best way
it matches a need, weighted by the field it matched (a situation word counts most, the
summary least) and by how rare the word is among the needs (idf), so the need whose
*situation* matches ("retraite" + "agricole") outranks the general one. The index is held
in the process, so SQLite and PostgreSQL rank identically.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from operator import itemgetter

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from proxiservices.domain.text import STOP_WORDS as FUNCTION_WORDS
from proxiservices.domain.text import fold

# What people say at a counter around the words that matter.
DESK_WORDS = frozenset(
    """
    bonjour bonsoir madame monsieur merci svp stp sil plait excusez excuse
    voudrais voudrait voudrions voulais voulait veux veut voulu vouloir aimerais aimerait
    souhaite souhaiterais souhaiterait souhaitons cherche cherchais
    comment faire fais fait faites faut fallait dois doit devons devez devrais
    peux peut pouvez pouvons pourrais pourriez pourrait besoin quoi quel quelle quels
    quelles ici la-bas ca cela ceci etre ete avoir avez avons ont sont sommes etes es
    ils elles eux leurs plus non oui tres aussi encore deja juste bien alors donc car si
    quand comme tout tous toute toutes autre autres meme sans chez dit dire disent
    demande demander demandent demandee demandes vais va vont aller allez viens vient venu
    venir venue rien jamais toujours ans an annee mois jour jours fois chose choses truc
    trucs machin gens personne quelqu quelque dont puis etait avait avais sera serait
    aurait aurais cest sais sait savoir connais connait ou quoi renseignement renseignements
    eu pendant prendre mettre mis donner recevoir recu
    info infos information informations question questions probleme problemes souci soucis
    mr mme mlle
    """.split()
)

STOP = FUNCTION_WORDS | DESK_WORDS

_AGE = re.compile(r"\b(moins de |de )?(\d{1,3}) ans\b")
# "né" loses its accent and becomes "ne", a negation: say it as the birth it means.
_BORN = re.compile(r"\bné(?:e|s|es)?\b", re.IGNORECASE)
YOUNG = "jeune"  # what an age under 26 means to the bodies (Mission locale, CAF...)

TITLE, KEYWORD, SITUATION, BODY, THEME, SUMMARY = (
    "titre",
    "vocabulaire",
    "situation",
    "organisme",
    "thème",
    "résumé",
)
FIELD_WEIGHTS = {
    SITUATION: 1.6,
    TITLE: 1.1,
    KEYWORD: 1.0,
    BODY: 0.6,
    THEME: 0.35,
    SUMMARY: 0.2,
}

EXACT, PREFIX, TYPO = "mot exact", "début de mot", "faute de frappe"
PREFIX_QUALITY = 0.8
TYPO_QUALITY = {1: 0.7, 2: 0.5}
PHRASE_SHARE = 0.5  # of the phrase's own weight, added when the query says it in order
KEEP_SHARE = 0.2  # results scoring less than this share of the best are noise
MAX_PREFIX_EXPANSIONS = 24
MAX_TYPO_CANDIDATES = 6
TYPO_MIN_LENGTH = 5  # "pars" is not a typo of "pays"
TYPO_TWO_LENGTH = 8  # from this length two letters may be wrong
MAX_QUERY_WORDS = 24
PHRASE_CANDIDATES = 200
CANDIDATES_CACHE_SIZE = 20_000  # query words remembered per index
CATALOGUE_TIER = 1
# A catalogue fiche's points count for this share: it must match clearly better than a
# curated need (written for the desk, with its words) to come before it.
TIER_WEIGHTS = {0: 1.0, CATALOGUE_TIER: 0.8}

_stemmer = snowballstemmer.stemmer("french")


# Words Snowball folds onto another meaning: "volant" (steering wheel) is not "vol"
# (theft), "marie" (married) not "mari" (husband), "voir" not "voirie".
STEM_EXCEPTIONS = {
    "volant": "volant",
    "volants": "volant",
    "mari": "epoux",
    "voir": "voir#",
    "francais": "francais",
    "francaise": "francais",
    "francaises": "francais",
    "batiment": "batiment",
    "batiments": "batiment",
    "mamie": "mamie",
    "coupe": "coupur",
    "coupee": "coupur",
    "coupure": "coupur",
    "coupures": "coupur",
}


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball French stem of a folded word. Without accents one pass leaves the feminine
    halfway ("volee" → "vole", "etrangere" → "etranger"), so those get a second pass;
    never more, or "retraite" would end up as "retrait" does ("retr")."""
    if word in STEM_EXCEPTIONS:
        return STEM_EXCEPTIONS[word]
    if len(word) > 5 and word.endswith("ere"):
        word = word[:-1]
    stemmed = _stemmer.stemWord(word)
    if stemmed != word and stemmed.endswith("e") and len(stemmed) > 3:
        stemmed = _stemmer.stemWord(stemmed)
    return stemmed if len(stemmed) >= 2 else word


@dataclass(frozen=True)
class Word:
    """One informative word of a text: as typed (folded) and as stemmed."""

    surface: str
    stem: str
    partial: bool = False


def analyse(text: str, *, partial_last: bool = False, ages: bool = False) -> list[Word]:
    """The informative words of a text, in order. `partial_last` marks the last word as
    still being typed; `ages` turns "j'ai 22 ans" into the word "jeune"."""
    folded = fold(_BORN.sub(" naissance ", text))
    extra: list[str] = []
    if ages:
        for match in _AGE.finditer(folded):
            age = int(match.group(2))
            below = match.group(1) == "moins de "
            if 14 <= age <= 25 or (below and age <= 26):
                extra.append(YOUNG)
    raw = folded.split()[: MAX_QUERY_WORDS * 3]
    words: list[Word] = []
    for index, surface in enumerate(raw):
        if len(surface) < 2 or surface.isdigit() or surface in STOP:
            continue
        is_last = index == len(raw) - 1
        words.append(Word(surface, stem(surface), partial_last and is_last))
    for surface in extra:
        if not any(w.surface == surface for w in words):
            words.append(Word(surface, stem(surface)))
    return words[:MAX_QUERY_WORDS]


@dataclass(frozen=True)
class Document:
    """A need as the index sees it. `tier` 0 = curated need, 1 = catalogue fiche: on equal
    scores the lower tier comes first."""

    key: str
    title: str
    theme: str = ""
    body: str = ""
    keywords: tuple[str, ...] = ()
    situations: tuple[str, ...] = ()
    summary: str = ""
    tier: int = 0

    def fields(self) -> Iterable[tuple[str, str]]:
        yield TITLE, self.title
        for keyword in self.keywords:
            yield KEYWORD, keyword
        for situation in self.situations:
            yield SITUATION, situation
        yield BODY, self.body
        yield THEME, self.theme
        yield SUMMARY, self.summary


@dataclass(frozen=True)
class WordMatch:
    """How one query word counted for one need: the explanation shown to administrators."""

    word: str
    matched: str
    how: str
    distance: int
    field: str
    idf: float
    points: float


@dataclass
class Hit:
    document: Document
    score: float = 0.0
    matches: list[WordMatch] = field(default_factory=list)
    phrase: str | None = None
    phrase_points: float = 0.0

    @property
    def key(self) -> str:
        return self.document.key


@dataclass(frozen=True)
class _Candidate:
    stem: str
    quality: float
    how: str
    distance: int = 0


class SearchIndex:
    """An inverted index of stems over the needs' fields, with the vocabulary's surface
    words kept for prefix and typo lookups and for spelling suggestions."""

    def __init__(self, documents: Sequence[Document]):
        self.documents = list(documents)
        # stem -> {document index: (field weight, field name)}
        self.postings: dict[str, dict[int, tuple[float, str]]] = {}
        self.surface_stems: dict[str, set[str]] = {}
        # Per document: multi-word vocabulary said in order ("carte grise").
        self.phrases: list[list[tuple[tuple[str, ...], str, str]]] = []
        # Bodies, themes and much vocabulary come back need after need: analysed once.
        analysed: dict[str, list[Word]] = {}
        for index, document in enumerate(self.documents):
            phrases: list[tuple[tuple[str, ...], str, str]] = []
            for name, text in document.fields():
                words = analysed.get(text)
                if words is None:
                    words = analysed[text] = analyse(text)
                weight = FIELD_WEIGHTS[name]
                for word in words:
                    self.surface_stems.setdefault(word.surface, set()).add(word.stem)
                    best = self.postings.setdefault(word.stem, {})
                    if index not in best or best[index][0] < weight:
                        best[index] = (weight, name)
                if name in (TITLE, KEYWORD, SITUATION) and 2 <= len(words) <= 5:
                    phrases.append((tuple(w.stem for w in words), name, text))
            self.phrases.append(phrases)
        count = max(len(self.documents), 1)
        self.idf = {s: math.log(1 + count / len(docs)) for s, docs in self.postings.items()}
        self.surfaces = sorted(self.surface_stems)
        self.stems = sorted(self.postings)
        self.tier_weights = [TIER_WEIGHTS[d.tier] for d in self.documents]
        # Between equal catalogue fiches the shorter title is the more specific answer
        # ("Examen du permis de chasse" before "Permis de chasse perdu ou abîmé : …");
        # the curated titles are written for the desk and need no such rule.
        self.title_lengths = [len(analysed[d.title]) if d.tier else 0 for d in self.documents]
        self.titles = [d.title for d in self.documents]
        self.tiers = [d.tier for d in self.documents]
        # First two stems of a phrase -> the documents having such a phrase.
        self.phrase_starts: dict[str, dict[str, set[int]]] = {}
        for index, phrases in enumerate(self.phrases):
            for stems, _, _ in phrases:
                seconds = self.phrase_starts.setdefault(stems[0], {})
                seconds.setdefault(stems[1], set()).add(index)
        self._points_cache: dict[tuple[str, float], dict[int, float]] = {}
        self._points_kept = 0
        self._postings_size = sum(len(docs) for docs in self.postings.values())
        self._candidates_cache: dict[Word, list[_Candidate]] = {}
        self._near_cache: dict[tuple[int, int], list[str]] = {}

    # -- looking words up --------------------------------------------------------

    def _prefixed(self, prefix: str) -> list[str]:
        found: set[str] = set()
        for ordered, to_stems in ((self.stems, None), (self.surfaces, self.surface_stems)):
            start = bisect_left(ordered, prefix)
            for item in ordered[start : start + 200]:
                if not item.startswith(prefix):
                    break
                found.update(to_stems[item] if to_stems else (item,))
        # The shortest completions are the likeliest ("alloc" → "allocation").
        return sorted(found, key=lambda s: (len(s), s))[:MAX_PREFIX_EXPANSIONS]

    def _surfaces_near(self, length: int, distance: int) -> list[str]:
        """The vocabulary's words whose length is within `distance` of `length`, in order:
        no other can be that close to a word of this length."""
        key = (length, distance)
        near = self._near_cache.get(key)
        if near is None:
            near = [s for s in self.surfaces if abs(len(s) - length) <= distance]
            self._near_cache[key] = near
        return near

    def candidates(self, word: Word) -> list[_Candidate]:
        """Vocabulary stems a query word may stand for, best first; kept for the words
        that come back (the typo lookup scans the whole vocabulary)."""
        cached = self._candidates_cache.get(word)
        if cached is None:
            if len(self._candidates_cache) >= CANDIDATES_CACHE_SIZE:
                self._candidates_cache.clear()
            cached = self._candidates_cache[word] = self._find_candidates(word)
        return cached

    def _find_candidates(self, word: Word) -> list[_Candidate]:
        found: dict[str, _Candidate] = {}

        def offer(candidate: _Candidate) -> None:
            if candidate.stem in self.postings and (
                candidate.stem not in found or found[candidate.stem].quality < candidate.quality
            ):
                found[candidate.stem] = candidate

        for stem_ in {word.stem} | self.surface_stems.get(word.surface, set()):
            offer(_Candidate(stem_, 1.0, EXACT))
        exact = bool(found)
        if (not exact or word.partial) and len(word.surface) >= 3:
            for stem_ in self._prefixed(word.surface):
                offer(_Candidate(stem_, PREFIX_QUALITY, PREFIX))
        if not exact and len(word.surface) >= TYPO_MIN_LENGTH:
            limit = 1 if len(word.surface) < TYPO_TWO_LENGTH else 2
            for surface, distance, _ in process.extract(
                word.surface,
                self._surfaces_near(len(word.surface), limit),
                scorer=OSA.distance,
                score_cutoff=limit,
                limit=MAX_TYPO_CANDIDATES,
            ):
                # Short words differ by one letter from too many others ("manger",
                # "danger"): below 8 letters the first letter must be right.
                if distance and limit == 1 and surface[0] != word.surface[0]:
                    continue
                for stem_ in self.surface_stems[surface]:
                    offer(_Candidate(stem_, TYPO_QUALITY[int(distance)], TYPO, int(distance)))
        return sorted(found.values(), key=lambda c: (-c.quality, c.stem))

    # -- ranking ------------------------------------------------------------------

    def _points(self, stem_: str, quality: float) -> dict[int, float]:
        """Document index -> what a word matching this stem this well earns there. Built
        on first use and kept: the same words come back query after query."""
        key = (stem_, quality)
        points = self._points_cache.get(key)
        if points is None:
            idf, tier_weights = self.idf[stem_], self.tier_weights
            points = {
                index: quality * weight * idf * tier_weights[index]
                for index, (weight, _) in self.postings[stem_].items()
            }
            # At most as many entries as the postings themselves (memory of each worker).
            self._points_kept += len(points)
            if self._points_kept > self._postings_size:
                self._points_cache.clear()
                self._points_kept = len(points)
            self._points_cache[key] = points
        return points

    def search(self, query: str, limit: int = 10, *, partial_last: bool = False) -> list[Hit]:
        words = analyse(query, partial_last=partial_last, ages=True)
        scores: dict[int, float] = {}
        # Per query word and document, only the best points the word earned there count.
        # Which candidate and field earned them (WordMatch, Hit) is only worked out for the
        # results kept: a common word touches thousands of needs.
        per_word: list[dict[int, float]] = []
        per_word_candidates: list[list[_Candidate]] = []
        query_stems: list[set[str]] = []
        for word in words:
            best: dict[int, float] = {}
            stems_here: set[str] = set()
            candidates = self.candidates(word)
            for candidate in candidates:
                if candidate.quality >= PREFIX_QUALITY:
                    stems_here.add(candidate.stem)
                points_here = self._points(candidate.stem, candidate.quality)
                if not best:
                    best = dict(points_here)
                    continue
                known = best.get
                for index, points in points_here.items():
                    if known(index, 0.0) < points:
                        best[index] = points
            query_stems.append(stems_here)
            per_word.append(best)
            per_word_candidates.append(candidates)
            if not scores:
                scores = dict(best)
                continue
            so_far = scores.get
            for index, points in best.items():
                scores[index] = so_far(index, 0.0) + points
        if not scores:
            return []
        # Only the front runners can be reordered by a phrase said in order.
        leaders = sorted(scores.items(), key=itemgetter(1), reverse=True)[:PHRASE_CANDIDATES]
        phrases = self._phrase_bonuses([index for index, _ in leaders], query_stems)
        tiers, titles, title_lengths = self.tiers, self.titles, self.title_lengths
        ranked = []
        for position, (index, score) in enumerate(leaders):
            total = score + phrases[index][1] if index in phrases else score
            # The position keeps equal keys in the leaders' order (a stable sort).
            key = (-round(total, 6), tiers[index], title_lengths[index], titles[index])
            ranked.append((key, position, index, total))
        ranked.sort()
        floor = ranked[0][3] * KEEP_SHARE
        kept: list[Hit] = []
        for _, _, index, total in ranked:
            if len(kept) == limit:
                break
            if total < floor:
                continue
            hit = self._hit(index, total, words, per_word, per_word_candidates)
            if index in phrases:
                hit.phrase, hit.phrase_points = phrases[index]
            hit.score = round(total, 3)
            kept.append(hit)
        return kept

    def _hit(
        self,
        index: int,
        score: float,
        words: list[Word],
        per_word: list[dict[int, float]],
        per_word_candidates: list[list[_Candidate]],
    ) -> Hit:
        """The explanation of a result: for each query word, the first of its candidates
        (best first) that earned its points in this document, and in which field."""
        hit = Hit(self.documents[index], score)
        for word, best, candidates in zip(words, per_word, per_word_candidates, strict=True):
            if index not in best:
                continue
            found: tuple[float, _Candidate, str] | None = None
            for candidate in candidates:
                posting = self.postings[candidate.stem].get(index)
                if posting is None:
                    continue
                points = self._points(candidate.stem, candidate.quality)[index]
                if found is None or found[0] < points:
                    found = (points, candidate, posting[1])
            points, candidate, name = found  # type: ignore[misc]
            hit.matches.append(
                WordMatch(
                    word.surface,
                    candidate.stem,
                    candidate.how,
                    candidate.distance,
                    name,
                    round(self.idf[candidate.stem], 3),
                    points,
                )
            )
        return hit

    def _phrase_bonuses(
        self, indexes: list[int], query_stems: list[set[str]]
    ) -> dict[int, tuple[str, float]]:
        """Vocabulary of several words said in the same order counts once more, in part:
        "carte grise" is not "carte" + "grise" anywhere in the need. Returns, for the
        documents that have one, the best such phrase and its points."""
        said = set().union(*query_stems)
        # Only documents with a phrase whose first two words were said one after the
        # other can have one: the others are not tried.
        possible: set[int] = set()
        for first_said, next_said in pairwise(query_stems):
            for first in first_said:
                seconds = self.phrase_starts.get(first)
                if seconds:
                    for second in seconds.keys() & next_said:
                        possible.update(seconds[second])
        bonuses: dict[int, tuple[str, float]] = {}
        for index in possible.intersection(indexes):
            best: tuple[str, float] | None = None
            for stems, name, text in self.phrases[index]:
                if len(stems) > len(query_stems) or not said.issuperset(stems):
                    continue
                for start in range(len(query_stems) - len(stems) + 1):
                    if all(s in query_stems[start + i] for i, s in enumerate(stems)):
                        points = (
                            PHRASE_SHARE
                            * self.tier_weights[index]
                            * FIELD_WEIGHTS[name]
                            * sum(self.idf.get(s, 0.0) for s in stems)
                        )
                        if points > (best[1] if best else 0.0):
                            best = (text, points)
                        break
            if best is not None:
                bonuses[index] = best
        return bonuses

    # -- no dead ends ---------------------------------------------------------------

    def _unknown(self, words: list[Word]) -> list[Word]:
        """Words no need knows, even with a typo."""
        return [w for w in words if not self.candidates(w)]

    def unknown_words(self, query: str) -> list[str]:
        """What to add to the vocabulary."""
        return [w.surface for w in self._unknown(analyse(query))]

    def suggestions(self, query: str, limit: int = 3) -> list[str]:
        """Close spellings of a query that finds nothing: each unknown word replaced by
        the nearest words of the vocabulary, kept only when the new query finds needs."""
        words = analyse(query)
        unknown = self._unknown(words)
        if not unknown:
            return []
        options: list[list[str]] = []
        for word in unknown:
            near = process.extract(
                word.surface,
                self.surfaces,
                scorer=Levenshtein.normalized_similarity,
                score_cutoff=0.5,
                limit=limit,
            )
            options.append([surface for surface, _, _ in near])
        proposals: list[str] = []
        for rank in range(limit):
            replacement = {
                w.surface: (choices[rank] if rank < len(choices) else choices[0] if choices else "")
                for w, choices in zip(unknown, options, strict=True)
            }
            text = " ".join(replacement.get(w.surface, w.surface) for w in words).strip()
            if text and text not in proposals and self.search(text, 1):
                proposals.append(text)
        return proposals
