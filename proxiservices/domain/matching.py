"""Plain matching of a free-text query against a need's title and keywords."""

from __future__ import annotations

from collections.abc import Iterable

from proxiservices.domain.text import fold, tokens


def score_need(query: str, title: str, keywords: Iterable[str]) -> float:
    """Share of the query's words found in the need's words, with a bonus when a whole
    keyword phrase ("carte grise") appears in the query. 0 means no match."""
    words = tokens(query)
    if not words:
        return 0.0
    folded_query = f" {fold(query)} "
    vocabulary = set(tokens(title))
    phrase_bonus = 0.0
    for keyword in keywords:
        folded = fold(keyword)
        vocabulary.update(tokens(keyword))
        if folded and f" {folded} " in folded_query:
            phrase_bonus = max(phrase_bonus, 0.5 + 0.1 * len(folded.split()))
    found = sum(1 for w in words if w in vocabulary or _prefix_hit(w, vocabulary))
    if not found and not phrase_bonus:
        return 0.0
    return round(found / len(words) + phrase_bonus, 3)


def _prefix_hit(word: str, vocabulary: set[str]) -> bool:
    """Let a plural or a truncated word count ("allocations" for "allocation", "impot")."""
    if len(word) < 4:
        return False
    return any(v.startswith(word) or word.startswith(v) for v in vocabulary if len(v) >= 4)
