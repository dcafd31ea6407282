"""What the client does when the server refuses a message. Pure (no ``js``, no sockets).

The server stores a message only if it answers ``sent``; every refusal stored
nothing, so sending the same message (same id) again is safe. Two refusals
are worth one more try without asking the person:

- ``stale_members``: the room's members changed since the page last looked.
  The page reloads the members and seals the message again for them, once.
- ``rate_limited`` with a short ``retry_after``: the page waits, then sends
  again. A longer wait is the person's to decide, so it becomes an error.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

RATE_LIMIT_WAIT_SECONDS = 60.0  # longer than this, the person is told instead of waiting


class SendRefused(Exception):
    """The server refused the message for good; ``message`` is its sentence for the person."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class Resend:
    refresh_members: bool = False  # reload the room's members and seal the message for them again
    wait: float = 0.0              # seconds to wait first (rate limited)


def after_reply(reply: dict, *, members_refreshed: bool) -> Resend | None:
    """None if the server stored the message; a :class:`Resend` to try again; else raises ``SendRefused``."""
    if reply.get("type") != "error":
        return None
    code = reply.get("error", "error")
    if code == "stale_members" and not members_refreshed:
        return Resend(refresh_members=True)
    try:
        wait = float(reply.get("retry_after") or 0)
    except (TypeError, ValueError):
        wait = 0.0
    if code == "rate_limited" and 0 < wait <= RATE_LIMIT_WAIT_SECONDS:
        return Resend(wait=wait)
    raise SendRefused(code, reply.get("message", code))


async def deliver(attempt: Callable[[], Awaitable[dict]], *, refresh_members: Callable[[], Awaitable[None]],
                  wait: Callable[[float], Awaitable[None]]) -> dict:
    """Run ``attempt()`` (seal and send; the server's reply) until the message is stored or refused."""
    members_refreshed = False
    while True:
        reply = await attempt()
        resend = after_reply(reply, members_refreshed=members_refreshed)
        if resend is None:
            return reply
        if resend.refresh_members:
            await refresh_members()
            members_refreshed = True
        if resend.wait:
            await wait(resend.wait)
