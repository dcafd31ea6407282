"""Event bus: delivers frames to every connection of a user.

The in-process bus serves one server process. A Redis bus (scale-out)
publishes the same frames through Redis pub/sub so that every process
delivers them to its own connections.
"""

import asyncio
import json
import logging
from collections import defaultdict
from datetime import datetime

log = logging.getLogger(__name__)

SUBSCRIBER_BACKLOG = 1000


def room_expiry(frame: dict) -> datetime | None:
    """The ``expires_at`` of the room a frame is about, if it carries one, so
    that a socket can drop a queued frame once its room has expired."""
    expires_at = frame.get("expires_at")
    if expires_at is None and isinstance(frame.get("room"), dict):
        expires_at = frame["room"].get("expires_at")
    return datetime.fromisoformat(expires_at) if isinstance(expires_at, str) else None


class Subscription:
    """One connection's inbox. A client that falls a whole backlog behind is
    marked ``overflowed``; its socket is closed and it reloads history."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        # (frame as JSON text, expiry of the room it is about or None)
        self.queue: asyncio.Queue[tuple[str, datetime | None]] = asyncio.Queue(maxsize=SUBSCRIBER_BACKLOG)
        self.overflowed = False

    def put(self, frame: str, room_expires_at: datetime | None = None) -> None:
        try:
            self.queue.put_nowait((frame, room_expires_at))
        except asyncio.QueueFull:
            self.overflowed = True


class Bus:
    """Frames for users' connections, and events for every process's caches
    (the search index listens to those)."""

    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)
        self.event_listeners: list = []

    def subscribe(self, user_id: str) -> Subscription:
        subscription = Subscription(user_id)
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
        text = json.dumps(frame, separators=(",", ":"))  # once, however many sockets get it
        expires_at = room_expiry(frame)
        for user_id in user_ids:
            for subscription in tuple(self._subscriptions.get(user_id, ())):
                subscription.put(text, expires_at)


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

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        await self._redis.aclose()
