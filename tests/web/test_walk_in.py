"""A receptionist walks the tree by clicking, as at the desk."""

import json
from collections import deque
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
import yaml

from tests.web.html import link_to, links

ROOT = Path(__file__).resolve().parents[2]
# A copy of ../shared/cases/orientation_public.json, so a clone anywhere can run the suite.
CASES_COPY = ROOT / "tests" / "data" / "orientation_public.json"
CASES = json.loads(CASES_COPY.read_text(encoding="utf-8"))
PATHS = yaml.safe_load((ROOT / "tests" / "data" / "case_paths.yaml").read_text())
DOCELLES = "88135"


def need_of(url: str) -> str | None:
    parsed = urlparse(url)
    if parsed.path != "/orientation":
        return None
    return parse_qs(parsed.query)["need"][0]


def test_case_copy_matches_shared_when_present():
    shared = ROOT.parent / "shared" / "cases" / "orientation_public.json"
    if not shared.exists():
        pytest.skip("../shared n'est pas à côté du dépôt")
    assert json.loads(shared.read_text(encoding="utf-8")) == CASES


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_reaches_expected_body_kind_by_clicking(client, case):
    path = PATHS[case["id"]]
    url = f"/themes/{path['theme']}?commune={DOCELLES}"
    for label in path["answers"]:
        page = client.get(url)
        assert page.status_code == 200, url
        url = link_to(page.get_data(as_text=True), label)
    need = need_of(url)
    assert need == path["need"]
    result = client.get(url)
    assert result.status_code == 200
    kind = client.get(f"/api/v1/needs/{need}").get_json()["body_kind"]
    assert kind in [case["expected"], *case["acceptable"]], (case["phrase"], kind)


def test_apl_for_docelles_within_four_clicks(client):
    """Breadth-first over the links a receptionist can click after choosing the commune."""
    start = f"/themes?commune={DOCELLES}"
    seen = {start}
    queue = deque([(start, 0)])
    while queue:
        url, clicks = queue.popleft()
        need = need_of(url)
        if need:
            data = client.get(f"/api/v1/needs/{need}").get_json()
            if "APL" in data["title"] and data["body_kind"] == "CAF":
                assert clicks <= 4
                return
            continue
        if clicks == 4:
            continue
        for _label, href in links(client.get(url).get_data(as_text=True)):
            if href.startswith(("/themes", "/questions", "/orientation?")) and href not in seen:
                seen.add(href)
                queue.append((href, clicks + 1))
    pytest.fail("no APL result within 4 clicks of the theme list")
