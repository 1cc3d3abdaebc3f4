"""Closures and temporary information on a site: when to announce them and how to say it."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from proxiservices.domain.hours import MONTHS, WEEKDAYS, format_time

BANNER_DAYS = 15  # a closure is announced this many days before it starts
KIND_LABELS = {
    "closed": "Fermeture exceptionnelle",
    "hours": "Horaires modifiés",
    "message": "Information",
}
KINDS = tuple(KIND_LABELS)


def _shifted(moment: datetime, days: int) -> datetime:
    """`moment` moved by `days`, held at the calendar's limits (a typo saved as 01/01/0001
    must not make a page fail)."""
    try:
        return moment + timedelta(days=days)
    except OverflowError:
        return datetime.min if days < 0 else datetime.max


def is_announced(start: datetime, end: datetime, now: datetime) -> bool:
    """Shown as a banner from BANNER_DAYS before its start until its end (naive Paris times)."""
    return _shifted(start, -BANNER_DAYS) <= now < end


def is_past(end: datetime, now: datetime) -> bool:
    return end <= now


def long_day_label(moment: datetime) -> str:
    """Full French date as said at a desk: "mardi 1er décembre"."""
    number = "1er" if moment.day == 1 else str(moment.day)
    return f"{WEEKDAYS[moment.weekday()]} {number} {MONTHS[moment.month - 1]}"


def period_text(start: datetime, end: datetime) -> str:
    """ "du jeudi 24 décembre à 12h au samedi 26 décembre inclus", "le lundi 7 décembre de 14h à
    16h": an end at midnight means the day before was the last one, as people say it."""
    last_day = _shifted(end, -1) if end.time() == time(0) else end
    if start.date() == last_day.date():
        if start.time() == time(0) and end.time() == time(0):
            return f"le {long_day_label(start)}"
        until = "24h" if end.time() == time(0) else format_time(end.time())
        return f"le {long_day_label(start)} de {format_time(start.time())} à {until}"
    since = f"du {long_day_label(start)}"
    if start.time() != time(0):
        since += f" à {format_time(start.time())}"
    if end.time() == time(0):
        return f"{since} au {long_day_label(last_day)} inclus"
    return f"{since} au {long_day_label(end)} à {format_time(end.time())}"
