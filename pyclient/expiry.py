"""Room expiry as the page shows it: time left, and when to warn.

Pure functions (no ``js``), so they run and are tested in CPython too; the
words are chosen and translated in ``pyclient.browser.expiry``.
"""

from datetime import datetime

DAY_WARNING_SECONDS = 24 * 3600
HOUR_WARNING_SECONDS = 3600


def seconds_left(expires_at: str, now: float) -> float:
    """Seconds from ``now`` (a Unix time) until the ISO 8601 ``expires_at``."""
    return datetime.fromisoformat(expires_at).timestamp() - now


def warning_level(seconds: float) -> str:
    """``expired``, ``hour`` (under 1 h left), ``day`` (under 24 h) or ``""``."""
    if seconds <= 0:
        return "expired"
    if seconds <= HOUR_WARNING_SECONDS:
        return "hour"
    if seconds <= DAY_WARNING_SECONDS:
        return "day"
    return ""


def time_left(seconds: float) -> dict[str, int]:
    """The two largest units worth showing: days and hours, hours and
    minutes, minutes, or seconds."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return {"days": days, "hours": hours}
    if hours:
        return {"hours": hours, "minutes": minutes}
    if minutes:
        return {"minutes": minutes}
    return {"seconds": secs}
