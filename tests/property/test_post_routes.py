"""Every form, fuzzed: logged in as someone allowed to post it, with a valid CSRF token, a
valid submission (test_csrf's sample) whose fields are replaced by arbitrary input, and
sometimes arbitrary path arguments or extra fields. The answer is below 500, a refusal says
why in French, and a refused POST leaves the database as it was: the same number of rows
in every table, and no transaction committed that wrote anything.

The POST routes are read from ``app.url_map``: a new one fails here, as in test_csrf, until
it has its sample in tests/web/test_csrf.py. Its fields are read from the sample and from
the form of the page (for the routes that also answer GET).
"""

from __future__ import annotations

import io
import re
from html import unescape

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from proxiservices.web import CSRF_MESSAGE
from tests.property import fuzz
from tests.web import test_csrf

POST_ENDPOINTS = test_csrf.POST_ENDPOINTS
# What a refused POST may write on purpose, and why.
REFUSAL_WRITES = {
    # A refused login is counted (and old failures purged): the throttle is built on it.
    "accounts.login": {"login_failure"},
}
FORM = re.compile(r"<form\b([^>]*)>(.*?)</form>", re.S)
NAME = re.compile(r'<(?:input|select|textarea|button)\b[^>]*\bname="([^"]+)"')
ACTION = re.compile(r'\baction="([^"]*)"')


def form_fields(client, url: str) -> set[str]:
    """The names of the fields of the page's forms that post to `url` (or to the page)."""
    response = client.get(url)
    if response.status_code != 200:
        return set()
    path = url.split("?")[0]
    names = set()
    for attributes, body in FORM.findall(response.get_data(as_text=True)):
        if 'method="post"' not in attributes.lower():
            continue
        action = ACTION.search(attributes)
        target = unescape(action.group(1)).split("?")[0] if action else ""
        if target in ("", path):
            names |= {unescape(n) for n in NAME.findall(body)}
    return names - {"csrf_token"}


def rule_of(app, url: str):
    adapter = app.url_map.bind("localhost")
    rule, _args = adapter.match(url.split("?")[0], method="POST", return_rule=True)
    return rule


def flatten(data: dict) -> list[tuple[str, str]]:
    """A sample's fields as (name, value) pairs, a list value giving one pair per item."""
    pairs = []
    for key, value in data.items():
        pairs += [(key, item) for item in value] if isinstance(value, list) else [(key, value)]
    return pairs


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_bad_form_input_never_breaks_a_form_nor_half_writes(kit, row_counts, watch, endpoint):
    # An accepted POST may use up the sample (a request cancelled, a link used) or change
    # the session (a login renews its CSRF token): the next example takes a new sample.
    current = [test_csrf.sample_for(kit, endpoint, accepted=True)]
    first = current[0]
    rule = rule_of(kit.app, first.url)
    files = {k for k, v in first.data.items() if isinstance(v, tuple)}
    fields = {k for k in first.data if k not in files}
    if "GET" in rule.methods:
        fields |= form_fields(first.client, first.url)
    names = sorted(fields - files) or ["champ"]
    other_name = fuzz.ANY_NAME.filter(lambda n: n != "csrf_token")
    overrides = st.lists(
        st.tuples(st.sampled_from(names) | other_name, fuzz.VALUES), min_size=1, max_size=4
    )
    file_contents = st.binary(max_size=300) | st.sampled_from(
        [b"", b"\x00" * 10, b"\xff\xfe\xfa", fuzz.HUGE.encode(), "\ufeffid;nom\n1;é\x00\n".encode()]
    )

    def check(path: str | None, changed: list, content: bytes, htmx: bool) -> None:
        post = current[0]
        valid_path, _, valid_query = post.url.partition("?")
        replaced = {name for name, _ in changed}
        base = flatten({k: v for k, v in post.data.items() if k not in files})
        pairs = [(k, v) for k, v in base if k not in replaced] + list(changed)
        url = (path or valid_path) + (f"?{valid_query}" if valid_query else "")
        headers = {"HX-Request": "true"} if htmx else {}
        if files:
            data = MultiDict([(k, fuzz.lenient(v)) for k, v in pairs])
            data.add("csrf_token", post.token)
            for name in files:
                data.add(name, (io.BytesIO(content), "lieux.csv"))
            send = {"data": data, "content_type": "multipart/form-data"}
        else:
            body = fuzz.query_string([*pairs, ("csrf_token", post.token)])
            send = {"data": body, "content_type": "application/x-www-form-urlencoded"}
        before = row_counts()
        watch.reset()
        response = post.client.post(url, headers=headers, **send)
        written = set(watch.committed)
        why = fuzz.problem(response, api=False)
        lost = CSRF_MESSAGE in response.get_data(as_text=True)
        response.close()
        if response.status_code < 400:
            current[0] = test_csrf.sample_for(kit, endpoint, accepted=True)
        shown = f"POST {url} {[(k, v[:40]) for k, v in changed]}"
        assert why is None, f"{shown}: {why}"
        assert not lost, f"{shown}: refused for its CSRF token, the fuzzing lost its session"
        if 400 <= response.status_code < 500:
            after = row_counts()
            changed_tables = {t for t in before if before[t] != after[t]}
            allowed = REFUSAL_WRITES.get(endpoint, set())
            assert changed_tables <= allowed, (
                f"{shown}: refused, but rows changed in {changed_tables}"
            )
            assert written <= allowed, f"{shown}: refused, but committed writes to {written}"

    test = given(
        path=(st.none() | fuzz.path_strategy(rule)) if rule.arguments else st.none(),
        changed=overrides,
        content=file_contents,
        htmx=st.booleans(),
    )(check)
    # No field and no argument (logging out): only stray fields to try, a few are enough.
    fixed = not first.data and not rule.arguments
    if fixed:
        test = settings(max_examples=max(1, settings().max_examples // 4))(test)
    for nasty in fuzz.EXAMPLES[:2] if fixed else fuzz.EXAMPLES:
        every_field = [(name, nasty) for name in names]
        test = example(path=None, changed=every_field, content=nasty.encode(), htmx=False)(test)
    for nasty in fuzz.PATH_EXAMPLES:
        if rule.arguments and (path := fuzz.nasty_path(rule, nasty)):
            test = example(path=path, changed=[], content=b"", htmx=False)(test)
    test()


def test_cancelling_a_request_already_closed_says_why(kit):
    """Found by the fuzzing: a second cancel (another tab) came back as a bare 422 page,
    the form that would have shown the error being gone with the open request."""
    post = test_csrf.sample_for(kit, "requests.cancel", accepted=True)
    data = {**post.data, "csrf_token": post.token}
    assert post.client.post(post.url, data=data).status_code == 303
    again = post.client.post(post.url, data={**data, "comment": "x" * 5000})
    assert again.status_code == 409
    assert "ne peut plus être annulée" in fuzz.plain(again.get_data(as_text=True))
    assert fuzz.problem(again, api=False) is None
