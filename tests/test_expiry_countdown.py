"""The page's countdown units and warning levels (pure, run in CPython)."""

from datetime import datetime, timedelta, timezone

import pytest

from pyclient.expiry import seconds_left, time_left, warning_level

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def _left(delta: timedelta) -> float:
    return seconds_left((NOW + delta).isoformat(), NOW.timestamp())


@pytest.mark.parametrize("delta, units, level", [
    (timedelta(days=7), {"days": 7, "hours": 0}, ""),
    (timedelta(days=1, seconds=1), {"days": 1, "hours": 0}, ""),
    (timedelta(hours=24), {"days": 1, "hours": 0}, "day"),
    (timedelta(hours=5, minutes=12, seconds=30), {"hours": 5, "minutes": 12}, "day"),
    (timedelta(hours=1), {"hours": 1, "minutes": 0}, "hour"),
    (timedelta(minutes=12, seconds=5), {"minutes": 12}, "hour"),
    (timedelta(seconds=40), {"seconds": 40}, "hour"),
    (timedelta(0), {"seconds": 0}, "expired"),
    (timedelta(seconds=-5), {"seconds": 0}, "expired"),
])
def test_countdown_warns_at_24_hours_and_at_1_hour(delta, units, level):
    left = _left(delta)
    assert time_left(left) == units
    assert warning_level(left) == level
