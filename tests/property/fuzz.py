"""What the property-based tests throw at the application, and what they expect back.

Values are the classics of broken input: NUL bytes (PostgreSQL refuses them in text),
100,000-character strings, integers past 2**63, floats that are not numbers, impossible ISO
dates, control characters, lone surrogates (sent as the invalid UTF-8 they would be on the
wire: werkzeug decodes them with replacement characters), markup and SQL-looking text.
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote, urlencode

from hypothesis import strategies as st
from werkzeug.http import HTTP_STATUS_CODES

HUGE = "x" * 100_000
NUL = "a\x00b"
BEYOND_INT64 = str(2**63)
BAD_DATE = "2026-02-30"
# The nasties every route gets as explicit examples, whatever the random draw.
EXAMPLES = (NUL, HUGE, BEYOND_INT64, BAD_DATE)
PATH_EXAMPLES = (NUL, HUGE, BEYOND_INT64)

NASTY = (
    "\x00",
    NUL,
    HUGE,
    "é" * 30_000,
    BEYOND_INT64,
    str(-(2**63) - 1),
    str(2**64),
    "99999999999999999999999999",
    "-1",
    "0",
    "nan",
    "inf",
    "-inf",
    "1e309",
    BAD_DATE,
    "9999-12-31T25:00",
    "0000-01-01",
    "2026-13-01",
    "9999-12-31",
    "9999-12-31T23:59",
    "0001-01-01",
    "0001-01-01T00:00",
    "1900-01-01",
    "2026-12-01T09:30:00+25:00",
    "2026-W53",
    "31/02/2026",
    "",
    " ",
    "\t\r\n",
    "\x1b[31m",
    "\u202e",
    "\ufeff",
    "\ud800",
    "\udfff",
    "🦆",
    "<script>alert(1)</script>",
    "' OR '1'='1",
    "%",
    "_",
    "../../etc/passwd",
    "//evil.example",
    "javascript:alert(1)",
    "null",
    "[]",
)

# Text with every kind of character, lone surrogates and control characters included.
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
MALFORMED_DATES = st.builds(
    "{:04d}-{:02d}-{:02d}{}".format,
    st.integers(0, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["", "T25:00", "T23:59:60", "T09:30", "T00:00+14:30", " 12:00"]),
)
VALUES = st.one_of(
    st.sampled_from(NASTY),
    ANY_TEXT,
    st.integers(-(2**70), 2**70).map(str),
    st.floats().map(repr),
    MALFORMED_DATES,
    st.datetimes().map(lambda d: d.isoformat()),
)
# Names of parameters a view may read without our table knowing it.
ANY_NAME = st.one_of(st.sampled_from(["id", "page", "q", "next", "csrf_token"]), ANY_TEXT)


def wire(value: str) -> bytes:
    """The bytes a client would send; a lone surrogate becomes invalid UTF-8."""
    return value.encode("utf-8", "surrogatepass")


def lenient(value: str) -> str:
    """What werkzeug makes of it once decoded (for the multipart encoder, which wants text)."""
    return wire(value).decode("utf-8", "replace")


def query_string(pairs: list[tuple[str, str]]) -> str:
    return urlencode([(wire(k), wire(v)) for k, v in pairs])


def path_segment(value: str) -> str:
    return quote(wire(value), safe="")


def pairs_for(names: tuple[str, ...] | list[str], max_size: int = 6):
    """(name, value) pairs: mostly the names given, sometimes any; a name may repeat."""
    name = st.sampled_from(list(names)) | ANY_NAME if names else ANY_NAME
    return st.lists(st.tuples(name, VALUES), max_size=max_size)


# --- what comes back -------------------------------------------------------------------------

FRENCH_WORDS = frozenset(
    "le la les l de des du d un une est sont n pas ce cette cet à au aux votre vos en et ou "
    "pour sur par dans qui que aucun aucune être été saisissez indiquez choisissez".split()
)
ENGLISH_WORDS = frozenset(
    "the is are not was please invalid field required found error request server this you "
    "your must be of and to with missing".split()
)
ENGLISH_DEFAULTS = (
    "The browser (or proxy) sent a request",
    "The requested URL was not found",
    "Internal Server Error",
    "The method is not allowed",
    "You don't have the permission",
    "not a valid",
    "This field is required",
    "Invalid ",
)
# The places a French explanation lives in a page: the error page, a form's field errors and
# its summary, a flash message.
MESSAGE_BLOCKS = re.compile(
    r'<(p|div|li)\b[^>]*class="[^"]*\b(error-message|form-error|error-summary|flash[\w-]*|'
    r'notice[\w-]*)\b[^"]*"[^>]*>(.*?)</\1>|<[^>]*role="alert"[^>]*>(.*?)</(?:div|p|section)>',
    re.S,
)


H1 = re.compile(r"<h1\b[^>]*>(.*?)</h1>", re.S)


def plain(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def is_french(text: str) -> bool:
    """Some words, French ones or at least none of the English ones ("Besoin introuvable.")."""
    words = set(re.findall(r"[a-zà-ÿœ]+", text.lower()))
    if not words or any(e in text for e in ENGLISH_DEFAULTS):
        return False
    return bool(words & FRENCH_WORDS) or not words & ENGLISH_WORDS


def problem(response, api: bool) -> str | None:
    """Why this answer is not acceptable to bad input, or None when it is: below 500, and a
    refusal explains itself in French (JSON {"error": ...} on the API)."""
    code = response.status_code
    if code >= 500:
        return f"status {code}: {plain(response.get_data(as_text=True))[:300]}"
    if code < 400:
        return None
    if api:
        body = response.get_json(silent=True)
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            return f"status {code} without a JSON error: {response.get_data(as_text=True)[:200]}"
        return None if is_french(body["error"]) else f"error not in French: {body['error']!r}"
    html = response.get_data(as_text=True)
    if 'class="error-message"' in html and (title := H1.search(html)):
        heading = plain(title.group(1))
        if heading in HTTP_STATUS_CODES.values():
            return f"status {code}, error page titled in English: {heading!r} (web.ERROR_TITLES)"
    blocks = [plain(m.group(3) or m.group(4) or "") for m in MESSAGE_BLOCKS.finditer(html)]
    blocks += [plain(m.group(1)) for m in H1.finditer(html)]
    found = " ".join(b for b in blocks if b)
    if not found:
        return f"status {code} with no message in the page: {plain(html)[:300]}"
    return None if is_french(found) else f"message not in French: {found[:300]!r}"


# --- addresses -------------------------------------------------------------------------------

ARGUMENT = re.compile(r"<(?:[^:>]+:)?[^>]+>")


def path_strategy(rule):
    """The rule's address with every argument replaced by arbitrary input (digits for an int
    one, since the router takes nothing else there: huge ones included)."""
    parts = ARGUMENT.split(rule.rule)
    pieces = [
        st.integers(0, 2**80).map(str) | st.sampled_from([BEYOND_INT64, "0", "2147483648"])
        if type(converter).__name__ == "IntegerConverter"
        else VALUES.filter(bool).map(path_segment)
        for converter in rule._converters.values()
    ]

    def build(values) -> str:
        out = parts[0]
        for value, part in zip(values, parts[1:], strict=True):
            out += value + part
        return out

    return st.tuples(*pieces).map(build)


def nasty_path(rule, nasty: str) -> str | None:
    """The rule's address with every argument set to `nasty` (None if the router would not
    take it: an int argument takes digits only)."""
    if not all(
        type(c).__name__ != "IntegerConverter" or nasty.isdigit() for c in rule._converters.values()
    ):
        return None
    return ARGUMENT.sub(path_segment(nasty), rule.rule) if nasty else None
