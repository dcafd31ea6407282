"""Unread counts per room: what arrived while the person was not looking. Pure."""


class Unread:
    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._seen: dict[str, int] = {}  # room -> highest seq counted or read

    def arrived(self, room_id: str, seq: int, *, looking: bool) -> bool:
        """Record a message; True if it counts as unread (each seq counts once)."""
        if seq <= self._seen.get(room_id, 0):
            return False
        self._seen[room_id] = seq
        if looking:
            return False
        self._counts[room_id] = self._counts.get(room_id, 0) + 1
        return True

    def read(self, room_id: str) -> None:
        self._counts.pop(room_id, None)

    def forget(self, room_id: str) -> None:
        self._counts.pop(room_id, None)
        self._seen.pop(room_id, None)

    def count(self, room_id: str) -> int:
        return self._counts.get(room_id, 0)

    @property
    def total(self) -> int:
        return sum(self._counts.values())


def title(total: int, base: str = "SealRoom") -> str:
    """The document title: ``(3) SealRoom`` while anything is unread."""
    return f"({total}) {base}" if total else base


def is_news(sender: str | None, me: str) -> bool:
    """Whether a message raises a notice (unread count, toast, system notification).

    What this person wrote on another device is no news to them. ``sender`` is
    who the envelope claims, before any check: a notice shows no content, and a
    forged claim can at most hide one notice from its victim.
    """
    return sender != me


def toasts(room_id: str, open_room: str | None) -> bool:
    """A message in a room other than the open one is also announced in a toast."""
    return room_id != open_room
