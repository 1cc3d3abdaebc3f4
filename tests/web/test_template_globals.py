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


def test_a_context_starts_from_the_same_globals_as_jinjas():
    """_Template.new_context hands Jinja the environment's dict when the template has no
    globals of its own: the context holds the same names and values, sees a global added
    later, and a template with its own globals keeps them."""
    app = make_app("sqlite://")
    env = app.jinja_env
    page = env.get_template("macros.html")
    for shared in (False, True):
        ours = page.new_context({"x": 1}, shared)
        jinjas = Template.new_context(page, {"x": 1}, shared)
        assert ours.get_all() == jinjas.get_all()
        assert ours.globals_keys == jinjas.globals_keys
    assert page.new_context({"x": 1}).parent is not env.globals  # a copy, never the dict
    env.globals["added_later"] = "oui"
    assert page.new_context().get_all()["added_later"] == "oui"
    own = env.from_string("{{ only_here }} {{ added_later }}", globals={"only_here": "ici"})
    assert own.render() == "ici oui"
    assert "only_here" not in env.globals


def test_calls_from_templates_answer_as_jinjas():
    """_Context.call's short way (plain functions, macros) and Jinja's (marked callables,
    other objects) give what a plain Jinja environment gives, in loops and blocks too."""
    from jinja2 import DictLoader, Environment, pass_context, pass_eval_context

    from proxiservices.web import TemplateEnvironment, _Context

    def plain(a, b="-"):
        return f"{a}{b}"

    @pass_context
    def with_context(context, name):
        return context.get(name)

    @pass_eval_context
    def with_eval_context(eval_ctx, text):
        return f"{text}:{eval_ctx.autoescape}"

    def stops():
        raise StopIteration

    class Callable:
        def __call__(self, x):
            return x * 2

    source = {
        "m.html": "{% macro box(x, tag='b') %}<{{ tag }}>{{ x }}</{{ tag }}>{% endmacro %}",
        "base.html": "[{% block main %}{% endblock %}]",
        "page.html": (
            '{% extends "base.html" %}{% from "m.html" import box %}{% block main %}'
            "{% set v = 'bloc' %}{{ plain(1) }} {{ plain(2, b='x') }} {{ with_context('v') }}"
            " {{ with_eval_context('e') }} {{ box('<i>') }} {{ box(3, tag='i') }}"
            " {{ callable(4) }} {{ stops() is undefined }}"
            "{% for i in [1, 2] %}{% set w = i %} {{ plain(i, b=w) }} {{ with_context('i') }}"
            " {{ box(i) }}{% endfor %}{% endblock %}"
        ),
    }
    names = dict(
        plain=plain,
        with_context=with_context,
        with_eval_context=with_eval_context,
        stops=stops,
        callable=Callable(),
    )
    rendered = []
    for kind in (TemplateEnvironment, Environment):
        env = Environment.__new__(kind)
        Environment.__init__(env, loader=DictLoader(source), autoescape=True)
        env.globals.update(names)
        page = env.get_template("page.html")
        rendered.append(page.render())
        assert (type(page.new_context()) is _Context) == (kind is TemplateEnvironment)
    assert rendered[0] == rendered[1]
    assert "&lt;i&gt;" in rendered[0] and "bloc" in rendered[0] and "True" in rendered[0]
