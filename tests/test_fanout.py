"""The fan-out path: a message stored once, serialised once, and written as
the same bytes to every member's sockets, in the order it was stored, with
each socket's queue bounded. (Load figures: bench/bench_fanout.py.)"""

import asyncio
import json

import pytest
from aiohttp import WSMsgType

from server.bus import Bus, Subscription
from server.domain import rooms
from server.domain.errors import NotFound
from tests.helpers import register
from tests.test_domain import START, WEEK, db, person  # noqa: F401 (db is a fixture)


async def _frames(ws, kind: str, count: int) -> list[str]:
    """The next ``count`` frames of type ``kind``, as the text that arrived."""
    found = []
    while len(found) < count:
        message = await ws.receive(timeout=10)
        assert message.type == WSMsgType.TEXT, message
        if json.loads(message.data)["type"] == kind:
            found.append(message.data)
    return found


async def _room_of_three(new_client):
    clients = [await new_client() for _ in range(3)]
    people = [await register(client, name, index) for index, (client, name)
              in enumerate(zip(clients, ("alice", "bob", "carol")))]
    response = await people[0].post("/api/rooms", {"name": "Busy", "members": ["bob", "carol"]})
    return people, (await response.json())["room"]["id"]


async def _socket(person):
    ws = await person.client.ws_connect("/ws")
    await _frames(ws, "hello", 1)
    return ws


async def test_a_message_reaches_every_members_sockets_as_the_same_bytes(new_client):
    people, room = await _room_of_three(new_client)
    sockets = [await _socket(person) for person in people for _ in range(2)]  # two devices each
    members = {person.id: person.public_key for person in people}
    envelope = await people[0].envelope(room, members)
    await sockets[0].send_str(json.dumps({"type": "send", "ref": "r", "room": room, "envelope": envelope}))
    received = [(await _frames(ws, "message", 1))[0] for ws in sockets]
    assert len(set(received)) == 1
    frame = json.loads(received[0])
    assert frame["envelope"] == envelope and frame["room"] == room and frame["seq"] >= 1


async def test_concurrent_senders_reach_everyone_in_sequence_order(new_client):
    people, room = await _room_of_three(new_client)
    sockets = [await _socket(person) for person in people]
    members = {person.id: person.public_key for person in people}
    count = 8
    envelopes = [[await sender.envelope(room, members, f"{sender.username} {n}") for n in range(count)]
                 for sender in people[:2]]
    # Alice and Bob send all at once, without waiting for their answers.
    await asyncio.gather(*(sockets[index].send_str(json.dumps(
        {"type": "send", "ref": envelope["id"], "room": room, "envelope": envelope}))
        for index in (0, 1) for envelope in envelopes[index]))
    seen = [[json.loads(frame)["seq"] for frame in await _frames(ws, "message", 2 * count)] for ws in sockets]
    assert seen[0] == sorted(set(seen[0])) and len(seen[0]) == 2 * count
    assert seen[1] == seen[0] and seen[2] == seen[0]
    history = await (await people[2].client.get(f"/api/rooms/{room}/messages")).json()
    assert [message["seq"] for message in history["messages"]] == seen[0]


async def test_room_for_sending_answers_a_stranger_as_it_answers_a_missing_or_expired_room(db):  # noqa: F811
    alice, bob, mallory = await person(db, "alice"), await person(db, "bob", 1), await person(db, "mallory", 2)
    room = await rooms.create_room(db, creator=alice, name="Plans", member_names=["bob"], now=START,
                                   retention=WEEK, max_members=10)
    found, members = await rooms.room_for_sending(db, room.id, bob.id, now=START + WEEK / 2)
    assert (found.id, found.expires_at) == (room.id, room.expires_at)
    assert sorted(members) == sorted([(alice.id, alice.public_key), (bob.id, bob.public_key)])
    refusals = []
    for room_id, user_id, now in ((room.id, mallory.id, START), ("0" * 32, bob.id, START),
                                  (room.id, bob.id, START + WEEK)):
        with pytest.raises(NotFound) as refused:
            await rooms.room_for_sending(db, room_id, user_id, now=now)
        refusals.append(str(refused.value))
    assert len(set(refusals)) == 1


async def test_a_socket_queue_is_bounded_in_frames_and_bytes_and_frees_its_backlog_when_full():
    by_count = Subscription("u", backlog=3, backlog_bytes=1000)
    for n in range(3):
        by_count.put(b"x" * 10)
    assert not by_count.overflowed and by_count.queued_bytes == 30
    by_count.put(b"x")
    assert by_count.overflowed and by_count.overflow.is_set()
    assert not by_count.frames and by_count.queued_bytes == 0
    by_count.put(b"y")  # a closed socket is fed nothing more
    assert not by_count.frames

    by_bytes = Subscription("u", backlog=100, backlog_bytes=25)
    by_bytes.put(b"x" * 20)
    by_bytes.put(b"x" * 10)
    assert by_bytes.overflowed


async def test_a_waiting_writer_is_woken_once_and_takes_frames_in_order():
    bus = Bus()
    subscription = bus.subscribe("u")
    writer = asyncio.ensure_future(subscription.wait())
    await asyncio.sleep(0)
    assert not writer.done()
    for seq in range(3):
        bus.deliver(["u"], {"type": "message", "seq": seq})
    await writer
    assert [json.loads(subscription.pop()[0])["seq"] for _ in range(3)] == [0, 1, 2]
    assert subscription.queued_bytes == 0
    bus.unsubscribe(subscription)
    bus.deliver(["u"], {"type": "message", "seq": 3})
    assert not subscription.frames


async def test_the_bus_drops_frames_about_a_room_that_has_expired():
    bus = Bus()
    bus.clock = lambda: START
    subscription = bus.subscribe("u")
    bus.deliver(["u"], {"type": "message", "seq": 1, "expires_at": START.isoformat()})
    bus.deliver(["u"], {"type": "room", "room": {"id": "r", "expires_at": START.isoformat()}})
    assert not subscription.frames
    bus.deliver(["u"], {"type": "message", "seq": 2, "expires_at": (START + WEEK).isoformat()})
    assert len(subscription.frames) == 1
