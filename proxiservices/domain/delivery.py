"""When to try sending an e-mail again after a failure."""

from __future__ import annotations

from datetime import timedelta

FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=6)


def retry_delay(attempts: int) -> timedelta:
    """Doubling delays (1, 2, 4... minutes) after `attempts` failures, at most 6 hours, so a
    mail server that is down for a day is neither hammered nor waited for too long."""
    if attempts < 1:
        return timedelta(0)
    return min(FIRST_DELAY * 2 ** min(attempts - 1, 20), LONGEST_DELAY)
