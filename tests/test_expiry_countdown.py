"""The page's countdown text and warning levels (pure, run in CPython)."""

from datetime import datetime, timedelta, timezone

import pytest

from pyclient.expiry import countdown_text, seconds_left, warning_level, warning_text

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)


def _left(delta: timedelta) -> float:
    return seconds_left((NOW + delta).isoformat(), NOW.timestamp())


@pytest.mark.parametrize("delta, text, level", [
    (timedelta(days=7), "Deleted in 7 d 0 h", ""),
    (timedelta(days=1, seconds=1), "Deleted in 1 d 0 h", ""),
    (timedelta(hours=24), "Deleted in 1 d 0 h", "day"),
    (timedelta(hours=5, minutes=12, seconds=30), "Deleted in 5 h 12 min", "day"),
    (timedelta(hours=1), "Deleted in 1 h 0 min", "hour"),
    (timedelta(minutes=12, seconds=5), "Deleted in 12 min", "hour"),
    (timedelta(seconds=40), "Deleted in 40 s", "hour"),
    (timedelta(0), "Expired", "expired"),
    (timedelta(seconds=-5), "Expired", "expired"),
])
def test_countdown_warns_at_24_hours_and_at_1_hour(delta, text, level):
    left = _left(delta)
    assert countdown_text(left) == text
    assert warning_level(left) == level


def test_warning_names_the_room():
    assert warning_text("Plans", "hour") == "“Plans” and everything in it will be deleted in less than an hour."
    assert "24 hours" in warning_text("Plans", "day")
