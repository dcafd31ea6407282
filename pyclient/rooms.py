"""The rooms this person is in, as the room list shows them. Pure (no ``js``).

A room is the server's dict (``id``, ``name``, ``created_at``, ``expires_at``,
optionally ``last_message_at``). The list puts the room with the latest
activity first, as chat apps do: the newest message seen in it (from the
server's list, or arriving on this page), else its creation.
"""

from dataclasses import dataclass
from datetime import datetime


def _time(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


@dataclass(frozen=True)
class Row:
    """One line of the room list."""
    id: str
    name: str
    last_activity: str  # ISO 8601
    expires_at: str     # ISO 8601, for the countdown
    unread: int
    active: bool        # the open room


class RoomList:
    def __init__(self) -> None:
        self.rooms: dict[str, dict] = {}
        self.open_id: str | None = None  # the room shown in the conversation pane
        self.members: dict[str, dict] = {}  # the open room's members by user id
        self.people: dict[str, str] = {}  # user id -> name, for every member seen (notifications)
        self._activity: dict[str, str] = {}  # room id -> ISO time of the newest message seen on this page

    def __contains__(self, room_id) -> bool:
        return room_id in self.rooms

    def __bool__(self) -> bool:
        return bool(self.rooms)

    def __len__(self) -> int:
        return len(self.rooms)

    def get(self, room_id: str) -> dict | None:
        return self.rooms.get(room_id)

    def name(self, room_id: str, unknown: str = "…") -> str:
        return self.rooms.get(room_id, {}).get("name", unknown)

    def replace(self, rooms: list[dict]) -> None:
        """The server's list: the rooms this person is in now."""
        self.rooms = {room["id"]: room for room in rooms}
        self._activity = {room_id: when for room_id, when in self._activity.items() if room_id in self.rooms}

    def put(self, room: dict) -> None:
        """A room created, joined, renamed or refreshed (its members are not kept here)."""
        self.rooms[room["id"]] = {key: value for key, value in room.items() if key != "members"}

    def pop(self, room_id: str) -> dict | None:
        """Drop a room (expired, deleted, left); if it was open, nothing is open any more."""
        self._activity.pop(room_id, None)
        if self.open_id == room_id:
            self.close()
        return self.rooms.pop(room_id, None)

    def open(self, room_id: str, members: list[dict], name_of) -> None:
        """``room_id`` is shown, with these members; ``name_of(member)`` names a person."""
        self.open_id = room_id
        self.members = {member["id"]: member for member in members}
        self.people.update({member["id"]: name_of(member) for member in members})

    def close(self) -> None:
        self.open_id, self.members = None, {}

    def touch(self, room_id: str, when: str) -> bool:
        """A message from ``when`` is in the room; True if that is the room's latest activity now."""
        if room_id not in self.rooms or _time(when) <= _time(self.last_activity(room_id)):
            return False
        self._activity[room_id] = when
        return True

    def last_activity(self, room_id: str) -> str:
        room = self.rooms[room_id]
        times = [room["created_at"], room.get("last_message_at"), self._activity.get(room_id)]
        return max((when for when in times if when), key=_time)

    def ordered_ids(self) -> list[str]:
        """Latest activity first; rooms with the same time by name, so the order is stable."""
        return sorted(self.rooms, key=lambda room_id: (-_time(self.last_activity(room_id)).timestamp(),
                                                       self.rooms[room_id]["name"].casefold(), room_id))

    def rows(self, unread) -> list[Row]:
        """The list's lines, in order; ``unread(room_id)`` is the room's unread count."""
        return [Row(room_id, self.rooms[room_id]["name"], self.last_activity(room_id),
                    self.rooms[room_id]["expires_at"], unread(room_id), room_id == self.open_id)
                for room_id in self.ordered_ids()]

    def recipients(self) -> dict[str, str]:
        """The open room's members who can receive: user id -> base64 SPKI."""
        return {user_id: member["public_key"] for user_id, member in self.members.items() if member["public_key"]}
