"""Fixed-window rate limits: in memory for one process, Redis across many."""

import time
from collections import defaultdict


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = defaultdict(int)

    async def hit(self, key: str, limit: int, window: int, now: float | None = None) -> int:
        """Count one attempt; return seconds to wait if over ``limit``, else 0."""
        now = time.time() if now is None else now
        slot = int(now // window)
        if len(self._counts) > 100_000:
            self._counts = defaultdict(int, {k: v for k, v in self._counts.items() if k[1] >= slot})
        self._counts[(key, slot)] += 1
        return 0 if self._counts[(key, slot)] <= limit else int((slot + 1) * window - now) + 1

    async def close(self) -> None:
        pass


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        import redis.asyncio as redis

        self._redis = redis.from_url(url)

    async def hit(self, key: str, limit: int, window: int, now: float | None = None) -> int:
        now = time.time() if now is None else now
        slot = int(now // window)
        redis_key = f"sealroom:rate:{key}:{slot}"
        async with self._redis.pipeline(transaction=True) as pipe:
            count, _ = await pipe.incr(redis_key).expire(redis_key, window + 1).execute()
        return 0 if count <= limit else int((slot + 1) * window - now) + 1

    async def close(self) -> None:
        await self._redis.aclose()
