"""Share links into a room: make one, share it (Web Share, or copy), and join
through one after signing in."""

import js

from .dom import by_id, on, qr_data_uri, show, toast
from .env import window
from .i18n import _
from .net import ApiError

PENDING_INVITE = "sealroom.invite"


def remember_invite_from_url() -> None:
    """Keep ``?invite=TOKEN`` across sign-in, then clean it from the address bar."""
    token = js.URLSearchParams.new(window.location.search).get("invite")
    if token:
        window.sessionStorage.setItem(PENDING_INVITE, token)
        window.history.replaceState(None, "", "/")


class Invites:
    def __init__(self, api, rooms, open_room):
        """``rooms``: the RoomList; ``open_room(room_id)``: show a room once joined."""
        self.api = api
        self.rooms = rooms
        self._open_room = open_room

    def bind(self) -> None:
        on("invite-create", "click", self.on_create)
        on("invite-share", "click", self.on_share)

    async def on_create(self, _event) -> None:
        try:
            invite = await self.api.call("POST", f"/api/rooms/{self.rooms.open_id}/invites", {})
        except ApiError as error:
            toast(error.message)
            return
        url = window.location.origin + invite["path"]
        by_id("invite-url").value = url
        by_id("invite-qr-code").src = qr_data_uri(url)
        show("invite-panel")
        toast(_("Anyone with this link can join the room for 48 hours. Share it privately."))

    async def on_share(self, _event) -> None:
        url = by_id("invite-url").value
        if getattr(window.navigator, "share", None) is not None:
            try:
                await window.navigator.share(js.Object.fromEntries([["title", "SealRoom"], ["url", url]]))
                return
            except Exception:
                pass  # cancelled, or not allowed here: fall back to copying
        try:
            await window.navigator.clipboard.writeText(url)
            toast(_("Link copied."))
        except Exception:
            by_id("invite-url").select()
            toast(_("Select the link and copy it."))

    async def accept_pending(self) -> None:
        token = window.sessionStorage.getItem(PENDING_INVITE)
        if not token:
            return
        window.sessionStorage.removeItem(PENDING_INVITE)
        try:
            room = (await self.api.call("POST", "/api/invites/accept", {"token": token}))["room"]
        except ApiError as error:
            toast(error.message)
            return
        self.rooms.put(room)
        toast(_("You joined “{name}”.", name=room["name"]))
        await self._open_room(room["id"])
