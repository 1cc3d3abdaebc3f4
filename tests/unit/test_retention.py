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


@pytest.mark.parametrize("status", lifecycle.OPEN)
def test_an_open_request_is_never_due_however_old(status):
    long_ago = AT - timedelta(days=3650)
    assert not retention.purge_due(status, long_ago, None, AT, 12)
    assert retention.purge_date(status, long_ago, 12) is None


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
