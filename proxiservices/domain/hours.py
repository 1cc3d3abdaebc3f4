"""Opening hours: OSM `opening_hours` expressions evaluated in Paris time, rendered in French.

Internally every instant is UTC: aware datetimes sharing one ZoneInfo compare by wall clock,
which is wrong during the repeated hour of the autumn DST change.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from opening_hours import OpeningHours, State

PARIS = ZoneInfo("Europe/Paris")
COUNTRY = "FR"  # without it `PH` silently never matches
SEARCH_DAYS = (8, 60, 400)  # growing windows: most answers are found in the first, cheap one
TABLE_DAYS = 182  # 26 weeks: three months can make odd ISO weeks look like "1er et 3e"
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    *("janvier", "février", "mars", "avril", "mai", "juin"),
    *("juillet", "août", "septembre", "octobre", "novembre", "décembre"),
)
MONTHS_SHORT = (
    *("janv.", "févr.", "mars", "avr.", "mai", "juin"),
    *("juil.", "août", "sept.", "oct.", "nov.", "déc."),
)
EXAMPLE = "Mo-Fr 08:30-12:00,13:30-17:00; Sa 09:00-12:00; PH off"

Interval = tuple[time, time]
Period = tuple[datetime, datetime]


class HoursError(ValueError):
    """Malformed expression; .message is a plain-French explanation, .detail the parser's."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class ClosedPeriod:
    """An exceptional closure (whole or part of a day); naive datetimes mean Paris time."""

    start: datetime
    end: datetime
    message: str = ""


@dataclass(frozen=True)
class ChangedHours:
    """Hours replacing the regular ones over a period (summer hours, a week of works).

    The period is taken literally: an opening of the replacement that runs past `end` is cut
    there, like a regular opening that runs into `start`. Closures still win inside it.
    """

    start: datetime
    end: datetime
    opening_hours: str
    message: str = ""


Override = ClosedPeriod | ChangedHours


@dataclass(frozen=True)
class HoursStatus:
    """What a reception desk needs to say about a site right now."""

    known: bool
    valid: bool
    open_now: bool | None
    closes_at: datetime | None
    next_opening: datetime | None
    closed_for: ClosedPeriod | None
    changed_for: ChangedHours | None = None


@dataclass(frozen=True)
class DayHours:
    """One calendar day of a site, as printed on the fiche and the 14-day preview."""

    day: date
    weekday_label: str
    label: str
    intervals: tuple[Interval, ...]
    text: str
    holiday: str | None


@dataclass(frozen=True)
class WeekdayHours:
    """One row of the regular weekly table."""

    weekday: int
    label: str
    text: str
    intervals: tuple[Interval, ...]
    # "1er et 3e du mois", "dernier du mois", "certaines semaines"; None when every week.
    recurrence: str | None = None


def parse(expr: str) -> OpeningHours:
    """Parse with Paris time and French holidays; cached because pages repeat the same strings."""
    return _parse(expr.strip())


@functools.lru_cache(maxsize=4096)  # a département's town halls each have their own hours
def _parse(expr: str) -> OpeningHours:
    if not expr:
        raise HoursError("Les horaires sont vides.")
    try:
        return OpeningHours(expr, timezone=PARIS, country=COUNTRY)
    except Exception as exc:  # ParserError, or anything else the Rust core reports
        raise HoursError(_explain(expr, str(exc)), str(exc)) from None


def _explain(expr: str, detail: str) -> str:
    found = re.search(r"--> \d+:(\d+)", detail)
    column = int(found.group(1)) if found else 1
    rest = expr[column - 1 :].strip()
    if rest:
        message = f"Horaires non reconnus à partir de « {rest[:25]} » (caractère {column})."
    else:
        message = "Les horaires sont incomplets : l'expression s'arrête trop tôt."
    return " ".join([message, *_hints(expr), f"Exemple : « {EXAMPLE} »."])


HINTS = (
    (
        r"\b(Lu|Ma|Me|Je|Ve|Di)\b|\b(lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)",
        "Les jours s'écrivent en anglais : Mo Tu We Th Fr Sa Su.",
    ),
    (r"\d\s*h", "Les heures s'écrivent 08:30, pas 8h30."),
    (r"\d\.\d\d", "Les heures s'écrivent avec deux-points : 08:30, pas 08.30."),
    (r"[–—]", "Entre deux heures, mettez un tiret simple « - », pas un tiret long « – »."),
    (r"\b(2[5-9]|[3-9]\d):\d\d", "Une heure va de 00:00 à 24:00."),
    (r"(^|[\s-])\d{1,2}(-|$)", "Écrivez les minutes : 09:00-12:00, pas 9-12."),
    (
        r"\d\d:\d\d\s+(et\s+)?\d\d:\d\d",
        "Deux plages du même jour se séparent par une virgule : 08:30-12:00,13:30-17:00.",
    ),
    (
        r"\d\d:\d\d\s+à\s+\d",
        "Une plage s'écrit avec un tiret : 09:00-12:00, pas « 09:00 à 12:00 ».",
    ),
    (
        r"\b(ferm|férié|ferie)",
        "Un jour fermé s'écrit « off » (Su off), les jours fériés « PH off ».",
    ),
)


def _hints(expr: str) -> list[str]:
    """What French habits usually explain a refused expression."""
    return [hint for pattern, hint in HINTS if re.search(pattern, expr, re.IGNORECASE)]


def validate(expr: str | None) -> str | None:
    """French error message for a form, or None when the expression is usable or empty."""
    if not expr or not expr.strip():
        return None
    try:
        parse(expr)
    except HoursError as exc:
        return exc.message
    return None


def _try_parse(expr: str | None) -> OpeningHours | None:
    if not expr or not expr.strip():
        return None
    try:
        return parse(expr)
    except HoursError:
        return None


# Instants are clamped to these, far from datetime's limits (years 1 and 9999): the searches
# below reach 400 days ahead, and a typo saved as 31/12/9999 must not make a page fail.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=PARIS)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # 01/01/0001 in Paris is still year 0 in UTC
        return EARLIEST
    return min(max(moment, EARLIEST), LATEST)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), PARIS).astimezone(UTC)


def _cuts(overrides: Sequence[Override]) -> list[Period]:
    return sorted((_utc(c.start), _utc(c.end)) for c in overrides if _utc(c.start) < _utc(c.end))


def _merge(periods: list[Period]) -> list[Period]:
    merged: list[Period] = []
    for begin, finish in sorted(periods):
        if merged and merged[-1][1] >= begin:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def _actual_periods(
    oh: OpeningHours | None,
    start: datetime,
    end: datetime,
    overrides: Sequence[Override],
    expr: str | None = None,
) -> list[Period]:
    """Open periods in UTC: regular hours outside every override, changed hours inside theirs,
    closures cut out of both. An unreadable replacement opens nothing (better than a guess).
    `expr`, the text of `oh`, lets the regular hours be read off a window kept per day."""
    closed = _cuts([o for o in overrides if isinstance(o, ClosedPeriod)])
    periods = _subtract(_regular_periods(oh, start, end, expr), _cuts(overrides)) if oh else []
    for change in overrides:
        if not isinstance(change, ChangedHours):
            continue
        low, high = max(start, _utc(change.start)), min(end, _utc(change.end))
        replacement = _try_parse(change.opening_hours)
        if replacement is not None and low < high:
            periods += _subtract(_open_periods(replacement, low, high), closed)
    return _merge(periods)


def _covering(overrides: Sequence[Override], kind: type, moment: datetime):
    return next(
        (o for o in overrides if isinstance(o, kind) and _utc(o.start) <= moment < _utc(o.end)),
        None,
    )


def _open_periods(oh: OpeningHours, start: datetime, end: datetime) -> list[Period]:
    """Merged OPEN periods in UTC; comments split the library's intervals, we do not care."""
    periods: list[Period] = []
    for begin, finish, state, _comment in oh.intervals(
        start.astimezone(PARIS), end.astimezone(PARIS)
    ):
        begin, finish = begin.astimezone(UTC), finish.astimezone(UTC)
        if state != State.OPEN or begin >= finish:
            continue
        if periods and periods[-1][1] >= begin:
            periods[-1] = (periods[-1][0], max(periods[-1][1], finish))
        else:
            periods.append((begin, finish))
    return periods


# Regular hours of WINDOW_DAYS from a Paris midnight: they cover [moment, moment + 8 days]
# (status's first search) for any moment of that day.
WINDOW_DAYS = SEARCH_DAYS[0] + 1


def _regular_periods(
    oh: OpeningHours, start: datetime, end: datetime, expr: str | None
) -> list[Period]:
    """_open_periods(oh, start, end), cut out of the window kept for start's Paris day when
    `expr` (the text of `oh`) is given and the window covers [start, end]: each result page
    asks every site's status at a new moment, and the library's intervals are most of it."""
    if expr is not None:
        day = start.astimezone(PARIS).date()
        if end <= _midnight(day + timedelta(days=WINDOW_DAYS)):
            return [
                (max(begin, start), min(finish, end))
                for begin, finish in _day_window(expr, day)
                if finish > start and begin < end
            ]
    return _open_periods(oh, start, end)


@functools.lru_cache(maxsize=4096)
def _day_window(expr: str, day: date) -> tuple[Period, ...]:
    end = day + timedelta(days=WINDOW_DAYS)
    return tuple(_open_periods(parse(expr), _midnight(day), _midnight(end)))


def _subtract(periods: list[Period], cuts: list[Period]) -> list[Period]:
    result: list[Period] = []
    for period in periods:
        pieces = [period]
        for cut_start, cut_end in cuts:
            pieces = [
                piece
                for begin, finish in pieces
                for piece in ((begin, min(finish, cut_start)), (max(begin, cut_end), finish))
                if piece[0] < piece[1]
            ]
        result.extend(pieces)
    return result


def open_intervals(
    expr: str | None, start: datetime, end: datetime, closures: Sequence[Override] = ()
) -> list[Period]:
    """Open periods in Paris time, closures and changed hours applied; empty when the hours
    are unknown/invalid."""
    oh = _try_parse(expr)
    if oh is None:
        return []
    periods = _actual_periods(oh, _utc(start), _utc(end), closures)
    return [(begin.astimezone(PARIS), finish.astimezone(PARIS)) for begin, finish in periods]


def status(expr: str | None, at: datetime, closures: Sequence[Override] = ()) -> HoursStatus:
    """Open now? until when? else when next? Closures and changed hours applied.

    Never raises: bad data reads as invalid.
    """
    moment = _utc(at)
    if closures or _ambiguous(moment):
        return _status(expr, moment, closures)
    # OSM hours change state on whole minutes only (and Paris is a whole number of hours
    # from UTC): every instant of a minute has the status of its first second. Kept per
    # expression and minute, for the few hundred sites a worker shows in a minute. Not in
    # the hour repeated in autumn, where the library's answer moves with the seconds.
    return _regular_status(expr, moment.replace(second=0, microsecond=0))


def _ambiguous(moment: datetime) -> bool:
    local = moment.astimezone(PARIS)
    return local.utcoffset() != local.replace(fold=1 - local.fold).utcoffset()


@functools.lru_cache(maxsize=8192)
def _regular_status(expr: str | None, minute: datetime) -> HoursStatus:
    return _status(expr, minute, ())


def _status(expr: str | None, moment: datetime, closures: Sequence[Override]) -> HoursStatus:
    closed_for = _covering(closures, ClosedPeriod, moment)
    changed_for = _covering(closures, ChangedHours, moment)
    if not expr or not expr.strip():
        return HoursStatus(False, True, None, None, None, closed_for, changed_for)
    oh = _try_parse(expr)
    if oh is None:
        return HoursStatus(True, False, None, None, None, closed_for, changed_for)
    opening = closing = None
    is_open = False
    for days in SEARCH_DAYS:
        horizon = moment + timedelta(days=days)
        periods = _actual_periods(oh, moment, horizon, closures, expr)
        is_open = bool(periods) and periods[0][0] <= moment
        if is_open and periods[0][1] < horizon:
            closing = periods[0][1].astimezone(PARIS)
            break
        if periods and not is_open:
            opening = periods[0][0].astimezone(PARIS)
            break
    open_now: bool | None = is_open
    ruling = (_try_parse(changed_for.opening_hours) if changed_for else oh) or oh
    if (
        not is_open
        and closed_for is None
        and ruling.state(moment.astimezone(PARIS))[0] == State.UNKNOWN
    ):
        open_now = None  # "unknown" rules: the data itself says it cannot tell
    return HoursStatus(True, True, open_now, closing, opening, closed_for, changed_for)


def _by_day(periods: list[Period], first: date, days: int) -> list[tuple[Interval, ...]]:
    """Split periods at Paris midnights into per-day local intervals, in one pass."""
    buckets: list[list[Interval]] = [[] for _ in range(days)]
    for begin, finish in periods:
        day = begin.astimezone(PARIS).date()
        while begin < finish:
            midnight = _midnight(day + timedelta(days=1))
            stop = min(finish, midnight)
            if 0 <= (index := (day - first).days) < days:
                buckets[index].append(
                    (begin.astimezone(PARIS).time(), stop.astimezone(PARIS).time())
                )
            begin, day = stop, day + timedelta(days=1)
    return [tuple(bucket) for bucket in buckets]


def _holidays(first: date, last: date) -> dict[date, str]:
    years = range(first.year, last.year + 1)
    return {day: name for year in years for day, name in french_holidays(year).items()}


def day_label(day: date) -> str:
    """Short French date as on the printed fiche: "mardi 1er déc."."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{WEEKDAYS[day.weekday()]} {number} {MONTHS_SHORT[day.month - 1]}"


def days_ahead(
    expr: str | None, start: date, days: int, closures: Sequence[Override] = ()
) -> list[DayHours]:
    """Day-by-day hours with holidays, closures and changed hours applied; empty when the
    hours are unknown/invalid."""
    oh = _try_parse(expr)
    if oh is None:
        return []
    end = start + timedelta(days=days)
    regular = _open_periods(oh, _midnight(start), _midnight(end))
    actual = _actual_periods(oh, _midnight(start), _midnight(end), closures)
    holidays = _holidays(start, end)
    result = []
    for offset, (intervals, usual) in enumerate(
        zip(_by_day(actual, start, days), _by_day(regular, start, days), strict=True)
    ):
        day = start + timedelta(days=offset)
        low, high = _midnight(day), _midnight(day + timedelta(days=1))
        reason = _reason([c for c in closures if _utc(c.start) < high and _utc(c.end) > low])
        if intervals != usual:
            text = f"{format_intervals(intervals)} ({reason})" if intervals else f"fermé ({reason})"
        elif not intervals and day in holidays:
            text = "fermé (jour férié)"
        else:
            text = format_intervals(intervals)
        weekday = WEEKDAYS[day.weekday()]
        result.append(DayHours(day, weekday, day_label(day), intervals, text, holidays.get(day)))
    return result


def _reason(overrides: list[Override]) -> str:
    """Why a day differs: the closure's message first, then the changed hours' one."""
    for kind, default in ((ClosedPeriod, "fermeture exceptionnelle"), (ChangedHours, "")):
        found = [o for o in overrides if isinstance(o, kind)]
        if found:
            return found[0].message or default or "horaires modifiés"
    return "fermeture exceptionnelle"


def weekly_table(expr: str | None, reference: date) -> list[WeekdayHours] | None:
    """Regular Monday-to-Sunday hours, read off the coming weeks so rules like Tu[1,3] show."""
    rows = _weekly_table(expr, reference)
    return None if rows is None else list(rows)


# A pure function of the expression and the day: each result page shows several sites whose
# weeks cost milliseconds to read off, and the same hours come back all day long.
@functools.lru_cache(maxsize=4096)
def _weekly_table(expr: str | None, reference: date) -> tuple[WeekdayHours, ...] | None:
    oh = _try_parse(expr)
    if oh is None:
        return None
    end = reference + timedelta(days=TABLE_DAYS)
    periods = _open_periods(oh, _midnight(reference), _midnight(end))
    holidays = _holidays(reference, end)
    samples: dict[int, list[tuple[date, tuple[Interval, ...]]]] = {wd: [] for wd in range(7)}
    for offset, intervals in enumerate(_by_day(periods, reference, TABLE_DAYS)):
        day = reference + timedelta(days=offset)
        if day not in holidays:
            samples[day.weekday()].append((day, intervals))
    return tuple(_weekday_row(weekday, rows) for weekday, rows in samples.items())


def _weekday_row(weekday: int, samples: list[tuple[date, tuple[Interval, ...]]]) -> WeekdayHours:
    patterns = Counter(intervals for _, intervals in samples if intervals)
    label = WEEKDAYS[weekday]
    if not patterns:
        return WeekdayHours(weekday, label, "fermé", ())
    intervals = patterns.most_common(1)[0][0]
    text = format_intervals(intervals)
    if len(patterns) > 1:
        text += " (horaires variables)"
    elif any(not found for _, found in samples):
        open_days = [day for day, found in samples if found]
        closed_days = [day for day, found in samples if not found]
        recurrence = _recurrence(open_days, closed_days)
        return WeekdayHours(weekday, label, f"{text} ({recurrence})", intervals, recurrence)
    return WeekdayHours(weekday, label, text, intervals)


def _recurrence(open_days: list[date], closed_days: list[date]) -> str:
    """Name the n-th weekdays of the month the site opens on, when the sample says so plainly."""
    ranks = {(day.day - 1) // 7 + 1 for day in open_days}
    if not ranks & {(day.day - 1) // 7 + 1 for day in closed_days}:
        names = [("1er" if rank == 1 else f"{rank}e") for rank in sorted(ranks)]
        joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} et {names[-1]}"
        return f"{joined} du mois"

    def is_last(day: date) -> bool:
        return (day + timedelta(days=7)).month != day.month

    if all(map(is_last, open_days)) and not any(map(is_last, closed_days)):
        return "dernier du mois"
    return "certaines semaines"


def format_time(moment: time) -> str:
    """French clock style used on posters: 8h30, 12h, 9h05."""
    return f"{moment.hour}h{moment.minute:02d}" if moment.minute else f"{moment.hour}h"


def format_intervals(intervals: Sequence[Interval]) -> str:
    """Render as "8h30–12h, 13h30–17h"; an end at midnight reads 24h, no interval "fermé"."""
    if not intervals:
        return "fermé"
    return ", ".join(
        f"{format_time(begin)}–{'24h' if finish == time(0) else format_time(finish)}"
        for begin, finish in intervals
    )


def easter(year: int) -> date:
    """Gregorian Easter Sunday (anonymous algorithm), the anchor of the movable holidays."""
    golden = year % 19
    century, rest = divmod(year, 100)
    leap_c, rem_c = divmod(century, 4)
    shift = (century - (century + 8) // 25 + 1) // 3
    epact = (19 * golden + century - leap_c - shift + 15) % 30
    leap_r, rem_r = divmod(rest, 4)
    weekday = (32 + 2 * rem_c + 2 * leap_r - epact - rem_r) % 7
    correction = (golden + 11 * epact + 22 * weekday) // 451
    month, day = divmod(epact + weekday - 7 * correction + 114, 31)
    return date(year, month, day + 1)


def french_holidays(year: int) -> dict[date, str]:
    """The eleven national public holidays (no Alsace-Moselle days), the same set as `PH`."""
    sunday = easter(year)
    found = {
        date(year, 1, 1): "Jour de l'an",
        sunday + timedelta(days=1): "Lundi de Pâques",
        date(year, 5, 1): "Fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        sunday + timedelta(days=39): "Ascension",
        sunday + timedelta(days=50): "Lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }
    return dict(sorted(found.items()))
