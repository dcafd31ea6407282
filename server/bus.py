"""Event bus: delivers frames to every connection of a user.

The in-process bus serves one server process. A Redis bus (scale-out)
publishes the same frames through Redis pub/sub so that every process
delivers them to its own connections.
"""

import asyncio
import json
import logging
import time
from collections import defaultdict
from datetime import datetime

log = logging.getLogger(__name__)

SUBSCRIBER_BACKLOG = 1000  # frames
SUBSCRIBER_BACKLOG_BYTES = 16 * 1024 * 1024


def room_expiry(frame: dict) -> datetime | None:
    """The ``expires_at`` of the room a frame is about, if it carries one, so
    that a socket can drop a queued frame once its room has expired."""
    expires_at = frame.get("expires_at")
    if expires_at is None and isinstance(frame.get("room"), dict):
        expires_at = frame["room"].get("expires_at")
    return datetime.fromisoformat(expires_at) if isinstance(expires_at, str) else None


class Subscription:
    """One connection's inbox, bounded in frames and in bytes. A client that
    falls that far behind is marked ``overflowed`` (and ``overflow`` is set):
    its socket is closed and it catches up from history, while the room goes
    on for everyone else. Nothing here ever waits for a socket."""

    def __init__(self, user_id: str, backlog: int = SUBSCRIBER_BACKLOG,
                 backlog_bytes: int = SUBSCRIBER_BACKLOG_BYTES) -> None:
        self.user_id = user_id
        # (frame as UTF-8 JSON, expiry of the room it is about or None, time.monotonic() when queued)
        self.queue: asyncio.Queue[tuple[bytes, datetime | None, float]] = asyncio.Queue(maxsize=backlog)
        self.overflowed = False
        self.overflow = asyncio.Event()
        self.queued_bytes = 0
        self._backlog_bytes = backlog_bytes

    def put(self, frame: bytes, room_expires_at: datetime | None = None, queued_at: float | None = None) -> None:
        if self.overflowed:
            return
        if self.queued_bytes + len(frame) > self._backlog_bytes:
            self._overflow()
            return
        try:
            self.queue.put_nowait((frame, room_expires_at, time.monotonic() if queued_at is None else queued_at))
        except asyncio.QueueFull:
            self._overflow()
            return
        self.queued_bytes += len(frame)

    async def get(self) -> tuple[bytes, datetime | None, float]:
        item = await self.queue.get()
        self.queued_bytes -= len(item[0])
        return item

    def _overflow(self) -> None:
        self.overflowed = True
        self.overflow.set()
        while not self.queue.empty():  # free the backlog now: this socket is closed, not fed
            self.queue.get_nowait()
        self.queued_bytes = 0


class Bus:
    """Frames for users' connections, and events for every process's caches
    (the search index listens to those)."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self.event_listeners: list = []
        self.backlog = SUBSCRIBER_BACKLOG

    def subscribe(self, user_id: str) -> Subscription:
        subscription = Subscription(user_id, self.backlog)
        self._subscriptions[user_id].add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscriptions = self._subscriptions.get(subscription.user_id)
        if subscriptions is not None:
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._subscriptions[subscription.user_id]

    async def publish(self, user_ids, frame: dict) -> None:
        self.deliver(user_ids, frame)

    async def publish_event(self, event: dict) -> None:
        self.notify(event)

    def notify(self, event: dict) -> None:
        for listener in self.event_listeners:
            listener(event)

    def deliver(self, user_ids, frame: dict) -> None:
        text = json.dumps(frame, separators=(",", ":")).encode()  # once, however many sockets get it
        expires_at = room_expiry(frame)
        queued_at = time.monotonic()
        for user_id in user_ids:
            for subscription in tuple(self._subscriptions.get(user_id, ())):
                subscription.put(text, expires_at, queued_at)

    async def ping(self) -> None:
        """Readiness: the in-process bus is always there."""


class RedisBus(Bus):
    """Scale-out: every process publishes to one Redis channel and delivers
    what it hears to its own connections (redis-py's asyncio client)."""

    channel = "sealroom:bus"

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis.asyncio as redis

        self._redis = redis.from_url(url)
        self._listener: asyncio.Task | None = None

    async def start(self) -> None:
        pubsub = self._redis.pubsub()
        await pubsub.subscribe(self.channel)
        ready = asyncio.get_running_loop().create_future()
        self._listener = asyncio.create_task(self._listen(pubsub, ready))
        await ready

    async def _listen(self, pubsub, ready) -> None:
        try:
            async for message in pubsub.listen():
                if message["type"] == "subscribe":
                    ready.set_result(None)
                elif message["type"] == "message":
                    data = json.loads(message["data"])
                    if "event" in data:
                        self.notify(data["event"])
                    else:
                        self.deliver(data["users"], data["frame"])
        finally:
            await pubsub.aclose()

    async def publish(self, user_ids, frame: dict) -> None:
        await self._redis.publish(self.channel, json.dumps({"users": list(user_ids), "frame": frame}))

    async def publish_event(self, event: dict) -> None:
        await self._redis.publish(self.channel, json.dumps({"event": event}))

    async def ping(self) -> None:
        await self._redis.ping()
        if self._listener is None or self._listener.done():
            raise ConnectionError("the Redis subscription has stopped")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self._redis.aclose()
