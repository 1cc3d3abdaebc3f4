"""The resident screen ("écran usager"): pairing codes, what the desk is looking at, the
ETag of that, and the plain-language sentences the resident reads.

A desk's "current screen" is a kind and a few identifiers (need slug, commune code, theme or
question slug, the needs a search found), never anything the resident said: the search
words themselves are not kept, only the needs they found. Encoded as one short string, it
is what the database stores and compares, so that a desk page that shows the same thing
again changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")

# Who may pair a screen: the desks, and administrators (to demonstrate and test it).
SCREEN_ROLES = frozenset({"receptionist", "admin"})

# No 0/O, 1/I/L, 2/Z, 5/S, 8/B, G/6: letters and digits that cannot be misread aloud or
# on a tablet keyboard. 23 signs, 6 of them: 148 million codes, each valid a few minutes.
ALPHABET = "ACDEFHJKMNPQRTUVWXY3479"
CODE_LENGTH = 6
SEPARATORS = re.compile(r"[\s\-._]+")

HOME = "home"
COMMUNE = "commune"
THEMES = "themes"
QUESTION = "question"
SEARCH = "search"
RESULT = "result"
KINDS = (HOME, COMMUNE, THEMES, QUESTION, SEARCH, RESULT)
MAX_SEARCH_NEEDS = 6
# Slugs and codes as the tree and the catalogue make them ("aide-logement", "sp-F2088").
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,119}$")
INSEE = re.compile(r"^[0-9][0-9AB][0-9]{3}$")
# A bucket of this many minutes is part of the ETag: "open now" turns into "closed" while
# the desk does not move, and the screen must show it within a few minutes.
ETAG_MINUTES = 5


# --- pairing codes and tokens -----------------------------------------------------------------


def new_code(choice=secrets.choice) -> str:
    """A fresh pairing code, from a cryptographic source."""
    return "".join(choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str | None) -> str | None:
    """The code as typed on a tablet ("k7m 4px", "K7M-4PX"), or None when it cannot be one."""
    if not typed:
        return None
    code = SEPARATORS.sub("", typed[:40]).upper()
    if len(code) != CODE_LENGTH or any(sign not in ALPHABET for sign in code):
        return None
    return code


def show_code(code: str) -> str:
    """ "K7M 4PX": two groups of three are read out and copied without a slip."""
    return f"{code[:3]} {code[3:]}"


def keyed_hash(value: str, secret: str) -> str:
    """What the database keeps of a code or a screen token: a stolen table pairs nothing."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    """The screen's cookie: long and random, unlike the code typed by hand."""
    return secrets.token_urlsafe(32)


def end_of_day(at: datetime) -> datetime:
    """Midnight after `at`, Paris time: a pairing never outlives the opening day."""
    local = at.astimezone(PARIS)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=PARIS)


# --- the desk's current screen ------------------------------------------------------------------


@dataclass(frozen=True)
class ScreenState:
    """What the desk shows, in identifiers only."""

    kind: str = HOME
    commune: str | None = None
    need: str | None = None
    theme: str | None = None
    question: str | None = None
    needs: tuple[str, ...] = field(default_factory=tuple)

    def encode(self) -> str:
        """ "result|commune=88078|need=aide-logement": stored and compared as is."""
        parts = [self.kind]
        for name in ("commune", "need", "theme", "question"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={value}")
        if self.needs:
            parts.append("needs=" + ",".join(self.needs))
        return "|".join(parts)


def state(kind: str, **ids: object) -> ScreenState:
    """A state from what a page knows; identifiers that do not look like ones are dropped
    (they come from URLs), so the stored string stays short and parseable."""
    if kind not in KINDS:
        kind = HOME
    commune = ids.get("commune")
    needs = ids.get("needs") or ()
    return ScreenState(
        kind=kind,
        commune=commune if isinstance(commune, str) and INSEE.match(commune) else None,
        need=_identifier(ids.get("need")),
        theme=_identifier(ids.get("theme")),
        question=_identifier(ids.get("question")),
        needs=tuple(
            slug for slug in (_identifier(n) for n in list(needs)[:MAX_SEARCH_NEEDS]) if slug
        ),
    )


def _identifier(value: object) -> str | None:
    return value if isinstance(value, str) and IDENTIFIER.match(value) else None


def decode(text: str | None) -> ScreenState:
    """The stored string back; anything unreadable is the welcome screen."""
    if not text:
        return ScreenState()
    kind, *parts = text.split("|")
    ids: dict[str, object] = {}
    for part in parts:
        name, _, value = part.partition("=")
        if name == "needs":
            ids["needs"] = tuple(value.split(","))
        elif name in ("commune", "need", "theme", "question"):
            ids[name] = value
    return state(kind, **ids)


def etag(desk_id: int, version: int, at: datetime) -> str:
    """Changes when the desk moves, and every few minutes for the opening hours."""
    bucket = int(at.timestamp()) // (ETAG_MINUTES * 60)
    return f"ecran-{desk_id}-{version}-{bucket}"


# --- plain language ------------------------------------------------------------------------------


def clock(moment: datetime) -> str:
    """ "9 h", "13 h 30": how a clock time is said."""
    local = moment.astimezone(PARIS)
    # No-break spaces: "10 h 30" never splits across two lines of large print.
    return (
        f"{local.hour}\u00a0h\u00a0{local.minute:02d}" if local.minute else f"{local.hour}\u00a0h"
    )


WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")


def day_words(day: date, today: date) -> str:
    """ "aujourd'hui", "demain", "lundi", "lundi 14/12" beyond a week."""
    delta = (day - today).days
    if delta == 0:
        return "aujourd'hui"
    if delta == 1:
        return "demain"
    if 1 < delta < 7:
        return WEEKDAYS[day.weekday()]
    return f"{WEEKDAYS[day.weekday()]} {day.day:02d}/{day.month:02d}"


def opening_sentences(
    *,
    known: bool,
    open_now: bool | None,
    closes_at: datetime | None,
    next_opening: datetime | None,
    closed_for: bool,
    at: datetime,
) -> list[str]:
    """Short sentences about the opening hours, for someone who reads with difficulty."""
    if not known or open_now is None:
        return ["Les horaires ne sont pas connus. Demandez à l'agent."]
    today = at.astimezone(PARIS).date()
    sentences: list[str] = []
    if open_now:
        sentences.append("C'est ouvert maintenant.")
        if closes_at is not None:
            when = day_words(closes_at.astimezone(PARIS).date(), today)
            prefix = "" if when == "aujourd'hui" else f"{when} "
            sentences.append(f"Ça ferme {prefix}à {clock(closes_at)}.")
        return sentences
    sentences.append("C'est fermé exceptionnellement." if closed_for else "C'est fermé maintenant.")
    if next_opening is not None:
        when = day_words(next_opening.astimezone(PARIS).date(), today)
        sentences.append(f"Ça ouvre {when} à {clock(next_opening)}.")
    return sentences


# Needs answered by another office than the resident's own (domain/places.py): the screen
# says where instead of showing the resident's town hall.
ELSEWHERE: dict[str, tuple[str, ...]] = {
    "event": (
        "Allez à la mairie de la commune de l'événement.",
        "C'est la commune de la naissance, du mariage ou du décès.",
    ),
    "equipped": (
        "Allez dans une mairie équipée pour les cartes d'identité et les passeports.",
        "Ce n'est pas toujours votre mairie. L'agent vous aide à la trouver.",
    ),
    "filing": ("Retournez à la mairie où vous avez fait la demande.",),
}


def elsewhere(place: str) -> tuple[str, ...]:
    """Where to go when it is not the office of the resident's commune; empty when it is."""
    return ELSEWHERE.get(place, ())


@dataclass(frozen=True)
class NextStep:
    """The one thing to do next, with the pictogram that goes with it."""

    pictogram: str  # "walk", "online", "phone", "help"
    sentences: tuple[str, ...]


def next_step(
    *,
    place_name: str | None,
    online_only: bool,
    online_url: bool,
    has_documents: bool,
    request_possible: bool,
    help_place: str | None,
    place: str = "residence",
) -> NextStep:
    """What the resident does after leaving the desk, in two or three short sentences."""
    if elsewhere(place):
        sentences = [elsewhere(place)[0]]
        if has_documents:
            sentences.append("Prenez les papiers de la liste.")
        return NextStep("walk", tuple(sentences))
    if place_name and not online_only:
        sentences = [f"Allez à : {place_name}."]
        if has_documents:
            sentences.append("Prenez les papiers de la liste.")
        if request_possible:
            sentences.append("L'agent peut aussi leur demander de vous contacter.")
        return NextStep("walk", tuple(sentences))
    if online_url:
        sentences = ["Cette démarche se fait sur internet."]
        if help_place:
            sentences.append(f"Pour vous aider : {help_place}.")
        else:
            sentences.append("L'agent peut vous aider à la faire.")
        return NextStep("online", tuple(sentences))
    if request_possible:
        return NextStep("phone", ("L'agent peut demander à l'organisme de vous contacter.",))
    return NextStep("help", ("L'agent vous explique la suite.",))


HEADINGS = {
    HOME: "Bienvenue",
    COMMUNE: "Votre commune",
    THEMES: "Votre démarche",
    QUESTION: "Une question",
    SEARCH: "Les démarches possibles",
    RESULT: "Votre démarche",
}
INTRODUCTIONS = {
    HOME: ("Nous cherchons ensemble le bon service.", "Cet écran montre ce que fait l'agent."),
    COMMUNE: ("Nous choisissons votre commune.", "Le bon service dépend de votre commune."),
    THEMES: ("Nous choisissons le sujet de votre démarche.",),
    QUESTION: ("L'agent vous pose une question.",),
    SEARCH: ("L'agent cherche votre démarche.", "Voici ce qui peut correspondre."),
    RESULT: (),
}
