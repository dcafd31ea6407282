"""The open room's header and its details drawer: name, expiry, rename, add member.

The members with their fingerprints, safety numbers and "Mark as verified"
are drawn by ``pyclient.browser.verify``; invite links by
``pyclient.browser.invites``.
"""

from .dom import avatar_look, by_id, on, set_text, show_error, toast
from .i18n import _
from .net import ApiError


COUNTDOWNS = ("room-countdown", "details-countdown")  # the header's and the drawer's


class RoomDetails:
    def __init__(self, rooms, api, dates, *, countdown, refresh_members, on_renamed):
        """``dates``: a Dates; ``countdown(expires_at)``: text and warning level; ``refresh_members()``:
        reload the open room's members; ``on_renamed()``: after the name changed (the room list follows)."""
        self.rooms = rooms
        self.api = api
        self.dates = dates
        self._countdown = countdown
        self._refresh_members = refresh_members
        self._on_renamed = on_renamed

    def bind(self) -> None:
        on("rename-form", "submit", self.on_rename)
        on("rename-panel", "toggle", self.on_rename_toggle)
        on("add-member-form", "submit", self.on_add_member)

    def show(self, room: dict) -> None:
        """The header and the drawer for ``room``."""
        set_text("room-name", room["name"])
        set_text("details-name", room["name"])
        by_id("rename-name").value = room["name"]
        letter, tone = avatar_look(room["name"], room["id"])
        picture = by_id("details-avatar")
        picture.textContent, picture.dataset.tone = letter, str(tone)
        set_text("room-expiry", _("This room and everything in it is deleted on {when}.",
                                  when=self.dates.full(room["expires_at"])))
        for countdown_id in COUNTDOWNS:  # kept up to date by pyclient.browser.expiry.Countdowns
            countdown = by_id(countdown_id)
            countdown.dataset.expires = room["expires_at"]
            countdown.textContent, countdown.dataset.warning = self._countdown(room["expires_at"])

    @staticmethod
    def clear() -> None:
        for countdown_id in COUNTDOWNS:
            countdown = by_id(countdown_id)
            countdown.removeAttribute("data-expires")
            countdown.textContent = ""

    async def on_rename_toggle(self, _event) -> None:
        if by_id("rename-panel").open:
            by_id("rename-name").focus()

    async def on_rename(self, _event) -> None:
        try:
            room = (await self.api.call("PATCH", f"/api/rooms/{self.rooms.open_id}",
                                        {"name": by_id("rename-name").value}))["room"]
        except ApiError as error:
            toast(error.message)
            return
        self.rooms.put(room)
        self.show(room)
        by_id("rename-panel").open = False
        self._on_renamed()
        toast(_("Room renamed to “{name}”.", name=room["name"]))

    async def on_add_member(self, _event) -> None:
        username = by_id("add-member-name").value.strip()
        try:
            await self.api.call("POST", f"/api/rooms/{self.rooms.open_id}/members", {"username": username})
        except ApiError as error:
            show_error("add-member-error", error.message)
            return
        show_error("add-member-error", None)
        by_id("add-member-name").value = ""
        toast(_("{name} was added.", name=username))
        await self._refresh_members()
