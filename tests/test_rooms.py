"""The room list's state (pyclient.rooms), without a browser."""

from pyclient.rooms import RoomList


def room(room_id, name, created, last=None):
    data = {"id": room_id, "name": name, "created_at": f"2026-03-0{created}T10:00:00+00:00",
            "expires_at": f"2026-03-{created + 7:02d}T10:00:00+00:00"}
    if last:
        data["last_message_at"] = last
    return data


def test_the_room_with_the_latest_activity_comes_first():
    rooms = RoomList()
    rooms.replace([room("a", "Alpha", 1), room("b", "Beta", 2), room("c", "Gamma", 3, last="2026-03-04T08:00:00+00:00")])
    assert rooms.ordered_ids() == ["c", "b", "a"]
    assert rooms.touch("a", "2026-03-05T09:00:00.123456+00:00")  # a message arrived in Alpha
    assert rooms.ordered_ids() == ["a", "c", "b"]
    assert not rooms.touch("a", "2026-03-05T09:00:00+00:00")  # an older message changes nothing
    assert not rooms.touch("gone", "2026-03-09T09:00:00+00:00")
    assert rooms.last_activity("a") == "2026-03-05T09:00:00.123456+00:00"


def test_rooms_created_at_the_same_time_are_ordered_by_name():
    rooms = RoomList()
    rooms.replace([room("z", "zeta", 1), room("y", "Alpha", 1)])
    assert [row.name for row in rooms.rows(lambda _room_id: 0)] == ["Alpha", "zeta"]


def test_rows_carry_name_unread_count_countdown_and_the_open_room():
    rooms = RoomList()
    rooms.replace([room("a", "Alpha", 1), room("b", "Beta", 2)])
    rooms.open("a", [{"id": "u1", "username": "lan", "public_key": "S0VZ"}], lambda member: member["username"])
    rows = rooms.rows(lambda room_id: {"b": 3}.get(room_id, 0))
    assert [(row.id, row.unread, row.active) for row in rows] == [("b", 3, False), ("a", 0, True)]
    assert rows[0].expires_at == "2026-03-09T10:00:00+00:00"
    assert rooms.people == {"u1": "lan"} and rooms.recipients() == {"u1": "S0VZ"}


def test_a_room_that_is_dropped_closes_if_it_was_open_and_keeps_no_activity():
    rooms = RoomList()
    rooms.replace([room("a", "Alpha", 1)])
    rooms.open("a", [{"id": "u1", "username": "lan", "public_key": None}], lambda member: member["username"])
    rooms.touch("a", "2026-03-05T09:00:00+00:00")
    assert rooms.recipients() == {}  # a member without a key cannot receive
    assert rooms.pop("a")["name"] == "Alpha"
    assert rooms.open_id is None and rooms.members == {} and not rooms
    assert rooms.pop("a") is None and rooms.name("a") == "…"


def test_a_renamed_room_keeps_no_member_list_in_the_room_list():
    rooms = RoomList()
    rooms.put({**room("a", "Alpha", 1), "members": [{"id": "u1"}]})
    rooms.put({**room("a", "Renamed", 1), "members": [{"id": "u1"}]})
    assert rooms.name("a") == "Renamed" and "members" not in rooms.get("a") and len(rooms) == 1
