"""Countdowns to room expiry in the page, and what happens when one ends.

Every element with ``data-expires`` (an ISO 8601 time) shows the time left
and gets ``data-warning`` = ``day`` / ``hour`` / ``expired``. When a room's
time is up the page drops it without waiting for the server's
``room_expired`` frame: the server refuses the room from that instant anyway.
"""

import asyncio

import js

from ..expiry import seconds_left, time_left, warning_level
from .dom import toast
from .env import document
from .i18n import _

TICK_SECONDS = 1.0


def countdown_text(seconds: float) -> str:
    if seconds <= 0:
        return _("Expired")
    left = time_left(seconds)
    if "days" in left:
        return _("Deleted in {days} d {hours} h", **left)
    if "hours" in left:
        return _("Deleted in {hours} h {minutes} min", **left)
    if "minutes" in left:
        return _("Deleted in {minutes} min", **left)
    return _("Deleted in {seconds} s", **left)


def warning_text(room_name: str, level: str) -> str:
    if level == "hour":
        return _("“{room}” and everything in it will be deleted in less than an hour.", room=room_name)
    return _("“{room}” and everything in it will be deleted in less than 24 hours.", room=room_name)


class Countdowns:
    def __init__(self, rooms, on_expired):
        self.rooms = rooms  # () -> the page's current rooms by id
        self.on_expired = on_expired  # coroutine function (room_id)
        self.warned: dict[str, str] = {}
        self.task = None
        self._texts: dict[str, str] = {}  # expires_at -> the text the page shows for it

    @staticmethod
    def label(expires_at: str) -> tuple[str, str]:
        """The countdown's text and warning level now, for drawing it (``data-expires`` elements)."""
        left = seconds_left(expires_at, js.Date.now() / 1000)
        return countdown_text(left), warning_level(left)

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.ensure_future(self._run())

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            self.task = None

    async def _run(self) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(TICK_SECONDS)

    async def refresh(self) -> None:
        now = js.Date.now() / 1000
        # Each DOM access crosses from the worker to the page: touch the
        # countdowns only when one of their texts has changed (about once a minute).
        texts = {room["expires_at"]: countdown_text(seconds_left(room["expires_at"], now))
                 for room in self.rooms().values()}
        if texts != self._texts:
            self._texts = texts
            for element in document.querySelectorAll("[data-expires]"):
                left = seconds_left(element.dataset.expires, now)
                element.textContent = countdown_text(left)
                element.dataset.warning = warning_level(left)
        for room_id, room in list(self.rooms().items()):
            level = warning_level(seconds_left(room["expires_at"], now))
            if level == "expired":
                self.warned.pop(room_id, None)
                await self.on_expired(room_id)
            elif level and self.warned.get(room_id) != level:
                self.warned[room_id] = level
                toast(warning_text(room["name"], level), seconds=8)
