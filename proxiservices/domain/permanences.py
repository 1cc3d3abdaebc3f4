"""Permanences in words: when a body is next present at a host site, and its schedule in French."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from proxiservices.domain import hours
from proxiservices.domain.closures import long_day_label

FEMININE = (
    *("france services", "mairie", "maison", "mission locale", "médiathèque", "préfecture"),
    *("sous-préfecture", "caf", "cpam", "msa", "carsat", "poste", "communauté", "agence"),
    *("antenne", "direction", "mdph", "permanence", "salle", "bibliothèque", "trésorerie"),
)
MASCULINE = (
    *("centre", "point", "bureau", "service", "ccas", "sip", "conseil", "pôle", "relais"),
    *("guichet", "tribunal", "commissariat", "espace", "hôtel", "local", "foyer"),
)

# The kinds of bodies whose sites normally host other bodies' permanences (a France services,
# a digital adviser's place, a town hall, a CCAS, an intercommunality's offices). A partner
# holds its permanences there or at its own sites, nowhere else: it cannot put its name on,
# say, another agency's counter. Administrators place a permanence anywhere.
HOST_KINDS = ("FRANCE_SERVICES", "CONSEILLER_NUMERIQUE", "MAIRIE", "CCAS", "INTERCOMMUNALITE")
HOST_RULE = (
    "Un partenaire tient les permanences de son organisme dans ses propres lieux, ou dans une "
    "France Services, un lieu de conseiller numérique, une mairie, un CCAS ou une "
    "intercommunalité."
)


def may_host(host_body_id: int, host_kind: str, holder_body_id: int) -> bool:
    """Whether a site (of body `host_body_id`, of kind `host_kind`) may host the permanences
    of body `holder_body_id` when its partner sets them."""
    return host_body_id == holder_body_id or host_kind in HOST_KINDS


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=hours.PARIS)


def day_after(day: date) -> date | None:
    """The day after the last day of validity; None past the calendar's end (a typo saved
    as 31/12/9999 reads as "no end" rather than failing the page)."""
    return None if day >= date.max else day + timedelta(days=1)


def next_occurrences(
    schedule: str | None,
    at: datetime,
    count: int = 1,
    host_closures: Sequence[hours.ClosedPeriod] = (),
    starts_on: date | None = None,
    ends_on: date | None = None,
) -> list[hours.Period]:
    """The coming occurrences (whole, even one under way at `at`), in Paris time.

    An occurrence outside the validity dates, or touching a closure of the host site, is
    skipped rather than shortened: the body's agent does not come to a closed building.
    """
    moment = _aware(at).astimezone(UTC)
    low = datetime.combine(starts_on, time(0), hours.PARIS) if starts_on else None
    after = day_after(ends_on) if ends_on else None
    high = datetime.combine(after, time(0), hours.PARIS) if after else None
    closed = [(_aware(c.start), _aware(c.end)) for c in host_closures]
    found: list[hours.Period] = []
    for days in hours.SEARCH_DAYS:
        horizon = moment + timedelta(days=days)
        found = [
            (begin, finish)
            for begin, finish in hours.open_intervals(schedule, moment - timedelta(days=1), horizon)
            if finish > moment
            and (low is None or begin >= low)
            and (high is None or begin < high)
            and not any(start < finish and begin < end for start, end in closed)
        ]
        if len(found) >= count or (high is not None and horizon >= high):
            break
    return found[:count]


def occurrence_text(begin: datetime, end: datetime) -> str:
    """ "mardi 1er décembre, 9h–12h"."""
    until = "24h" if end.time() == time(0) else hours.format_time(end.time())
    return f"{long_day_label(begin)}, {hours.format_time(begin.time())}–{until}"


def at_place(name: str) -> str:
    """ "à la France services de Bruyères", "au Centre social", "à l'Espace France services"."""
    if name.startswith("Le "):
        return f"au {name[3:]}"
    if name.startswith("Les "):
        return f"aux {name[4:]}"
    if name.startswith(("La ", "L'", "L’")):
        return f"à {name}"
    folded = name.lower()
    if folded[:1] in "aeiouyhéèêâîô" and folded.startswith(FEMININE + MASCULINE):
        return f"à l'{name}"
    if folded.startswith(FEMININE):
        return f"à la {name}"
    if folded.startswith(MASCULINE):
        return f"au {name}"
    return f"à {name}"


def announcement(
    body_label: str, host_name: str, occurrence: hours.Period | None, by_appointment: bool
) -> str:
    """ "prochaine permanence CAF à la France services de Bruyères : mardi 1er décembre, 9h–12h"."""
    text = f"prochaine permanence {body_label} {at_place(host_name)}"
    if occurrence is None:
        text += " : pas de date prévue connue"
    else:
        text += f" : {occurrence_text(*occurrence)}"
    return text + (", sur rendez-vous" if by_appointment else "")


def _day_span(weekdays: list[int]) -> str:
    names = [hours.WEEKDAYS[wd] for wd in weekdays]
    if len(names) >= 3 and weekdays == list(range(weekdays[0], weekdays[-1] + 1)):
        return f"du {names[0]} au {names[-1]}"
    joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} et {names[-1]}"
    return f"chaque {joined}"


def _ranked_day(weekday: str, recurrence: str) -> str:
    if recurrence == "dernier du mois":
        return f"dernier {weekday} du mois"
    if recurrence == "certaines semaines":
        return f"certains {weekday}s"
    ranks = recurrence.removesuffix(" du mois")
    if re.search(r" et |,", ranks):
        return f"{ranks} {weekday}s"
    return f"{ranks} {weekday} du mois"


def schedule_text(schedule: str | None, reference: date) -> str | None:
    """The schedule as a poster says it: "1er et 3e mardis, 9h–12h"; None when unreadable."""
    table = hours.weekly_table(schedule, reference)
    if table is None:
        return None
    every_week: dict[tuple, list[int]] = {}
    parts: list[tuple[int, str]] = []
    for row in table:
        if not row.intervals:
            continue
        if row.recurrence:
            when = _ranked_day(row.label, row.recurrence)
            parts.append((row.weekday, f"{when}, {hours.format_intervals(row.intervals)}"))
        else:
            every_week.setdefault((row.text,), []).append(row.weekday)
    for (text,), weekdays in every_week.items():
        parts.append((weekdays[0], f"{_day_span(weekdays)}, {text}"))
    if not parts:
        return "pas de date prévue"
    return " ; ".join(text for _, text in sorted(parts))
