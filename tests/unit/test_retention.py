"""The retention rule of requests' personal data, without Flask or a database."""

from datetime import UTC, datetime, timedelta

import pytest

from proxiservices.domain import lifecycle, retention
from proxiservices.domain.hours import PARIS

AT = datetime(2026, 11, 23, 4, 30, tzinfo=UTC)


def test_ended_statuses_are_every_status_an_open_request_cannot_come_back_from():
    assert set(retention.ENDED) == {
        lifecycle.CLOSED,
        lifecycle.REFUSED,
        lifecycle.REDIRECTED,
        lifecycle.CANCELLED,
        lifecycle.EXPIRED,
    }
    assert not set(retention.ENDED) & set(lifecycle.OPEN)
    # No transition leaves an ended status: the time it got there is the time it ended.
    assert not [key for key in lifecycle.TRANSITIONS if key[0] in retention.ENDED]


@pytest.mark.parametrize(
    ("ended", "due"),
    [
        (AT - timedelta(days=13 * 31), True),  # 13 months ago
        (datetime(2025, 11, 23, 5, 30, tzinfo=PARIS), True),  # exactly 12 months (Paris time)
        (datetime(2025, 11, 23, 5, 31, tzinfo=PARIS), False),  # a minute short
        (AT - timedelta(days=11 * 31), False),  # 11 months ago
        (AT - timedelta(days=1), False),
    ],
)
def test_an_ended_request_is_due_twelve_calendar_months_after_it_ended(ended, due):
    assert retention.purge_due(lifecycle.CLOSED, ended, None, AT, 12) is due


CUTOFF = datetime(2025, 11, 23, 5, 30, tzinfo=PARIS)  # AT minus 12 months, Paris time
SECOND = timedelta(seconds=1)
LONG_AGO = AT - timedelta(days=3650)


@pytest.mark.parametrize("status", lifecycle.OPEN)
@pytest.mark.parametrize(
    ("activity", "due"),
    [
        ({}, True),  # nothing since its last change, ten years ago
        ({"changed_at": CUTOFF}, True),  # exactly 12 months without activity
        ({"changed_at": CUTOFF + SECOND}, False),  # one second short
        ({"last_event_at": CUTOFF}, True),
        ({"last_event_at": CUTOFF + SECOND}, False),  # a later line of its history counts
        ({"last_event_at": AT - timedelta(days=2)}, False),
        ({"scheduled_at": CUTOFF}, True),  # an appointment 12 months ago
        ({"scheduled_at": CUTOFF + SECOND}, False),
        ({"scheduled_at": AT + timedelta(days=60)}, False),  # still to come
        ({"last_event_at": CUTOFF - SECOND, "scheduled_at": CUTOFF}, True),
    ],
)
def test_an_open_request_is_due_after_the_retention_without_activity(status, activity, due):
    changed_at = activity.get("changed_at", LONG_AGO)
    when = {k: v for k, v in activity.items() if k != "changed_at"}
    assert retention.purge_due(status, changed_at, None, AT, 12, **when) is due
    # Never twice, and the date shown agrees with the purge.
    assert not retention.purge_due(status, changed_at, AT - SECOND, AT, 12, **when)
    assert (retention.purge_date(status, changed_at, 12, **when) <= AT) is due


def test_an_open_request_is_anonymised_the_retention_after_its_last_activity():
    changed = datetime(2026, 1, 10, 9, 0, tzinfo=PARIS)
    event = datetime(2026, 3, 31, 16, 0, tzinfo=PARIS)
    appointment = datetime(2026, 6, 2, 14, 30, tzinfo=PARIS)
    assert retention.last_activity(changed, event, appointment) == appointment
    assert retention.last_activity(changed, event) == event
    assert retention.last_activity(changed) == changed
    assert retention.purge_date(
        lifecycle.SCHEDULED, changed, 12, last_event_at=event, scheduled_at=appointment
    ) == datetime(2027, 6, 2, 14, 30, tzinfo=PARIS)
    assert retention.purge_date(lifecycle.IN_PROGRESS, changed, 1, last_event_at=event) == (
        datetime(2026, 4, 30, 16, 0, tzinfo=PARIS)
    )


@pytest.mark.parametrize("status", retention.ENDED)
def test_an_ended_request_counts_from_its_end_whatever_came_after(status):
    """Nothing moves an ended request: its history and appointment do not delay it."""
    later = {"last_event_at": AT - timedelta(days=1), "scheduled_at": AT + timedelta(days=30)}
    assert retention.purge_due(status, CUTOFF, None, AT, 12, **later)
    assert not retention.purge_due(status, CUTOFF + SECOND, None, AT, 12, **later)
    assert retention.purge_date(status, CUTOFF, 12, **later) == AT.astimezone(PARIS)


@pytest.mark.parametrize("status", retention.ENDED)
def test_every_ended_status_is_due_and_an_anonymised_request_no_more(status):
    ended = AT - timedelta(days=400)
    assert retention.purge_due(status, ended, None, AT, 12)
    assert not retention.purge_due(status, ended, AT - timedelta(days=1), AT, 12)


def test_the_retention_setting_changes_the_rule():
    ended = AT - timedelta(days=100)  # a little over three months
    assert retention.purge_due(lifecycle.REFUSED, ended, None, AT, 3)
    assert not retention.purge_due(lifecycle.REFUSED, ended, None, AT, 4)


@pytest.mark.parametrize(
    ("at", "months", "expected"),
    [
        (datetime(2026, 3, 31, 10, tzinfo=PARIS), 1, datetime(2026, 2, 28, 10, tzinfo=PARIS)),
        (datetime(2024, 3, 31, 10, tzinfo=PARIS), 1, datetime(2024, 2, 29, 10, tzinfo=PARIS)),
        (datetime(2026, 1, 15, 10, tzinfo=PARIS), 12, datetime(2025, 1, 15, 10, tzinfo=PARIS)),
        (datetime(2026, 1, 15, 10, tzinfo=PARIS), 13, datetime(2024, 12, 15, 10, tzinfo=PARIS)),
        (datetime(2026, 1, 15, 10, tzinfo=PARIS), -12, datetime(2027, 1, 15, 10, tzinfo=PARIS)),
    ],
)
def test_months_are_calendar_months_with_the_day_clamped(at, months, expected):
    assert retention.months_before(at, months) == expected


def test_the_purge_date_is_the_end_plus_the_retention():
    ended = datetime(2026, 5, 10, 14, 0, tzinfo=PARIS)
    assert retention.purge_date(lifecycle.EXPIRED, ended, 12) == datetime(
        2027, 5, 10, 14, 0, tzinfo=PARIS
    )


@pytest.mark.parametrize(("value", "months"), [("12", 12), (" 18 ", 18), (1, 1), ("240", 240)])
def test_parse_months(value, months):
    assert retention.parse_months(value) == months


@pytest.mark.parametrize("value", ["", "douze", "0", "-3", "241", "1.5"])
def test_parse_months_refuses_what_is_not_a_sensible_retention(value):
    with pytest.raises(ValueError):
        retention.parse_months(value)


def test_months_label():
    assert retention.months_label(12) == "12 mois (1 an)"
    assert retention.months_label(36) == "36 mois (3 ans)"
    assert retention.months_label(18) == "18 mois"
