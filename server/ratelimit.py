"""Rate limits on the ``limits`` library: moving windows kept in memory for
one process, or in Redis so that every process shares them.

A limit is written either the way Synapse writes its ``rc_*`` settings,
``RATE/BURST`` ("0.2/10": 0.2 actions a second on average, bursts of 10), or
in the library's own notation ("10/minute;30/hour;100/day"), or ``off``.

A token bucket of rate r and burst b lets through at most b + r·t actions in
any span of t seconds. ``RATE/BURST`` is held as a ladder of moving windows
that keeps that bound at t = b/r and 10b/r, and allows just b in the first
tenth of that: a burst of b goes through at once, then about one action every
1/r seconds. Moving
windows are exact in both storages (Redis runs them as one Lua script), so
two processes see one budget.

Which actions are limited, and by what, is ``DEFAULT_LIMITS`` below; the
sign-in policy is in docs/operations.md ("Rate limits").
"""

import logging
import math
import re
import time
from collections.abc import Callable, Mapping

from limits import RateLimitItem, RateLimitItemPerSecond, parse_many
from limits.aio.storage import MemoryStorage, Storage
from limits.storage import storage_from_string
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from .domain.errors import RateLimited
from .i18n import Message

log = logging.getLogger("sealroom.ratelimit")

# Per signed-in user unless the name says otherwise. Synapse's defaults are
# the model: rc_message 0.2/s burst 10, rc_room_creation 0.016/s burst 10,
# rc_invites per room 0.3/s burst 10, rc_registration 0.17/s burst 3.
DEFAULT_LIMITS = {
    "frame": "10/50",             # every frame received on a user's sockets
    "message": "0.2/10",          # envelopes sent on the socket
    "room_create": "0.016/10",
    "member_add": "0.3/10",       # members added by name, and invite links accepted
    "invite": "0.05/10",          # invite links created
    "upload_start": "0.5/20",
    "search": "2/30",
    "key_rotate": "0.002/5",
    # Sign-in and registration; the numbers scale with SEALROOM_AUTH_ATTEMPTS (see auth_limits).
}

ACTIONS = (*DEFAULT_LIMITS, "register_address", "login_address", "login_account_address", "login_account",
           "login_device")

_BUCKET = re.compile(r"(\d+(?:\.\d+)?)/(\d+)")


class LimitSpecError(ValueError):
    pass


def auth_limits(attempts: int) -> dict[str, str]:
    """The sign-in policy, with ``attempts`` as its unit (10 by default).

    - a browser that signed in to the account before (its device cookie):
      ``attempts`` in a burst, then one every 30 s, for that browser alone;
    - any other attempt: per address (an IPv6 /64), 3 x ``attempts`` for any
      accounts; per (account, address), ``attempts`` then one every 30 s; and
      per account, a ladder that slows guessing from many addresses down more
      and more (10 a minute, 30 an hour, 100 a day). None of these applies to
      the owner's own browsers, so nobody else can lock the owner out.
    - registrations: per address, ``attempts`` then one every 30 s.
    """
    n = attempts
    return {
        "register_address": f"{n / 300:.4f}/{n}",
        "login_address": f"{n / 100:.4f}/{3 * n}",
        "login_account_address": f"{1 / 30:.4f}/{n}",
        "login_device": f"{1 / 30:.4f}/{n}",
        "login_account": f"{n}/minute;{3 * n}/hour;{10 * n}/day",
    }


def parse_limit(spec: str) -> list[RateLimitItem]:
    """``RATE/BURST``, the library's notation, or ``off`` (an empty list)."""
    spec = spec.strip()
    if spec.lower() in ("off", "none", "0"):
        return []
    bucket = _BUCKET.fullmatch(spec)
    if bucket:
        rate, burst = float(bucket.group(1)), int(bucket.group(2))
        if rate <= 0 or burst < 1:
            raise LimitSpecError(f"{spec!r}: the rate must be above 0 and the burst at least 1")
        items = {}
        for scale in (0.1, 1, 10):
            seconds = max(1, round(burst / rate * scale))
            allowed = burst if scale < 1 else burst + math.floor(rate * seconds)
            items[seconds] = RateLimitItemPerSecond(allowed, seconds)
        return list(items.values())
    try:
        return list(parse_many(spec))
    except ValueError:
        raise LimitSpecError(f"{spec!r} is not a limit: write RATE/BURST such as 0.2/10, "
                             "or windows such as 10/minute;100/day, or off") from None


class RateLimiter:
    """``await limiter.hit(action, *subject)`` counts one action, or raises
    ``RateLimited`` with the seconds to wait."""

    def __init__(self, storage: Storage, limits: Mapping[str, list[RateLimitItem]],
                 on_limited: Callable[[str], None] | None = None) -> None:
        self._storage = storage
        self._strategy = MovingWindowRateLimiter(storage)
        self.limits = dict(limits)
        self.on_limited = on_limited

    @classmethod
    def from_specs(cls, specs: Mapping[str, str], redis_url: str = "", namespace: str = "sealroom",
                   on_limited=None) -> "RateLimiter":
        limits = {action: parse_limit(spec) for action, spec in specs.items()}
        if redis_url:
            storage = storage_from_string(f"async+{redis_url}", implementation="redispy",
                                          key_prefix=f"{namespace}:rate", wrap_exceptions=True)
        else:
            storage = MemoryStorage(wrap_exceptions=True)
        return cls(storage, limits, on_limited)

    async def hit(self, action: str, *subject: str, message: Message | None = None) -> None:
        for item in self.limits.get(action, ()):
            try:
                if await self._strategy.hit(item, action, *subject):
                    continue
                reset_at = (await self._strategy.get_window_stats(item, action, *subject)).reset_time
            except StorageError:  # Redis away: let the action through rather than refuse everyone
                log.warning("rate-limit storage unreachable; %s not limited", action)
                return
            wait = max(1, math.ceil(reset_at - time.time()))
            if self.on_limited is not None:
                self.on_limited(action)
            raise RateLimited(wait, message)

    async def ping(self) -> bool:
        return await self._storage.check()

    async def close(self) -> None:
        bridge = getattr(self._storage, "bridge", None)
        if bridge is not None:  # redis-py's client, owned by the storage
            await bridge.storage.aclose()
        timer = getattr(self._storage, "timer", None)
        if timer is not None:
            timer.cancel()
