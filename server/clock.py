"""Server time that only moves forward.

Expiry follows the clock, so a clock set back (by mistake, by NTP after a
drift, by someone who wants a room back) would extend every room and revive
rooms that expired but were not swept yet. The server therefore keeps a
high-water mark: the latest time it has seen, persisted in the database
(``server_clock``) and loaded at start-up. Every decision that reads the
time, expiry first of all, uses ``max(now, mark)``; while the server runs the
mark moves on with the monotonic clock, so time set back does not stand still.

The one exception is the request-signature window, which compares the
client's clock with the wall clock (``wall_now``): after a clock that ran
ahead is corrected, uploads keep working while the mark waits for real time
to catch up.
"""

import time
from datetime import datetime, timedelta, timezone

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from . import app_keys
from .models import ServerClock

ROW_ID = 1


class HighWater:
    """The latest time seen by this process; ``now`` never returns less.

    Between calls the mark moves on by the time the monotonic clock measured,
    so after the wall clock is set back the server's time keeps flowing at the
    real rate instead of standing still: a room neither revives nor lives a
    day longer because the clock was set back a day.
    """

    def __init__(self, mark: datetime | None = None):
        self.mark = mark
        self._monotonic: float | None = None

    def now(self, current: datetime, monotonic: float) -> datetime:
        if self.mark is not None and self._monotonic is not None:
            flowed = self.mark + timedelta(seconds=max(0.0, monotonic - self._monotonic))
        else:
            flowed = self.mark
        self.mark = current if flowed is None or current > flowed else flowed
        self._monotonic = monotonic
        return self.mark


def wall_now(app: web.Application) -> datetime:
    """The wall clock: the app's injected clock if a test set one, else UTC now."""
    clock = app.get(app_keys.clock)
    return clock() if clock else datetime.now(timezone.utc)


def app_now(app: web.Application) -> datetime:
    """The server's time: the wall clock, but never earlier than the high-water mark."""
    high_water = app.get(app_keys.high_water)
    current = wall_now(app)
    return high_water.now(current, time.monotonic()) if high_water is not None else current


async def load_high_water(db: AsyncSession) -> datetime | None:
    return await db.scalar(select(ServerClock.high_water).where(ServerClock.id == ROW_ID))


async def save_high_water(db: AsyncSession, moment: datetime) -> datetime:
    """Raise the stored mark to ``moment`` (never lower it); returns the stored mark,
    which another process may have raised further."""
    row = await db.get(ServerClock, ROW_ID, with_for_update=True)
    if row is None:
        db.add(ServerClock(id=ROW_ID, high_water=moment))
        try:
            await db.flush()
        except IntegrityError:  # another process made the row first: the next save raises it
            pass
        return moment
    if row.high_water < moment:
        row.high_water = moment
    return row.high_water


async def server_now(db: AsyncSession, current: datetime | None = None) -> datetime:
    """``max(now, stored mark)``, for the admin CLI and restores, and stores it."""
    current = current or datetime.now(timezone.utc)
    mark = await load_high_water(db)
    moment = max(current, mark) if mark else current
    await save_high_water(db, moment)
    return moment
