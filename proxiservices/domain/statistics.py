"""The arithmetic of the elected members' figures: periods, trend buckets, small-count
suppression, percentiles, comparisons, shading and chart geometry. No Flask, no database."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from proxiservices.domain.hours import MONTHS

MINIMUM = 5  # counts from 1 to MINIMUM - 1 could single out a resident: shown as "< 5"
MAX_SPAN_DAYS = 3 * 366
WEEKLY_UP_TO_DAYS = 184  # periods up to six months are drawn by week, longer ones by month

LAST_30_DAYS = "30j"
LAST_MONTH = "mois"
LAST_QUARTER = "trimestre"
LAST_YEAR = "annee"
CUSTOM = "perso"
PERIOD_LABELS = {
    LAST_30_DAYS: "30 derniers jours",
    LAST_MONTH: "Mois dernier",
    LAST_QUARTER: "Trimestre dernier",
    LAST_YEAR: "12 derniers mois",
    CUSTOM: "Dates choisies",
}


class PeriodError(ValueError):
    """A period that cannot be read; the message is shown as is."""


# --- periods -------------------------------------------------------------------------------


def french_date(day: date) -> str:
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS[day.month - 1]} {day.year}"


@dataclass(frozen=True)
class Period:
    kind: str
    start: date  # first day, Paris calendar
    end: date  # last day, included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return f"du {french_date(self.start)} au {french_date(self.end)}"

    @property
    def slug(self) -> str:
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    def previous(self) -> Period:
        """The period just before, to compare with: the previous calendar month or quarter
        for those, otherwise the same number of days."""
        if self.kind == LAST_MONTH:
            end = self.start - timedelta(days=1)
            return Period(self.kind, end.replace(day=1), end)
        if self.kind == LAST_QUARTER:
            end = self.start - timedelta(days=1)
            return Period(self.kind, _add_months(end.replace(day=1), -2), end)
        end = self.start - timedelta(days=1)
        return Period(self.kind, end - timedelta(days=self.days - 1), end)


@dataclass(frozen=True)
class Cover:
    """A period as whole months plus the loose days at its edges: what to read from the
    monthly and the daily counts so that every day is counted once."""

    months: tuple[date, ...]  # first days of the whole months inside the period
    days: tuple[tuple[date, date], ...]  # ranges of days outside them, both ends included


def cover(start: date, end: date) -> Cover:
    if end < start:
        return Cover((), ())
    first = start if start.day == 1 else _add_months(start.replace(day=1), 1)
    months = []
    month = first
    while _add_months(month, 1) - timedelta(days=1) <= end:
        months.append(month)
        month = _add_months(month, 1)
    if not months:
        return Cover((), ((start, end),))
    days = []
    if start < months[0]:
        days.append((start, months[0] - timedelta(days=1)))
    after = _add_months(months[-1], 1)
    if after <= end:
        days.append((after, end))
    return Cover(tuple(months), tuple(days))


def month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _parse_day(value: str, name: str) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise PeriodError(
            f"Date « {value[:20]} » invalide pour « {name} » : format attendu AAAA-MM-JJ, "
            "par exemple 2026-03-01."
        ) from None
    if not 2000 <= day.year <= 2100:
        raise PeriodError(f"Date « {name} » invalide : l'année doit être entre 2000 et 2100.")
    return day


def parse_period(kind: str | None, start: str | None, end: str | None, today: date) -> Period:
    """The period asked for in the address (`periode`, `du`, `au`); 30 days by default."""
    kind = (kind or "").strip() or (CUSTOM if (start or end) else LAST_30_DAYS)
    if kind == LAST_30_DAYS:
        return Period(kind, today - timedelta(days=29), today)
    if kind == LAST_MONTH:
        first = _add_months(today.replace(day=1), -1)
        return Period(kind, first, today.replace(day=1) - timedelta(days=1))
    if kind == LAST_QUARTER:
        this_quarter = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
        first = _add_months(this_quarter, -3)
        return Period(kind, first, this_quarter - timedelta(days=1))
    if kind == LAST_YEAR:
        return Period(kind, today - timedelta(days=364), today)
    if kind != CUSTOM:
        raise PeriodError(
            f"Période « {kind[:20]} » inconnue : choisissez "
            + ", ".join(f"« {label} »" for label in PERIOD_LABELS.values())
            + "."
        )
    if not (start and start.strip()) or not (end and end.strip()):
        raise PeriodError("Dates choisies : indiquez la date de début et la date de fin.")
    first, last = _parse_day(start, "du"), _parse_day(end, "au")
    if last < first:
        raise PeriodError("La date de fin est antérieure à la date de début.")
    if (last - first).days + 1 > MAX_SPAN_DAYS:
        raise PeriodError("La période choisie dépasse 3 ans : choisissez des dates plus proches.")
    return Period(CUSTOM, first, last)


# --- trend buckets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Bucket:
    start: date
    end: date
    label: str


def trend_buckets(period: Period) -> list[Bucket]:
    """Weeks (Monday to Sunday, cut at the period's ends) up to six months, else months."""
    buckets = []
    if period.days <= WEEKLY_UP_TO_DAYS:
        start = period.start
        while start <= period.end:
            end = min(start + timedelta(days=6 - start.weekday()), period.end)
            buckets.append(Bucket(start, end, f"sem. du {start.day} {MONTHS[start.month - 1]}"))
            start = end + timedelta(days=1)
        return buckets
    start = period.start
    while start <= period.end:
        end = min(_add_months(start.replace(day=1), 1) - timedelta(days=1), period.end)
        buckets.append(Bucket(start, end, f"{MONTHS[start.month - 1]} {start.year}"))
        start = end + timedelta(days=1)
    return buckets


def bucket_counts(buckets: Sequence[Bucket], daily: Mapping[date, int]) -> list[int]:
    """Sum the per-day counts (computed by the database) into the trend's buckets."""
    totals = [0] * len(buckets)
    for day, count in daily.items():
        for index, bucket in enumerate(buckets):
            if bucket.start <= day <= bucket.end:
                totals[index] += count
                break
    return totals


# --- small counts --------------------------------------------------------------------------

SMALL = "small"  # 1 to 4: shown as "< 5"
SECONDARY = "secondary"  # hidden so that a total does not give away a small count


def is_small(count: int, minimum: int = MINIMUM) -> bool:
    return 0 < count < minimum


def _disclosed(values: Sequence[int], hidden: Mapping[int, str], minimum: int) -> bool:
    """True when a small hidden count can be worked out from the shown total and the shown
    cells: the hidden cells add up to a known sum, small ones lie in 1..minimum-1 and the
    others are at least `minimum`."""
    small = [i for i, kind in hidden.items() if kind == SMALL]
    if not small:
        return False
    if len(hidden) == 1:
        return True
    hidden_sum = sum(values[i] for i in hidden)
    low = {i: 1 if kind == SMALL else minimum for i, kind in hidden.items()}
    high = {i: minimum - 1 if kind == SMALL else hidden_sum for i, kind in hidden.items()}
    all_low, all_high = sum(low.values()), sum(high.values())
    for i in small:
        # Linear in the hidden cells: a need table can have thousands of them.
        others_low, others_high = all_low - low[i], all_high - high[i]
        if max(low[i], hidden_sum - others_high) >= min(high[i], hidden_sum - others_low):
            return True
    return False


@dataclass(frozen=True)
class Suppressed:
    hidden: dict[int, str]  # index of a hidden cell -> SMALL or SECONDARY
    total_hidden: bool


def suppress(values: Sequence[int], minimum: int = MINIMUM) -> Suppressed:
    """Which cells of a group shown with its total must be hidden: every count from 1 to
    minimum-1, then, while one of them could be worked out from the total, the next
    smallest shown count too. A total that is itself small is hidden; 0 is shown."""
    hidden = {i: SMALL for i, v in enumerate(values) if is_small(v, minimum)}
    total = sum(values)
    if is_small(total, minimum):
        return Suppressed(hidden, True)
    while _disclosed(values, hidden, minimum):
        candidates = [(v, i) for i, v in enumerate(values) if i not in hidden and v > 0]
        if not candidates:
            # Nothing left to hide beside it: the total goes instead.
            return Suppressed(hidden, True)
        hidden[min(candidates)[1]] = SECONDARY
    return Suppressed(hidden, False)


# --- comparisons, percentiles, shading -----------------------------------------------------


def change(current: int | None, previous: int | None) -> tuple[int, float | None] | None:
    """(difference, percentage) between two shown counts; None when either is hidden; the
    percentage is None when the previous count was 0."""
    if current is None or previous is None:
        return None
    if previous == 0:
        return current - previous, None
    return current - previous, (current - previous) * 100 / previous


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def quintiles(values: Sequence[int | None]) -> list[int | None]:
    """Shade 1 (lightest) to 5 of each shown, non-zero count by its rank among them."""
    shown = sorted(v for v in values if v)
    if not shown:
        return [None] * len(values)
    shades: list[int | None] = []
    ordered = sorted(shown)
    for value in values:
        if not value:
            shades.append(None)
            continue
        below = bisect.bisect_left(ordered, value)  # shown values smaller than this one
        shades.append(min(5, below * 5 // len(ordered) + 1))
    return shades


# --- French formatting ---------------------------------------------------------------------

NARROW_NBSP = "\u202f"


def format_count(value: int) -> str:
    return f"{value:,}".replace(",", NARROW_NBSP)


def format_decimal(value: float, digits: int = 1) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


def format_change(delta: tuple[int, float | None] | None) -> str:
    if delta is None:
        return "—"
    difference, percent = delta
    sign = "+" if difference > 0 else ("−" if difference < 0 else "")
    text = f"{sign}{format_count(abs(difference))}"
    if percent is not None:
        psign = "+" if percent > 0 else ("−" if percent < 0 else "")
        text += f" ({psign}{format_decimal(abs(percent), 0)}{NARROW_NBSP}%)"
    return text


def format_duration(seconds: float | None) -> str:
    """4 h under two days, then days with one decimal: "2,5 j"."""
    if seconds is None:
        return "—"
    hours = seconds / 3600
    if hours < 48:
        return f"{max(1, round(hours))}{NARROW_NBSP}h"
    return f"{format_decimal(hours / 24)}{NARROW_NBSP}j"


# --- charts --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bar:
    label: str
    value: int | None  # None: hidden, drawn as an empty slot with its "< 5"
    text: str
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # position, label of the value axis
    baseline: float


def nice_maximum(value: int) -> int:
    """The axis end: 1, 2 or 5 times a power of ten, at least the value."""
    if value <= 5:
        return 5
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def horizontal_bars(
    items: Sequence[tuple[str, int | None, str]],
    width: int = 640,
    label_width: int = 240,
    bar_height: int = 22,
    gap: int = 8,
) -> Chart:
    """Bars from a label column to the right; `items` are (label, value or None, text)."""
    top = 24
    top_value = nice_maximum(max((v for _, v, _ in items if v), default=0))
    room = width - label_width - 70
    bars = []
    for index, (label, value, text) in enumerate(items):
        length = room * (value or 0) / top_value
        y = top + index * (bar_height + gap)
        bars.append(Bar(label, value, text, label_width, y, round(length, 1), bar_height))
    height = top + len(items) * (bar_height + gap) + 10
    ticks = [(label_width + room * k / 4, format_count(top_value * k // 4)) for k in range(5)]
    return Chart(width, height, bars, ticks, label_width)


def columns(
    items: Sequence[tuple[str, int | None, str]], width: int = 640, height: int = 240
) -> Chart:
    """Vertical columns along a time axis; `items` are (label, value or None, text)."""
    left, bottom, top = 48, 36, 16
    top_value = nice_maximum(max((v for _, v, _ in items if v), default=0))
    room = height - top - bottom
    step = (width - left - 8) / max(1, len(items))
    bar_width = max(2.0, step * 0.7)
    bars = []
    for index, (label, value, text) in enumerate(items):
        length = room * (value or 0) / top_value
        x = left + index * step + (step - bar_width) / 2
        y = top + room - length
        bars.append(
            Bar(label, value, text, round(x, 1), round(y, 1), round(bar_width, 1), round(length, 1))
        )
    ticks = [(top + room - room * k / 4, format_count(top_value * k // 4)) for k in range(5)]
    return Chart(width, height, bars, ticks, top + room)
