"""Web plumbing shared by every page: errors, template helpers, the commune of the visit."""

from __future__ import annotations

import functools
import re
from collections import ChainMap
from datetime import UTC, date, datetime
from types import FunctionType

from flask import Flask, abort, current_app, jsonify, request
from flask.globals import _cv_request
from flask.templating import Environment
from flask_babel import format_date, format_datetime
from flask_wtf.csrf import CSRFError
from jinja2 import Template
from jinja2.runtime import Context, Macro, new_context
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from proxiservices.converters import register_converters
from proxiservices.domain import hours, lifecycle, residents, roles
from proxiservices.domain.places import place_label
from proxiservices.extensions import htmx
from proxiservices.outage import database_unavailable, render_error_page, unavailable_response
from proxiservices.services import directory_memory

FORM_METHODS = frozenset(("POST", "PUT", "PATCH"))
ERROR_TITLES = {
    400: "Demande incorrecte",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Méthode non autorisée",
    409: "Action impossible",
    413: "Envoi trop volumineux",
    429: "Trop de tentatives",
    500: "Erreur interne",
}
CSRF_MESSAGE = "Le formulaire a expiré ou n'est pas valide. Rechargez la page et recommencez."
ERROR_MESSAGES = {
    400: "La demande n'a pas pu être comprise.",
    403: "Vous n'avez pas accès à cette page.",
    404: "Cette adresse ne correspond à aucune page. Vérifiez le lien ou repartez de l'accueil.",
    405: "Cette action n'est pas possible à cette adresse.",
    409: "Cette action n'est plus possible dans l'état actuel. Rechargez la page.",
    413: "Ce que vous avez envoyé est trop volumineux.",
    429: "Trop de tentatives en peu de temps. Patientez quelques minutes avant de réessayer.",
    500: "Une erreur est survenue de notre côté. Réessayez dans un instant.",
}


class _TemplateGlobals(ChainMap):
    """A template's globals, Jinja's ChainMap over the environment's, whose keys() is a set.
    Importing macros (`{% from "macros.html" import ... %}`) subtracts the imported
    template's global names from the page's: on a ChainMap's key view that is a Python
    loop asking every map for every name (about 4 % of a result page's CPU under load); on
    a set, one C call. Same names, same answers."""

    def keys(self):  # type: ignore[override]
        return set().union(*self.maps)


class _Template(Template):
    """A template whose contexts start from the environment's globals dict itself when the
    template has none of its own (every template but a few tests' from_string): a context
    copies its globals (`dict(globals, **vars)`) and lists their names (`set(globals)`),
    which on the ChainMap are Python loops over every name, at each render and include (4 %
    of a result page's CPU); on the dict, C copies. Same names, same values: the ChainMap's
    first map is empty."""

    def new_context(self, vars=None, shared=False, locals=None):
        scope = self.globals
        if type(scope) is _TemplateGlobals and len(scope.maps) == 2 and not scope.maps[0]:
            scope = scope.maps[1]
        return new_context(self.environment, self.name, self.blocks, vars, shared, scope, locals)


_UNDEFINED_BY_STOP = "value was undefined because a callable raised a StopIteration exception"


class _Context(Context):
    """A template context whose calls of plain functions and macros skip Jinja's search for
    a pass_context-style marker on the callable and on its __call__ (two lookups each):
    1.7 -> 0.5 µs a call, a result page makes about forty. Anything marked, or any other
    kind of callable, goes Jinja's way."""

    def call(__self, __obj, *args, **kwargs):
        kind = type(__obj)
        if kind is Macro:
            args = (__self.eval_ctx, *args)  # Macro.__call__ is pass_eval_context
        elif kind is not FunctionType or hasattr(__obj, "jinja_pass_arg"):
            return super().call(__obj, *args, **kwargs)
        if kwargs:
            kwargs.pop("_block_vars", None)
            kwargs.pop("_loop_vars", None)
        try:
            return __obj(*args, **kwargs)
        except StopIteration:
            return __self.environment.undefined(_UNDEFINED_BY_STOP)


class TemplateEnvironment(Environment):
    template_class = _Template
    context_class = _Context

    def make_globals(self, d):
        return _TemplateGlobals({} if d is None else d, self.globals)


def in_paris(value: datetime) -> datetime:
    """A datetime as Paris wall-clock time. Naive values are Paris times already (closures,
    alerts, ateliers store them so); instants are aware (`UTCDateTime` reads them back so)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=hours.PARIS)
    return value.astimezone(hours.PARIS)


def fr_datetime(value: datetime | None, fmt: str = "EEEE d MMMM 'à' H'h'mm") -> str:
    if value is None:
        return ""
    if _simple_pattern(fmt) is None:
        return format_datetime(in_paris(value), fmt).replace("h00", "h")
    # An aware time is kept by its instant in UTC: two aware times in a zone with summer
    # time that differ only by `fold` compare (and hash) equal, yet are an hour apart.
    return _fr_datetime(value if value.tzinfo is None else value.astimezone(UTC), fmt)


@functools.lru_cache(maxsize=4096)
def _fr_datetime(value: datetime, fmt: str) -> str:
    """Babel's French for the fields of _FIELDS, without its cost, and kept: a result page
    writes the same few openings and closings (whole minutes) for most of its sites, and so
    do the next pages. Equal keys are the same Paris wall-clock time: aware keys are UTC
    times, equal when they are the same instant; a naive one (a Paris time already, whose
    fold the text does not show) never equals an aware one."""
    return _written(in_paris(value), fmt).replace("h00", "h")


_FIELDS = {
    "EEEE": lambda v: hours.WEEKDAYS[v.weekday()],
    "d": lambda v: str(v.day),
    "MMMM": lambda v: hours.MONTHS[v.month - 1],
    "y": lambda v: str(v.year),
    "H": lambda v: str(v.hour),
    "mm": lambda v: f"{v.minute:02d}",
}
_DATE_FIELDS = frozenset(_FIELDS[letters] for letters in ("EEEE", "d", "MMMM", "y"))
_TOKEN = re.compile(r"'((?:[^']|'')*)'|([A-Za-z])\2*|([^A-Za-z']+)")


@functools.lru_cache(maxsize=64)
def _simple_pattern(fmt: str) -> tuple | None:
    """A CLDR pattern as literal texts and field functions; None when it has a field not
    in _FIELDS (then Babel formats it)."""
    parts: list = []
    position = 0
    for match in _TOKEN.finditer(fmt):
        if match.start() != position:
            return None
        position = match.end()
        quoted, letters, other = match.group(1), match.group(0), match.group(3)
        if quoted is not None:
            parts.append(quoted.replace("''", "'") if quoted else "'")
        elif other is not None:
            parts.append(other)
        elif letters in _FIELDS:
            parts.append(_FIELDS[letters])
        else:
            return None
    return tuple(parts) if position == len(fmt) else None


def fr_date(value, fmt: str = "EEEE d MMMM y") -> str:
    """French dates say "1er" for the first of the month."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = in_paris(value).date()  # the Paris day: 23h30 UTC on 30 November is 1 December
    if value.day == 1 and " d MMMM" in f" {fmt}":
        fmt = fmt.replace("d MMMM", "d'er' MMMM", 1)
    if _date_pattern(fmt):
        return _fr_date(value, fmt)
    return format_date(value, fmt)


@functools.lru_cache(maxsize=64)
def _date_pattern(fmt: str) -> bool:
    """Whether _fr_date can write `fmt`: fields of the day only, all in _FIELDS."""
    parts = _simple_pattern(fmt)
    return parts is not None and all(isinstance(p, str) or p in _DATE_FIELDS for p in parts)


@functools.lru_cache(maxsize=4096)
def _fr_date(value: date, fmt: str) -> str:
    """Babel's French for a day, without its cost (a result page prints a source's date),
    and kept: pages print the same few dates."""
    return _written(value, fmt)


def _written(value: date, fmt: str) -> str:
    """`value` in the pattern `fmt`, which _simple_pattern reads."""
    return "".join(part if isinstance(part, str) else part(value) for part in _simple_pattern(fmt))


def km(value: float | None, approx: bool = False) -> str:
    if value is None:
        return ""
    text = f"{value:.1f}".replace(".", ",") + " km"
    return f"environ {text}" if approx else text


def de(name: str) -> str:
    """ "de Docelles", "d'Épinal", "du Thillot", "des Forges"."""
    for article, contracted in (("Le ", "du "), ("Les ", "des ")):
        if name.startswith(article):
            return contracted + name.removeprefix(article)
    elided = name[:1].lower() in "aeiouyàâéèêëîïôöûü"
    return f"d'{name}" if elided else f"de {name}"


def appointment(item) -> str:
    """ "mardi 8 décembre à 10h30, sur place – CAF, Épinal": one wording for pages and mail."""
    text = f"{fr_datetime(item.scheduled_at)}, {lifecycle.SCHEDULE_MODES[item.scheduled_mode]}"
    return f"{text} – {item.scheduled_place}" if item.scheduled_place else text


def overdue(item, at: datetime) -> bool:
    days = lifecycle.parse_reminder_days(current_app.config["REQUEST_REMINDER_DAYS"])
    return lifecycle.overdue(item.status, item.created_at, at, days)


def _template_url_for(app: Flask):
    """url_for for templates, cheaper than Flask's for the two kinds of address every page
    builds by the score (a tenth of a result page's time otherwise):
    - one that never changes within a deployment (an endpoint without arguments, a static
      file) is kept;
    - one of an endpoint served by a single GET rule is built by that rule (werkzeug's
      Rule.build: the same address), without the lookups Flask and the map adapter make for
      relative names, url_defaults callbacks, other methods, hosts and external addresses.
    Anything else (one of those features, a rule that does not fit) goes to Flask's."""
    kept: dict[tuple, str] = {}
    single: dict[str, Rule | None] = {}
    build = app.url_for

    def only_get_rule(endpoint: str) -> Rule | None:
        try:
            return single[endpoint]
        except KeyError:
            pass
        try:
            rules = list(app.url_map.iter_rules(endpoint))
        except KeyError:  # unknown, or relative (".site"): Flask's answer or error
            rules = []
        rule = rules[0] if len(rules) == 1 else None
        if rule is not None and (rule.websocket or rule.host or "GET" not in rule.methods):
            rule = None
        if len(single) < 1000:  # one per endpoint
            single[endpoint] = rule
        return rule

    def url_for(endpoint: str, **values) -> str:
        # The request context straight from its context variable: each of Flask's proxies
        # (has_request_context, request, request_ctx) costs about a microsecond, and a
        # result page builds a score of addresses.
        ctx = _cv_request.get(None)
        if ctx is None or app.url_default_functions:
            return build(endpoint, **values)
        if not values or (endpoint == "static" and len(values) == 1 and "filename" in values):
            key = (ctx.request.root_path, endpoint, values.get("filename"))
            url = kept.get(key)
            if url is None:
                url = build(endpoint, **values)
                if len(kept) < 1000:  # a few dozen in practice
                    kept[key] = url
            return url
        rule = single[endpoint] if endpoint in single else only_get_rule(endpoint)
        if rule is None or any(name[:1] == "_" for name in values):
            return build(endpoint, **values)
        if None in values.values():
            values = {k: v for k, v in values.items() if v is not None}
        adapter = ctx.url_adapter
        if adapter.map.host_matching or not rule.suitable_for(values, "GET"):
            return build(endpoint, **values)
        built = rule.build(values)
        if built is None or built[0] != adapter.subdomain:
            return build(endpoint, **values)
        return f"{adapter.script_name.rstrip('/')}/{built[1].lstrip('/')}"

    return url_for


def _card_part(app: Flask):
    """A part of a site card (a macro of macros.html taking the site first). A site of the
    directory snapshot is shared and never changes: its part is rendered once and kept on
    it, with the arguments it was rendered with (a weekly table changes with the day).
    Other sites (read in the request, maybe being edited) are rendered each time."""

    def card_part(name: str, site, *args) -> Markup:
        kept = directory_memory.is_kept(site)
        key = f"_card_{name}"
        if kept:
            found = site.__dict__.get(key)
            if found is not None and found[0] == args:
                return found[1]
        html = getattr(app.jinja_env.get_template("macros.html").module, name)(site, *args)
        if kept:
            site.__dict__[key] = (args, html)
        return html

    return card_part


def warm_card_parts() -> int:
    """Render the kept parts of every site card of the directory snapshot, weekly tables of
    today (Paris): gunicorn's master does it before forking (0.4 s at national scale), so
    the workers' first pages find them. Needs an app context; returns the sites done."""
    snapshot = directory_memory.current()
    if snapshot is None:
        return 0
    card_part = current_app.jinja_env.globals["card_part"]
    today = datetime.now(hours.PARIS).date()
    for site in snapshot.sites.values():
        card_part("site_contact", site)
        week = hours.weekly_table(site.opening_hours, today)
        if week:
            card_part("site_week", site, week)
    return len(snapshot.sites)


def register_web(app: Flask) -> None:
    register_converters(app)
    app.jinja_env.filters.update(
        fr_datetime=fr_datetime,
        fr_date=fr_date,
        km=km,
        phone=residents.format_phone,
        appointment=appointment,
    )
    # A global (not a context variable) so that imported macros see it too.
    app.jinja_env.globals.update(
        format_time=hours.format_time,
        htmx=htmx,
        place_label=place_label,
        de=de,
        may=roles.may,
        status_labels=lifecycle.STATUS_LABELS,
        schedule_modes=lifecycle.SCHEDULE_MODES,
        channels=residents.CHANNELS,
        describe_slots=residents.describe_slots,
        age_in_days=lifecycle.age_in_days,
        overdue=overdue,
    )
    app.jinja_env.globals["url_for"] = _template_url_for(app)
    app.jinja_env.globals["card_part"] = _card_part(app)
    from proxiservices.site_cards import hours_status, make_site_card

    app.jinja_env.globals["hours_status"] = hours_status
    app.jinja_env.globals["site_card"] = make_site_card(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.before_request
    def refuse_nul_bytes():
        """No text column of PostgreSQL can hold a NUL byte: refuse it at the door, in the
        path, the query and the form (names and every value of a repeated field)."""
        # The query string holds a NUL once decoded only where it says %00 (or has one):
        # read raw, without walking every decoded name and value of every page's query.
        query = request.environ.get("QUERY_STRING", "")
        fields = request.form.items(multi=True) if request.method in FORM_METHODS else ()
        # A multipart part with an unreadable name comes with the name None.
        if (
            "\x00" in request.path
            or "%00" in query
            or "\x00" in query
            or any("\x00" in f"{k}{v}" for k, v in fields)
        ):
            abort(400, "L'adresse ou le formulaire contient un caractère invalide.")

    @app.after_request
    def vary_on_htmx(response):
        # Mostly the first to name one (the session adds Cookie later): a plain header then;
        # werkzeug's `vary` parses the header into a set and writes it back.
        if "Vary" in response.headers:
            response.vary.add("HX-Request")
        else:
            response.headers["Vary"] = "HX-Request"
        return response

    from proxiservices.blueprints.common import render_page

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        cause = getattr(error, "original_exception", None)
        if cause is not None and database_unavailable(cause):
            return unavailable_response(cause)  # escaped another handler: still a clean 503
        code = error.code or 500
        message = error.description
        if not isinstance(message, str) or message == type(error).description:
            message = ERROR_MESSAGES.get(code, error.name)
        if isinstance(error, CSRFError):
            message = CSRF_MESSAGE
        if request.path.startswith("/api/"):
            return jsonify(error=message), code
        title = ERROR_TITLES.get(code, error.name)
        page = render_error_page(
            lambda: render_page("error.html", "_error.html", title=title, message=message)
        )
        return page, code
