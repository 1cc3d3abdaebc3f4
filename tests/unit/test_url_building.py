"""The app's rule class and default converter build exactly the addresses werkzeug builds."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.routing import Map
from werkzeug.routing import Rule as WerkzeugRule

from proxiservices.converters import Rule, SegmentConverter

ROUTES = ["/lieux/<slug>", "/communes/<string:insee>/alertes.atom", "/demandes/<int:item>"]


def _adapters():
    plain = Map([WerkzeugRule(r, endpoint=r) for r in ROUTES])
    ours = Map(
        [Rule(r, endpoint=r) for r in ROUTES],
        converters={"default": SegmentConverter, "string": SegmentConverter},
    )
    return plain.bind("example.org", "/prefix"), ours.bind("example.org", "/prefix")


PLAIN, OURS = _adapters()
SLUGISH = st.from_regex(r"[a-z0-9-]{0,12}", fullmatch=True)
# Every character class quoting treats differently: unreserved, each sub-delimiter, space,
# percent, hash, non-ASCII, control.
EDGY = st.text(alphabet="aZ09-_.~!$&'()*+,/:;=?@ %#[]\"é\n\x00", max_size=6)
VALUES = st.one_of(
    st.none(),
    st.text(),
    EDGY,
    SLUGISH,
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.one_of(st.text(), EDGY, SLUGISH, st.integers()), max_size=3),
)


@pytest.mark.parametrize("character", [chr(c) for c in range(0x80)] + ["é", "’", "\u2028"])
def test_each_character_is_quoted_as_werkzeug_quotes_it(character):
    text = f"a{character}b"
    for values in ({"slug": text}, {"slug": "s", "q": text}, {"slug": "s", text: "v"}):
        assert OURS.build("/lieux/<slug>", values) == PLAIN.build("/lieux/<slug>", values)


@settings(max_examples=300)
@given(
    segment=st.one_of(st.text(min_size=1), EDGY.filter(bool), SLUGISH.filter(bool)),
    number=st.integers(min_value=0, max_value=10**6),
    query=st.dictionaries(st.one_of(st.text(), EDGY, SLUGISH), VALUES, max_size=4),
)
def test_same_address_as_werkzeug(segment, number, query):
    for route, arguments in [
        ("/lieux/<slug>", {"slug": segment}),
        ("/communes/<string:insee>/alertes.atom", {"insee": segment}),
        ("/demandes/<int:item>", {"item": number}),
    ]:
        values = {**{k: v for k, v in query.items() if k not in arguments}, **arguments}
        assert OURS.build(route, values) == PLAIN.build(route, values)


def test_slugs_and_codes_are_left_as_they_are():
    assert OURS.build("/lieux/<slug>", {"slug": "fs-bruyeres", "commune": "2A004", "n": 3}) == (
        "/prefix/lieux/fs-bruyeres?commune=2A004&n=3"
    )
    assert OURS.build("/lieux/<slug>", {"slug": "é è", "next": "/a?b=c d"}) == (
        "/prefix/lieux/%C3%A9%20%C3%A8?next=/a?b%3Dc+d"
    )


@settings(max_examples=100)
@given(pairs=st.lists(st.tuples(st.one_of(EDGY, SLUGISH), VALUES), max_size=5))
def test_multidict_tuple_and_set_values_as_werkzeug(pairs):
    """The builder reads a plain dict itself; a MultiDict (MapAdapter.build takes one) and
    tuple or set values take the same address as werkzeug's."""
    from werkzeug.datastructures import MultiDict

    values = MultiDict([(k, v) for k, v in pairs if k != "slug"])
    values["slug"] = "s"
    assert OURS.build("/lieux/<slug>", values) == PLAIN.build("/lieux/<slug>", values)
    as_tuples = {"slug": "s", **{k: tuple(v) for k, v in values.lists() if k != "slug"}}
    assert OURS.build("/lieux/<slug>", as_tuples) == PLAIN.build("/lieux/<slug>", as_tuples)
    hashable = [v for _, v in pairs if not isinstance(v, list)]
    as_set = {"slug": "s", "k": set(hashable)}
    assert OURS.build("/lieux/<slug>", as_set) == PLAIN.build("/lieux/<slug>", as_set)
