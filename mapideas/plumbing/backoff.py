"""The wait before a failed call to another system is tried again: the one back-off of the
queues that never give up (webhook deliveries, back-office forwards)."""

from datetime import timedelta

BACKOFF_CAP = timedelta(minutes=60)


def backoff(failures: int) -> timedelta:
    """Wait after `failures` failures in a row: 1, 2, 4 ... minutes, at most an hour, for
    ever (nothing is given up)."""
    return min(timedelta(minutes=2 ** min(max(failures - 1, 0), 10)), BACKOFF_CAP)
