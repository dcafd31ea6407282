"""Caps on WebSocket connections: per user (across every process when Redis
is configured) and in total on this process.

With Redis, each open socket is a member of a sorted set per user, scored by
when its claim lapses; every process renews its own sockets' claims, so the
sockets of a process that died drop out of the count within CLAIM_SECONDS.
"""

import asyncio
import contextlib
import logging
import secrets
import time
from collections import Counter

from ..domain.errors import TooMany
from ..i18n import _, ngettext

log = logging.getLogger("sealroom.connections")

CLAIM_SECONDS = 60
RENEW_EVERY = 20


class Connections:
    def __init__(self, per_user: int, total: int, redis_url: str = "", namespace: str = "sealroom") -> None:
        self.per_user, self.total = per_user, total
        self._local: Counter[str] = Counter()
        self._mine: dict[str, str] = {}  # socket id -> user id, for renewals
        self._redis = None
        self._namespace = namespace
        self._renewer: asyncio.Task | None = None
        if redis_url:
            import redis.asyncio as redis

            self._redis = redis.from_url(redis_url)

    def _key(self, user_id: str) -> str:
        return f"{self._namespace}:sockets:{user_id}"

    @property
    def open(self) -> int:
        return sum(self._local.values())

    async def claim(self, user_id: str) -> str:
        """A slot for one more socket of ``user_id``, or TooMany."""
        if self.open >= self.total:
            raise TooMany(_("The server has as many connections as it can take. Try again in a minute."))
        socket_id = secrets.token_hex(8)
        if self._redis is None:
            if self._local[user_id] >= self.per_user:
                raise TooMany(self._per_user_message())
        else:
            now, key = time.time(), self._key(user_id)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zremrangebyscore(key, "-inf", now).zadd(key, {socket_id: now + CLAIM_SECONDS})
                _removed, _added, count, _expiry = await pipe.zcard(key).expire(key, CLAIM_SECONDS).execute()
            if count > self.per_user:
                await self._redis.zrem(key, socket_id)
                raise TooMany(self._per_user_message())
        self._local[user_id] += 1
        self._mine[socket_id] = user_id
        return socket_id

    def _per_user_message(self):
        return ngettext("You have {count} connection open, the most allowed. Close a tab or another device "
                        "and try again.",
                        "You have {count} connections open, the most allowed. Close a tab or another device "
                        "and try again.", self.per_user)

    async def release(self, socket_id: str) -> None:
        user_id = self._mine.pop(socket_id, None)
        if user_id is None:
            return
        self._local[user_id] -= 1
        if self._local[user_id] <= 0:
            del self._local[user_id]
        if self._redis is not None:
            try:
                await self._redis.zrem(self._key(user_id), socket_id)
            except Exception:  # the claim lapses by itself
                log.warning("could not release a socket claim in Redis")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_EVERY)
            try:
                until = time.time() + CLAIM_SECONDS
                async with self._redis.pipeline(transaction=False) as pipe:
                    for socket_id, user_id in tuple(self._mine.items()):
                        pipe.zadd(self._key(user_id), {socket_id: until}).expire(self._key(user_id), CLAIM_SECONDS)
                    await pipe.execute()
            except Exception:  # Redis away: try again at the next renewal
                log.warning("could not renew socket claims in Redis")

    async def start(self) -> None:
        if self._redis is not None:
            self._renewer = asyncio.create_task(self._renew())

    async def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
        if self._redis is not None:
            for socket_id in tuple(self._mine):
                await self.release(socket_id)
            await self._redis.aclose()
