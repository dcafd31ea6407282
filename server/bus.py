"""Event bus: delivers frames to every connection of a user.

The in-process bus serves one server process. A Redis bus (scale-out)
publishes the same frames through Redis pub/sub so that every process
delivers them to its own connections.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable
from datetime import datetime, timezone

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
    on for everyone else. Nothing here ever waits for a socket.

    A deque and one waiter, not an ``asyncio.Queue``: a put costs an append
    (and wakes the socket's writer only if it is waiting), and the writer
    takes every frame queued since it last ran in one go."""

    def __init__(self, user_id: str, backlog: int = SUBSCRIBER_BACKLOG,
                 backlog_bytes: int = SUBSCRIBER_BACKLOG_BYTES) -> None:
        self.user_id = user_id
        # (frame as UTF-8 JSON, expiry of the room it is about or None, time.monotonic() when queued)
        self.frames: deque[tuple[bytes, datetime | None, float]] = deque()
        self.overflowed = False
        self.overflow = asyncio.Event()
        self.queued_bytes = 0
        self._backlog = backlog
        self._backlog_bytes = backlog_bytes
        self._waiter: asyncio.Future | None = None

    def put(self, frame: bytes, room_expires_at: datetime | None = None, queued_at: float | None = None) -> None:
        if self.overflowed:
            return
        if len(self.frames) >= self._backlog or self.queued_bytes + len(frame) > self._backlog_bytes:
            self._overflow()
            return
        self.frames.append((frame, room_expires_at, time.monotonic() if queued_at is None else queued_at))
        self.queued_bytes += len(frame)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self) -> None:
        """Until at least one frame is queued."""
        while not self.frames:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    def pop(self) -> tuple[bytes, datetime | None, float]:
        """The oldest queued frame; it stops counting against the backlog."""
        item = self.frames.popleft()
        self.queued_bytes -= len(item[0])
        return item

    def _overflow(self) -> None:
        self.overflowed = True
        self.overflow.set()
        self.frames.clear()  # free the backlog now: this socket is closed, not fed
        self.queued_bytes = 0


class Bus:
    """Frames for users' connections, and events for every process's caches
    (the search index listens to those)."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self.event_listeners: list = []
        self.backlog = SUBSCRIBER_BACKLOG
        self._in_order: dict[str, tuple[asyncio.Lock, list[int]]] = {}
        self.clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)  # create_app sets the server's

    async def start(self) -> None:
        """Nothing to connect to in one process (RedisBus subscribes here)."""

    async def close(self) -> None:
        pass

    @contextlib.asynccontextmanager
    async def in_order(self, key: str):
        """Held from storing a room's message to publishing it, so that this
        process publishes the messages of one room (``key`` is its id, or one
        key for every room) in the order of their sequence numbers; other keys
        do not wait. (Across processes the database orders the commits:
        ``rooms.room_for_sending`` locks the room.)"""
        lock, holders = self._in_order.setdefault(key, (asyncio.Lock(), [0]))
        holders[0] += 1
        try:
            async with lock:
                yield
        finally:
            holders[0] -= 1
            if not holders[0]:
                del self._in_order[key]

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
        expires_at = room_expiry(frame)
        if expires_at is not None and expires_at <= self.clock():
            return  # about a room that has expired: nobody gets it (the time is read once, not once a socket)
        text = json.dumps(frame, separators=(",", ":")).encode()  # once, however many sockets get it
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
