"""Screens as URL fragments, so that history (and a phone's back gesture) moves
between them and ``#/room/ID`` is a deep link. Pure: no DOM, no I/O."""

import re

SCREENS = ("list", "room", "details", "settings")
_ROOM = re.compile(r"#/room/([0-9a-f]{1,64})(/details)?")


def parse(fragment: str) -> tuple[str, str | None]:
    """``(screen, room_id)`` for a fragment; anything unknown is the room list."""
    if fragment == "#/settings":
        return "settings", None
    match = _ROOM.fullmatch(fragment or "")
    if match:
        return ("details" if match.group(2) else "room"), match.group(1)
    return "list", None


def fragment(screen: str, room_id: str | None = None) -> str:
    if screen == "settings":
        return "#/settings"
    if screen in ("room", "details") and room_id:
        return f"#/room/{room_id}" + ("/details" if screen == "details" else "")
    return "#/"
