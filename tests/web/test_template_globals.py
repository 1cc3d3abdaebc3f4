"""Templates' globals: a set of keys for imports, same names and answers as Jinja's ChainMap."""

from collections import ChainMap

from flask import render_template_string
from jinja2 import Template

from tests.conftest import make_app


def test_templates_globals_are_the_environments_with_set_keys():
    app = make_app("sqlite://")
    template = app.jinja_env.get_template("macros.html")
    assert isinstance(template.globals, ChainMap)
    assert type(template.globals.keys()) is set  # imports subtract it in C
    assert template.globals.keys() == set(ChainMap({}, app.jinja_env.globals))
    assert template.globals["url_for"] is app.jinja_env.globals["url_for"]


def test_import_sees_a_global_added_later_and_a_template_global(monkeypatch):
    """What makes Jinja rebuild an imported module (a global the page has and the macros'
    template lacks) still does, and a global added after loading is still seen."""
    app = make_app("sqlite://")
    env = app.jinja_env
    calls = []
    real = Template._get_default_module

    def counting(self, ctx=None):
        calls.append(ctx)
        return real(self, ctx)

    monkeypatch.setattr(Template, "_get_default_module", counting)
    with app.test_request_context("/"):
        env.globals["greeting"] = "bonjour"
        page = env.from_string(
            '{% from "macros.html" import nav_link %}{{ nav_link("/a", greeting) }}',
            globals={"only_here": 1},
        )
        assert page.render() == '<a href="/a" hx-get="/a">bonjour</a>'
        assert render_template_string(
            '{% from "macros.html" import nav_link %}{{ nav_link("/b", "b") }}'
        ) == ('<a href="/b" hx-get="/b">b</a>')
    assert calls  # the import went through Jinja's module lookup
