"""Scoring search against walk-in cases: top 1, top 3, acceptable body kinds."""

import json

import pytest

from proxiservices.domain.evaluation import CaseFormatError, evaluate, parse_cases
from tests.conftest import ROOT

CASES = [
    {"id": "A", "phrase": "apl", "expected": "CAF", "acceptable": ["MSA"]},
    {"id": "B", "phrase": "retraite", "expected": "CARSAT"},
    {"id": "C", "phrase": "carte grise", "expected": "ANTS_ONLINE", "acceptable": []},
]
ANSWERS = {
    "apl": [("aide-logement-msa", "MSA"), ("aide-logement", "CAF")],
    "retraite": [("retraite-msa", "MSA"), ("x", "X"), ("y", "Y"), ("demande-retraite", "CARSAT")],
    "carte grise": [],
}


def test_acceptable_kinds_count_and_only_the_top_three_are_read():
    result = evaluate(parse_cases(CASES), lambda phrase: ANSWERS[phrase])
    assert [(o.top1, o.top3) for o in result.outcomes] == [
        (True, True),  # MSA is acceptable for A
        (False, False),  # CARSAT comes 4th
        (False, False),  # nothing found
    ]
    assert result.top1 == pytest.approx(1 / 3)
    assert result.top3 == pytest.approx(1 / 3)


def test_the_shared_case_files_parse():
    for name in ("orientation_public.json", "search_tuning.json", "search_holdout.json"):
        cases = parse_cases(json.loads((ROOT / "tests" / "data" / name).read_text()))
        assert cases and all(c.phrase and c.expected for c in cases)


@pytest.mark.parametrize(
    "raw",
    [{"phrase": "x"}, [{"phrase": "x"}], [{"expected": "CAF"}], [{"phrase": 3, "expected": "X"}]],
)
def test_malformed_cases_are_refused_in_french(raw):
    with pytest.raises(CaseFormatError, match=r"Cas|liste"):
        parse_cases(raw)
