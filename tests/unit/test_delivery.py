"""Retry delays of the e-mail outbox."""

from datetime import timedelta

import pytest

from proxiservices.domain.delivery import retry_delay


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [
        (0, timedelta(0)),
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (3, timedelta(minutes=4)),
        (9, timedelta(minutes=256)),
        (10, timedelta(hours=6)),
        (20, timedelta(hours=6)),
        (1000, timedelta(hours=6)),
    ],
)
def test_delays_double_up_to_six_hours(attempts, delay):
    assert retry_delay(attempts) == delay


def test_twenty_attempts_span_more_than_a_day():
    """The default OUTBOX_MAX_ATTEMPTS outlasts a mail server down for a whole day."""
    assert sum((retry_delay(n) for n in range(1, 20)), timedelta()) > timedelta(days=1)
