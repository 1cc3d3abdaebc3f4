"""Measuring search on walk-in phrases: the format of ../shared/cases/*.json."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class CaseFormatError(ValueError):
    pass


@dataclass(frozen=True)
class Case:
    id: str
    phrase: str
    expected: str
    acceptable: tuple[str, ...] = ()

    def answered_by(self, body_kind: str) -> bool:
        return body_kind == self.expected or body_kind in self.acceptable


@dataclass(frozen=True)
class CaseOutcome:
    case: Case
    top: tuple[tuple[str, str], ...]  # (need slug, body kind), best first

    @property
    def top1(self) -> bool:
        return bool(self.top) and self.case.answered_by(self.top[0][1])

    @property
    def top3(self) -> bool:
        return any(self.case.answered_by(kind) for _, kind in self.top[:3])


@dataclass(frozen=True)
class Evaluation:
    outcomes: tuple[CaseOutcome, ...]

    @property
    def top1(self) -> float:
        return sum(o.top1 for o in self.outcomes) / len(self.outcomes) if self.outcomes else 0.0

    @property
    def top3(self) -> float:
        return sum(o.top3 for o in self.outcomes) / len(self.outcomes) if self.outcomes else 0.0


def parse_cases(raw: Any) -> list[Case]:
    if not isinstance(raw, list):
        raise CaseFormatError("Le fichier doit contenir une liste de cas.")
    cases = []
    for position, item in enumerate(raw, start=1):
        if not isinstance(item, Mapping) or not all(
            isinstance(item.get(key), str) for key in ("phrase", "expected")
        ):
            raise CaseFormatError(
                f"Cas n° {position} : il faut au moins « phrase » et « expected »."
            )
        acceptable = item.get("acceptable") or []
        cases.append(
            Case(
                str(item.get("id") or position),
                item["phrase"],
                item["expected"],
                tuple(str(a) for a in acceptable),
            )
        )
    return cases


def evaluate(
    cases: Iterable[Case], search: Callable[[str], Sequence[tuple[str, str]]]
) -> Evaluation:
    """`search` answers a phrase with (slug, body kind) pairs, best first."""
    return Evaluation(tuple(CaseOutcome(c, tuple(search(c.phrase)[:3])) for c in cases))
