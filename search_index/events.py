"""Index update events: plain JSON-ready dicts, so a bus can carry them.

    {type: "search.user", id: USER_ID, username: STR, display_name: STR|null}
    {type: "search.room", id: ROOM_ID, name: STR, members: [USER_ID], expires_at: EPOCH_SECONDS}
    {type: "search.room_removed", id: ROOM_ID}
    {type: "search.user_removed", id: USER_ID}           the account was deleted

A room event holds the whole room, so it is an idempotent upsert.
"""

from datetime import datetime

USER, ROOM, ROOM_REMOVED = "search.user", "search.room", "search.room_removed"
USER_REMOVED = "search.user_removed"
_FIELDS = {
    USER: {"type", "id", "username", "display_name"},
    ROOM: {"type", "id", "name", "members", "expires_at"},
    ROOM_REMOVED: {"type", "id"},
    USER_REMOVED: {"type", "id"},
}


class EventError(ValueError):
    pass


def user_event(user_id: str, username: str, display_name: str | None = None) -> dict:
    return {"type": USER, "id": user_id, "username": username, "display_name": display_name}


def room_event(room_id: str, name: str, member_ids, expires_at: datetime) -> dict:
    return {"type": ROOM, "id": room_id, "name": name, "members": sorted(member_ids),
            "expires_at": expires_at.timestamp()}


def room_removed_event(room_id: str) -> dict:
    return {"type": ROOM_REMOVED, "id": room_id}


def user_removed_event(user_id: str) -> dict:
    return {"type": USER_REMOVED, "id": user_id}


def parse_event(event) -> dict:
    """Check an event's shape before it reaches the writer."""
    if not isinstance(event, dict) or event.get("type") not in _FIELDS:
        raise EventError(f"not a search event: {event!r:.80}")
    if set(event) != _FIELDS[event["type"]]:
        raise EventError(f"{event['type']} event has fields {sorted(event)}, expected {sorted(_FIELDS[event['type']])}")
    if not isinstance(event["id"], str) or not event["id"]:
        raise EventError(f"{event['type']} event without an id")
    if event["type"] == USER:
        if not isinstance(event["username"], str) or not isinstance(event["display_name"], (str, type(None))):
            raise EventError("search.user needs a username and an optional display name")
    elif event["type"] == ROOM:
        if not isinstance(event["name"], str) or not isinstance(event["expires_at"], (int, float)):
            raise EventError("search.room needs a name and an expiry")
        if not isinstance(event["members"], list) or not all(isinstance(m, str) for m in event["members"]):
            raise EventError("search.room needs a list of member ids")
    return event
