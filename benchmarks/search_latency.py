"""Search latency at catalogue scale: p50/p95 over 1,000 varied queries, 5,000 needs.

The real needs (the curated tree of seeds/needs.yaml and the service-public.fr fiches of
seeds/catalogue/) are padded with generated ones made from their own vocabulary (so common
words have long posting lists). Queries are
walk-in phrases from tests/data, keywords, and the same with typos, missing accents and an
unfinished last word (search as you type). Run: .venv/bin/python benchmarks/search_latency.py
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
import unicodedata
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from proxiservices.domain.search import CATALOGUE_TIER, Document, SearchIndex  # noqa: E402

TARGET_P95_MS = 20.0


def real_documents() -> list[Document]:
    needs = yaml.safe_load((ROOT / "seeds" / "needs.yaml").read_text(encoding="utf-8"))["needs"]
    return [
        Document(
            key=n["slug"],
            title=n["title"],
            theme=n["theme"],
            body=n["body_kind"],
            keywords=tuple(str(k) for k in n.get("keywords") or ()),
            situations=tuple(str(k) for k in n.get("situations") or ()),
            summary=n.get("summary") or "",
        )
        for n in needs
    ]


def catalogue_documents() -> list[Document]:
    """The fiches as services/search.py indexes them: theme = their service-public.fr path."""
    folder = ROOT / "seeds" / "catalogue"
    with (folder / "themes.csv").open(encoding="utf-8", newline="") as f:
        themes = {row["code"]: row for row in csv.DictReader(f)}

    def path(code: str | None) -> str:
        titles = []
        while code:
            titles.append(themes[code]["title"])
            code = themes[code]["parent"] or None
        return " ".join(titles)

    documents = []
    with (folder / "fiches.jsonl").open(encoding="utf-8") as f:
        for line in f:
            fiche = json.loads(line)
            documents.append(
                Document(
                    key="sp-" + fiche["id"],
                    title=fiche["title"],
                    theme=path(fiche.get("theme")),
                    body=(fiche["kinds"] or ["SERVICE_PUBLIC_ONLINE"])[0],
                    keywords=tuple(fiche["keywords"]),
                    summary=fiche["description"],
                    tier=CATALOGUE_TIER,
                )
            )
    return documents


def generated_documents(real: list[Document], count: int, rng: random.Random) -> list[Document]:
    """Needs stitched from the real ones' words, each with a word of its own."""
    titles = [w for d in real for w in d.title.split()]
    keywords = [k for d in real for k in d.keywords]
    summaries = [d.summary for d in real if d.summary]
    syllables = ["ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vo"]
    documents = []
    for number in range(count):
        own = "".join(rng.choice(syllables) for _ in range(4))
        documents.append(
            Document(
                key=f"gen-{number}",
                title=" ".join(rng.sample(titles, 6)) + f" {own}",
                theme=rng.choice(real).theme,
                body=rng.choice(real).body,
                keywords=(*rng.sample(keywords, 8), own),
                summary=rng.choice(summaries),
                tier=1,
            )
        )
    return documents


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def typo(text: str, rng: random.Random) -> str:
    words = text.split()
    long_words = [i for i, w in enumerate(words) if len(w) >= 6]
    if not long_words:
        return text
    i = rng.choice(long_words)
    word = words[i]
    at = rng.randrange(1, len(word) - 1)
    dropped, doubled = word[:at] + word[at + 1 :], word[:at] + word[at] + word[at:]
    words[i] = dropped if rng.random() < 0.5 else doubled
    return " ".join(words)


def queries(real: list[Document], count: int, rng: random.Random) -> list[tuple[str, bool]]:
    """(query, typing) pairs."""
    phrases = []
    for name in ("search_tuning.json", "orientation_public.json"):
        phrases += [c["phrase"] for c in json.loads((ROOT / "tests" / "data" / name).read_text())]
    phrases += [k for d in real for k in d.keywords]
    phrases += [d.title for d in real if d.tier == CATALOGUE_TIER]
    out = []
    while len(out) < count:
        phrase = rng.choice(phrases)
        kind = rng.random()
        if kind < 0.25:
            out.append((typo(phrase, rng), False))
        elif kind < 0.45:
            out.append((strip_accents(phrase).lower(), False))
        elif kind < 0.7:
            cut = rng.randrange(3, max(len(phrase), 4))
            out.append((phrase[:cut], True))
        else:
            out.append((phrase, False))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--needs", type=int, default=5000)
    parser.add_argument("--queries", type=int, default=1000)
    args = parser.parse_args()
    rng = random.Random(20261122)
    real = real_documents() + catalogue_documents()
    documents = real + generated_documents(real, max(args.needs - len(real), 0), rng)
    started = time.perf_counter()
    index = SearchIndex(documents)
    built = time.perf_counter() - started
    timings = []
    for query, typing in queries(real, args.queries, rng):
        started = time.perf_counter()
        index.search(query, 10, partial_last=typing)
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    p50 = statistics.median(timings)
    p95 = timings[int(len(timings) * 0.95) - 1]
    print(f"needs: {len(documents)} ({len(real)} real), vocabulary: {len(index.postings)} stems")
    print(f"index built in {built * 1000:.0f} ms")
    print(f"{len(timings)} queries: p50 {p50:.2f} ms, p95 {p95:.2f} ms, max {timings[-1]:.2f} ms")
    print(f"p95 / target ({TARGET_P95_MS:.0f} ms): {p95 / TARGET_P95_MS:.2f}")
    if p95 > TARGET_P95_MS:
        raise SystemExit(f"p95 above the {TARGET_P95_MS:.0f} ms target")


if __name__ == "__main__":
    main()
