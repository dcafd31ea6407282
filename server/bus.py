"""Event bus: delivers frames to every connection of a user.

The in-process bus serves one server process. A Redis bus (scale-out)
publishes the same frames through Redis pub/sub so that every process
delivers them to its own connections.
"""

import asyncio
from collections import defaultdict

SUBSCRIBER_BACKLOG = 1000


class Subscription:
    """One connection's inbox. A client that falls a whole backlog behind is
    marked ``overflowed``; its socket is closed and it reloads history."""

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id
        self.queue: asyncio.Queue = asyncio.Queue(maxsize=SUBSCRIBER_BACKLOG)
        self.overflowed = False

    def put(self, frame: dict) -> None:
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            self.overflowed = True


class Bus:
    def __init__(self) -> None:
        self._subscriptions: dict[str, set[Subscription]] = defaultdict(set)

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

    def deliver(self, user_ids, frame: dict) -> None:
        for user_id in user_ids:
            for subscription in tuple(self._subscriptions.get(user_id, ())):
                subscription.put(frame)
