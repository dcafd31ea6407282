"""The room list and the new-room form (the rooms pane).

What the list holds and in which order is ``pyclient.rooms.RoomList`` (pure);
this draws it in one DOM call and handles picking and creating a room.
"""

from .dom import append_trees, avatar, by_id, clear, on, show, show_error, toast, tree
from .i18n import _
from .net import ApiError


class RoomListView:
    def __init__(self, rooms, api, dates, *, unread, countdown, open_room):
        """``rooms``: the RoomList; ``dates``: a Dates; ``unread(room_id)``: its count;
        ``countdown(expires_at)``: its text and warning level; ``open_room(room_id)``: show a room."""
        self.rooms = rooms
        self.api = api
        self.dates = dates
        self._unread = unread
        self._countdown = countdown
        self._open_room = open_room

    def bind(self) -> None:
        on("room-list", "click", self.on_room_chosen)
        on("new-room-form", "submit", self.on_new_room)

    def render(self) -> None:
        room_list = by_id("room-list")
        clear(room_list)
        append_trees(room_list, [self._row(row) for row in self.rooms.rows(self._unread)])
        show("no-rooms", not self.rooms)

    def _row(self, row) -> list:
        text, level = self._countdown(row.expires_at)
        badge = tree("span", str(row.unread), cls="unread", aria_label=_("{count} unread", count=row.unread)) \
            if row.unread else None
        return tree("li", tree("button", avatar(row.name, row.id), tree("span", row.name, cls="room-label"),
                               tree("time", self.dates.activity(row.last_activity), cls="room-time",
                                    datetime=row.last_activity),
                               tree("span", text, cls="countdown", data_expires=row.expires_at, data_warning=level),
                               badge, cls="active" if row.active else None, type="button", data_room=row.id,
                               aria_current="true" if row.active else None))

    async def on_room_chosen(self, event) -> None:
        button = event.target.closest("[data-room]")
        if button is not None:
            await self._open_room(button.getAttribute("data-room"))

    async def on_new_room(self, _event) -> None:
        name = by_id("new-room-name").value
        members = [m.strip() for m in by_id("new-room-members").value.split(",") if m.strip()]
        try:
            room = (await self.api.call("POST", "/api/rooms", {"name": name, "members": members}))["room"]
        except ApiError as error:
            show_error("new-room-error", error.message)
            return
        show_error("new-room-error", None)
        show("new-room-form", False)
        by_id("new-room-toggle").setAttribute("aria-expanded", "false")
        by_id("new-room-name").value = ""
        by_id("new-room-members").value = ""
        self.rooms.put(room)
        toast(_("Room “{name}” created.", name=room["name"]))
        await self._open_room(room["id"])
