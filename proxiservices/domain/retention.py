"""How long a request keeps the resident's personal data: until a number of calendar months
after the request ended (closed, refused, redirected, cancelled or expired). An open request
is due the same number of months after its last activity: a partner that never closes a
request must not keep the resident's data forever (the purge then expires it). What
anonymisation writes in place of the data is fixed here too, so the purge, the erasure and
the pages agree on it."""

from __future__ import annotations

import calendar
from datetime import datetime

from proxiservices.domain import lifecycle
from proxiservices.domain.hours import PARIS

DEFAULT_MONTHS = 12
MAX_MONTHS = 240  # twenty years: anything longer is a typo, not a retention policy

# Every status a request can no longer leave: the day it got there is the day it ended.
ENDED = tuple(status for status in lifecycle.STATUS_LABELS if status not in lifecycle.OPEN)

# Written in place of the resident's name (the column is required) and of free texts that
# staff wrote about the request, so the history still shows that something was there.
ANONYMOUS_NAME = "Usager anonymisé"
ERASED_TEXT = "(effacé)"
ERASED_MAIL = "(contenu effacé : données personnelles anonymisées)"


def parse_months(value: object) -> int:
    """The retention setting as it comes from the environment: whole months, 1 to 240."""
    try:
        months = int(str(value).strip())
    except ValueError:
        raise ValueError(f"retention must be a whole number of months, not {value!r}") from None
    if not 1 <= months <= MAX_MONTHS:
        raise ValueError(f"retention must be between 1 and {MAX_MONTHS} months, not {months}")
    return months


def months_before(at: datetime, months: int) -> datetime:
    """The same Paris wall-clock time `months` calendar months earlier, the day clamped to
    the end of a shorter month (31 March minus one month is 28 or 29 February)."""
    local = at.astimezone(PARIS)
    index = local.year * 12 + (local.month - 1) - months
    year, month = divmod(index, 12)
    month += 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day)


def months_after(at: datetime, months: int) -> datetime:
    return months_before(at, -months)


def has_ended(status: str) -> bool:
    return status in ENDED


def cutoff(at: datetime, months: int) -> datetime:
    """Requests that ended, or saw their last activity, at or before this instant are due
    for anonymisation at `at`."""
    return months_before(at, months)


def last_activity(
    changed_at: datetime,
    last_event_at: datetime | None = None,
    scheduled_at: datetime | None = None,
) -> datetime:
    """The latest sign of life of a request: its last change of status, the last line of its
    history, and its appointment (planned far ahead, it is activity until it is past)."""
    return max(when for when in (changed_at, last_event_at, scheduled_at) if when is not None)


def retained_since(
    status: str,
    changed_at: datetime,
    last_event_at: datetime | None = None,
    scheduled_at: datetime | None = None,
) -> datetime:
    """When the retention period starts: the day an ended request ended (its last change of
    status), the last activity of an open one."""
    if has_ended(status):
        return changed_at
    return last_activity(changed_at, last_event_at, scheduled_at)


def purge_due(
    status: str,
    changed_at: datetime,
    anonymised_at: datetime | None,
    at: datetime,
    months: int,
    *,
    last_event_at: datetime | None = None,
    scheduled_at: datetime | None = None,
) -> bool:
    """True when a request not yet anonymised ended, or has been open without activity,
    for `months` months or more."""
    if anonymised_at is not None:
        return False
    since = retained_since(status, changed_at, last_event_at, scheduled_at)
    return since <= cutoff(at, months)


def purge_date(
    status: str,
    changed_at: datetime,
    months: int,
    *,
    last_event_at: datetime | None = None,
    scheduled_at: datetime | None = None,
) -> datetime:
    """When the purge will anonymise the request: for an open one, if nothing happens to it
    before then."""
    return months_after(retained_since(status, changed_at, last_event_at, scheduled_at), months)


def months_label(months: int) -> str:
    """ "12 mois (1 an)", "18 mois", "1 mois": the retention as the notice page says it."""
    text = f"{months} mois"
    if months % 12 == 0:
        years = months // 12
        text += f" ({years} an{'s' if years > 1 else ''})"
    return text
