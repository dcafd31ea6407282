"""Room expiry as the page shows it: time left, and when to warn.

Pure functions (no ``js``), so they run and are tested in CPython too.
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


def countdown_text(seconds: float) -> str:
    if seconds <= 0:
        return "Expired"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        left = f"{days} d {hours} h"
    elif hours:
        left = f"{hours} h {minutes} min"
    elif minutes:
        left = f"{minutes} min"
    else:
        left = f"{secs} s"
    return f"Deleted in {left}"


def warning_text(room_name: str, level: str) -> str:
    when = "an hour" if level == "hour" else "24 hours"
    return f"“{room_name}” and everything in it will be deleted in less than {when}."
