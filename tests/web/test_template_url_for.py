"""The templates' url_for (web._template_url_for) builds exactly Flask's addresses, and
takes its short way (one rule, no map adapter) where it says it does."""

import pytest
from flask import url_for
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.routing import BuildError, MapAdapter

from tests.conftest import make_app

EDGY = st.text(alphabet="aZ09-_.~!$&'()*+,/:;=?@ %#[]\"é\n", min_size=1, max_size=6)
QUERY_VALUES = st.one_of(
    st.none(), st.text(max_size=8), EDGY, st.integers(), st.lists(EDGY, max_size=3)
)
BASES = ["http://localhost", "http://localhost/sous/dossier", "https://exemple.fr/pré fixe"]


@pytest.fixture(scope="module")
def app():
    return make_app("sqlite://")


def _fast(app):
    return app.jinja_env.globals["url_for"]


def _both(app, endpoint, **values):
    """(Flask's answer, the templates' answer): an address or the exception's type."""
    answers = []
    for build in (url_for, _fast(app)):
        try:
            answers.append(build(endpoint, **values))
        except Exception as error:  # the same failure is expected of both
            answers.append(type(error))
    return answers


def _arguments(rule, text):
    return {name: 7 if f"<int:{name}>" in rule.rule else text for name in rule.arguments}


@pytest.mark.parametrize("base", BASES)
def test_every_route_same_address_as_flask(app, base):
    extras = [{}, {"commune": "88160", "q": "carte grise", "vide": None}, {"kind": ["caf", "b c"]}]
    with app.test_request_context("/", base_url=base):
        for rule in app.url_map.iter_rules():
            for text in ("docelles", "a b/é?#"):
                for extra in extras:
                    values = {**extra, **_arguments(rule, text)}
                    flask_url, ours = _both(app, rule.endpoint, **values)
                    assert ours == flask_url, (rule.rule, values)


@settings(max_examples=200, deadline=None)
@given(slug=EDGY, query=st.dictionaries(st.text(max_size=6), QUERY_VALUES, max_size=4))
def test_any_query_same_address_as_flask(app, slug, query):
    query = {k: v for k, v in query.items() if k != "slug"}
    with app.test_request_context("/", base_url="http://localhost/sous"):
        for endpoint, values in (
            ("directory.site", {"slug": slug, **query}),
            ("orientation.result", query),
            ("static", {"filename": slug, **query}),
        ):
            flask_url, ours = _both(app, endpoint, **values)
            assert ours == flask_url


@pytest.mark.parametrize(
    "endpoint, values",
    [
        ("directory.site", {"slug": "x", "_anchor": "horaires"}),
        ("directory.site", {"slug": "x", "_external": True}),
        ("directory.site", {"slug": "x", "_scheme": "https", "_external": True}),
        ("directory.site", {}),  # a missing argument
        ("directory.site", {"slug": None, "commune": "88160"}),  # None is missing too
        ("nowhere.page", {"a": 1}),  # an unknown endpoint
        (".site", {"slug": "x"}),  # relative to the request's blueprint (none here)
        ("accounts.logout", {"next": "/"}),  # a POST-only rule
    ],
)
def test_other_cases_answer_as_flask(app, endpoint, values):
    with app.test_request_context("/"):
        flask_url, ours = _both(app, endpoint, **values)
    assert ours == flask_url


def test_relative_endpoint_in_a_blueprint_request(app):
    with app.test_request_context("/lieux/x"):
        flask_url, ours = _both(app, ".site", slug="y", commune="88160")
    assert ours == flask_url == "/lieux/y?commune=88160"


def test_outside_a_request_as_flask(app):
    with app.app_context():
        flask_url, ours = _both(app, "directory.site", slug="x")
    assert ours == flask_url


def test_url_defaults_callbacks_are_honoured():
    app = make_app("sqlite://")

    @app.url_defaults
    def add_language(endpoint, values):
        values.setdefault("langue", "fr")

    with app.test_request_context("/"):
        assert _fast(app)("directory.site", slug="x") == "/lieux/x?langue=fr"
        assert _fast(app)("orientation.themes") == "/themes?langue=fr"


def test_short_way_skips_the_map_adapter(app, monkeypatch):
    """Without this, every test above would pass with a url_for that always asks Flask."""
    with app.test_request_context("/", base_url="http://localhost/sous"):
        expected = url_for("directory.site", slug="a b", commune="88160")
        monkeypatch.setattr(MapAdapter, "build", _refuse)
        assert _fast(app)("directory.site", slug="a b", commune="88160") == expected
        with pytest.raises(BuildError):
            _fast(app)("directory.site", slug="x", _anchor="a")  # the long way


def _refuse(self, endpoint, *args, **kwargs):
    raise BuildError(endpoint, {}, None)
