"""Room life in the details drawer (docs/protocol.md 8.2): leave a room, and
for its creator, remove a member or delete the room now.

Each action is one API call. The server then tells everyone with frames
(``room_removed`` to whoever loses the room, ``room`` with ``change`` to the
members who stay), which the page's frame handler turns into toasts; this
view also drops the room at once for the person who acted, in case their
socket is reconnecting.
"""

from .dom import by_id, make, on, set_text, show, toast
from .i18n import _
from .net import ApiError


class RoomLife:
    def __init__(self, api, me, room, members, remove_room, refresh_members):
        """``me()`` is the signed-in user, ``room()`` the open room or None, ``members()`` its members by id;
        ``remove_room(room_id, note)`` drops a room from the page; ``refresh_members()`` redraws the members."""
        self.api, self.me, self.room, self.members = api, me, room, members
        self.remove_room, self.refresh_members = remove_room, refresh_members
        self.drawn_room: str | None = None

    def bind(self) -> None:
        on("leave-confirm", "click", self.on_leave)
        on("delete-room-confirm", "click", self.on_delete)
        on("member-list", "click", self.on_member_click)

    def is_creator(self) -> bool:
        room = self.room()
        return room is not None and room.get("created_by") == self.me()["id"]

    def render(self) -> None:
        """After the member list is drawn: the creator's controls; confirmations start closed in each room."""
        room = self.room()
        if room is None:
            return
        creator = self.is_creator()
        if room["id"] != self.drawn_room:  # a member list redrawn by a change leaves an open confirmation open
            self.drawn_room = room["id"]
            by_id("leave-panel").open = False
            by_id("delete-room-panel").open = False
        show("delete-room-panel", creator)
        if creator:
            set_text("delete-room-text", _(
                "“{room}” and everything in it (messages, files, share links) is deleted now, for every member, "
                "as if it had expired. This cannot be undone.", room=room["name"]))
        if not creator:
            return
        by_username = {member["username"]: member for member in self.members().values()}
        for item in by_id("member-list").querySelectorAll("li.member"):
            member = by_username.get(item.getAttribute("data-user"))
            if member is None or member["id"] == self.me()["id"]:
                continue
            body = item.querySelector(".member-body")  # inside the member's unfolded row, under the safety number
            (body or item).appendChild(self._remove_control(member))

    @staticmethod
    def _remove_control(member: dict):
        """“Remove…” opens a confirmation that says what removal does."""
        details = make("details", cls="member-remove")
        details.appendChild(make("summary", _("Remove…")))
        details.appendChild(make("p", _("{name} loses the room and its history at once, and new messages are no longer "
                                        "encrypted to them. What they saved or copied before, they keep.",
                                        name=member["username"]), "hint"))
        details.appendChild(make("button", _("Remove {name}", name=member["username"]), "danger", type="button",
                                 data_remove=member["id"], data_name=member["username"]))
        return details

    async def on_member_click(self, event) -> None:
        button = event.target.closest("[data-remove]")
        if button is None:
            return
        room = self.room()
        name = button.getAttribute("data-name")
        button.disabled = True
        try:
            await self.api.call("DELETE", f"/api/rooms/{room['id']}/members/{button.getAttribute('data-remove')}")
        except ApiError as error:
            button.disabled = False
            toast(error.message)
            return
        toast(_("{name} was removed from “{room}”.", name=name, room=room["name"]))
        await self.refresh_members()

    async def on_leave(self, _event) -> None:
        await self._act("leave-confirm", "POST", "/leave", _("You left “{room}”."))

    async def on_delete(self, _event) -> None:
        await self._act("delete-room-confirm", "DELETE", "",
                        _("You deleted “{room}”, with everything in it, for every member."))

    async def _act(self, button_id: str, method: str, path: str, note: str) -> None:
        """Leave or delete the open room; then it goes from this page, with ``note`` (``{room}``: its name)."""
        room = self.room()
        if room is None:
            return
        button = by_id(button_id)
        button.disabled = True
        try:
            await self.api.call(method, f"/api/rooms/{room['id']}{path}", {} if method == "POST" else None)
        except ApiError as error:
            toast(error.message)
            return
        finally:
            button.disabled = False
        note = note.format(room=room["name"])
        await self.remove_room(room["id"], note)
        toast(note)  # the server's frame may have dropped the room first, with its own words
