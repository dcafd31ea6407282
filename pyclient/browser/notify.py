"""Telling the person what arrived: unread counts in the room list, the title
and the app badge, and system notifications while the tab is hidden.

A notification names the sender and the room, never the content: it is shown
by the operating system, outside the page, and may sit on a locked screen.
System notifications are off until the person turns them on in settings.
"""

from ..unread import Unread, title
from .dom import by_id, on
from .env import document, window
from .i18n import _

ENABLED_KEY = "sealroom.notifications"


class Notifier:
    def __init__(self, open_room, on_change):
        """``open_room(room_id)`` when a notification is clicked; ``on_change()`` after any count changes."""
        self.unread = Unread()
        self._open_room = open_room
        self._on_change = on_change
        self._shown = []  # notifications, kept so that their click handlers stay alive

    def bind(self) -> None:
        by_id("notify-toggle").checked = self.enabled()
        on("notify-toggle", "change", self.on_toggle)

    @staticmethod
    def supported() -> bool:
        return getattr(window, "Notification", None) is not None

    def enabled(self) -> bool:
        return (self.supported() and window.Notification.permission == "granted"
                and window.localStorage.getItem(ENABLED_KEY) == "1")

    async def on_toggle(self, event) -> None:
        wanted = bool(event.target.checked)
        if wanted and self.supported() and window.Notification.permission != "granted":
            await window.Notification.requestPermission()
        granted = self.supported() and window.Notification.permission == "granted"
        window.localStorage.setItem(ENABLED_KEY, "1" if wanted and granted else "0")
        by_id("notify-toggle").checked = wanted and granted
        status = by_id("notify-status")
        status.textContent = "" if granted or not wanted else _(
            "This browser blocks notifications for SealRoom. Allow them in the site settings to turn them on.")

    def arrived(self, room_id: str, seq: int, *, open_room: str | None, room_name: str, sender_name: str) -> None:
        """A message arrived: count it unless the person is looking at its room, and notify if hidden."""
        hidden = document.visibilityState == "hidden"
        if not self.unread.arrived(room_id, seq, looking=room_id == open_room and not hidden):
            return
        self.render()
        if hidden and self.enabled():
            self._notify(room_id, room_name, sender_name)

    def seen(self, room_id: str, seqs) -> None:
        for seq in seqs:
            self.unread.arrived(room_id, seq, looking=True)

    def read(self, room_id: str | None) -> None:
        if room_id is not None and self.unread.count(room_id):
            self.unread.read(room_id)
            self.render()

    def forget(self, room_id: str) -> None:
        self.unread.forget(room_id)
        self.render()

    def render(self) -> None:
        total = self.unread.total
        document.title = title(total)
        navigator = window.navigator
        if getattr(navigator, "setAppBadge", None) is not None:  # Badging API, where the platform has one
            if total:
                navigator.setAppBadge(total)
            else:
                navigator.clearAppBadge()
        self._on_change()

    def _notify(self, room_id: str, room_name: str, sender_name: str) -> None:
        options = window.Object.fromEntries(window.Array.of(
            window.Array.of("body", _("From {name}", name=sender_name)), window.Array.of("tag", room_id)))
        notification = window.Notification.new(_("New message in {room}", room=room_name), options)
        self._shown = [*self._shown[-20:], notification]

        async def clicked(_event):
            window.focus()
            notification.close()
            await self._open_room(room_id)

        on(notification, "click", clicked)
