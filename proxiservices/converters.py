"""URL converters and rules: `<int:...>` in a route is always a row id, bounded once for all
routes; addresses are built as werkzeug builds them, faster."""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlencode

import werkzeug.routing
from flask import Flask
from werkzeug.datastructures import iter_multi_items
from werkzeug.routing import IntegerConverter, Map, UnicodeConverter

from proxiservices.domain.ids import ROW_ID_MAX


class RowIdConverter(IntegerConverter):
    """ASCII digits from 1 to PostgreSQL's largest integer; anything else matches no route,
    so it is a 404 before any view or query runs (`/demandes/99999999999`, `/demandes/0`)."""

    regex = r"[0-9]+"  # \d would also take "٣", which int() reads as 3

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = 1,
        max: int | None = ROW_ID_MAX,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


# What werkzeug's quoting leaves as it is: the always-safe characters of urllib.parse.quote
# plus the `safe` argument werkzeug passes (query values in werkzeug.urls._urlencode, path
# segments in BaseConverter.to_url).
_QUERY_SAFE = "!$'()*,/:;?@"
_AS_IS_IN_QUERY = re.compile(r"[A-Za-z0-9_.~!$'()*,/:;?@-]*")
_AS_IS_IN_PATH = re.compile(r"[A-Za-z0-9_.~!$&'()*+,/:;=@-]*")


class Rule(werkzeug.routing.Rule):
    """A result page builds a score of addresses whose values are slugs, INSEE codes and ids,
    which quoting leaves unchanged: they skip urllib's quoting (a tenth of url_for). Any other
    value goes through werkzeug's own encoding, item by item: the address is the same."""

    def _encode_query_vars(self, query_vars: Any) -> str:
        if self.map.sort_parameters:
            return super()._encode_query_vars(query_vars)
        # The builder hands over a plain dict: its items are read as iter_multi_items reads
        # a mapping's (a list, tuple or set gives one pair per item), without its checks.
        if type(query_vars) is not dict:
            return "&".join(
                _query_pair(k, v) for k, v in iter_multi_items(query_vars) if v is not None
            )
        parts = []
        for key, value in query_vars.items():
            if isinstance(value, (list, tuple, set)):
                parts += [_query_pair(key, v) for v in value if v is not None]
            elif value is not None:
                parts.append(_query_pair(key, value))
        return "&".join(parts)


def _query_pair(key: Any, value: Any) -> str:
    if type(key) is str and (type(value) is str or type(value) is int):
        return _plain_pair(key, value)
    return urlencode([(key, value)], safe=_QUERY_SAFE)


@functools.lru_cache(maxsize=1024, typed=True)
def _plain_pair(key: str, value: str | int) -> str:
    """Kept: a page repeats the same few pairs (its commune's code) in a score of links."""
    text = value if type(value) is str else str(value)
    if _AS_IS_IN_QUERY.fullmatch(key) and _AS_IS_IN_QUERY.fullmatch(text):
        return f"{key}={text}"
    return urlencode([(key, value)], safe=_QUERY_SAFE)


class SegmentConverter(UnicodeConverter):
    """The default converter (one path segment), quoting only what needs it."""

    def to_url(self, value: Any) -> str:
        if type(value) is str and _AS_IS_IN_PATH.fullmatch(value):
            return value
        return super().to_url(value)


def register_converters(app: Flask) -> None:
    """Before the blueprints: a rule takes its class and its converters when it is added."""
    app.url_rule_class = Rule
    app.url_map.converters["int"] = RowIdConverter
    app.url_map.converters["default"] = SegmentConverter
    app.url_map.converters["string"] = SegmentConverter
