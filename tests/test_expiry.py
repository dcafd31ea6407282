"""Seven-day expiry: unreachable from the instant it passes, then deleted.

Tests move an injected clock instead of sleeping.
"""

import asyncio
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server import app_keys, jobs
from server.app import create_app
from server.blobs import BlobNotFound, LocalBlobStore
from server.config import Config, ConfigError
from server.db import make_engine, make_sessionmaker, migrate
from server.domain import expiry, rooms
from server.domain.errors import NotFound
from server.models import Blob, Envelope, Invite, Member, Room, Upload, UploadPart, User
from tests.helpers import signed
from tests.retention import WEEK, Clock, scan, seed_room, start_upload_with_part, store_blob, ws_reply
from tests.retention import clock_fixture, clocked_app_server  # noqa: F401 (fixtures clock, app_server)


@pytest.fixture
def config(tmp_path) -> Config:
    # Sessions outlive the jump in time, so that 404s come from expiry, not from sign-out.
    return Config(data_dir=tmp_path / "data", session_idle_seconds=30 * 86400, session_absolute_seconds=30 * 86400)


async def _count(app, model, *where) -> int:
    async with app[app_keys.sessionmaker]() as db:
        return await db.scalar(select(func.count()).select_from(model).where(*where))


# ---- domain: no sockets, in-memory SQLite ---------------------------------

@pytest.fixture
async def sessionmaker():
    engine = make_engine("sqlite+aiosqlite://")
    await migrate(engine)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _room(db, room_id: str, created_at: datetime, member: User) -> Room:
    room = Room(id=room_id, name=room_id, created_by=member.id, created_at=created_at, expires_at=created_at + WEEK)
    db.add(room)
    await db.flush()  # no ORM relationship orders these inserts
    db.add(Member(room_id=room_id, user_id=member.id, joined_at=created_at))
    db.add(Envelope(room_id=room_id, message_id="m" * 32, sender_id=member.id, body="{}", created_at=created_at))
    return room


async def test_sweep_deletes_only_expired_rooms_in_batches(sessionmaker, tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    async with sessionmaker() as db, db.begin():
        user = User(id="u" * 32, username="alice", username_key="alice", password_hash="x", created_at=start)
        db.add(user)
        await db.flush()
        for index in range(5):
            await _room(db, f"{index:032x}", start, user)
        await _room(db, "f" * 32, start + timedelta(days=2), user)  # younger: survives
    events = []

    async def notify(user_ids, frame):
        events.append((user_ids, frame))

    report = await jobs.sweep_expired(sessionmaker, store, now=start + WEEK + timedelta(seconds=1),
                                      notify=notify, batch_size=2)
    assert sorted(report.rooms) == [f"{index:032x}" for index in range(5)]
    assert [frame["type"] for _, frame in events] == ["room_expired"] * 5
    assert all(user_ids == ["u" * 32] for user_ids, _ in events)
    async with sessionmaker() as db:
        assert list(await db.scalars(select(Room.id))) == ["f" * 32]
        assert await db.scalar(select(func.count()).select_from(Envelope)) == 1
        assert await db.scalar(select(func.count()).select_from(Member)) == 1


async def test_room_is_unreachable_at_the_instant_it_expires(sessionmaker):
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    async with sessionmaker() as db, db.begin():
        user = User(id="u" * 32, username="alice", username_key="alice", password_hash="x", created_at=start)
        db.add(user)
        await db.flush()
        room = await _room(db, "a" * 32, start, user)
    async with sessionmaker() as db:
        assert await rooms.get_room_for_member(db, room.id, user.id, now=room.expires_at - timedelta(microseconds=1))
        with pytest.raises(NotFound):
            await rooms.get_room_for_member(db, room.id, user.id, now=room.expires_at)
        assert await rooms.list_rooms(db, user.id, now=room.expires_at) == []
        assert await expiry.expired_room_ids(db, now=room.expires_at, limit=10) == [room.id]


def test_backups_may_not_outlive_the_room_retention():
    with pytest.raises(ConfigError, match="must not be longer than the room retention"):
        Config(room_retention_seconds=3600, backup_keep_seconds=7200)
    with pytest.raises(ConfigError, match="SEALROOM_SWEEP_INTERVAL_SECONDS"):
        Config.from_env({"SEALROOM_SWEEP_INTERVAL_SECONDS": "0"})
    assert Config(room_retention_seconds=3600).effective_backup_keep_seconds == 3600


# ---- through HTTP and the WebSocket ---------------------------------------

async def test_expired_room_is_gone_from_api_websocket_store_and_disk(client, new_client, app_server, clock, config):
    bob_client = await new_client()
    seeded = await seed_room(client, bob_client)
    app = app_server.app
    store = app[app_keys.blob_store]
    room = f"/api/rooms/{seeded.room_id}"
    assert (await bob_client.get(room)).status == 200
    assert (await seeded.alice.post(f"{room}/invites", {})).status == 201
    for needle in seeded.sentinels():
        assert scan(config.data_dir, needle), "the scan must see the ciphertext while the room lives"
    bob_ws = await bob_client.ws_connect("/ws")
    assert json.loads((await bob_ws.receive()).data)["type"] == "hello"
    alice_ws = await client.ws_connect("/ws")
    await alice_ws.receive()

    clock.advance(WEEK + timedelta(seconds=1))

    # Gone at once, before any sweep ran.
    for path in (room, f"{room}/messages"):
        response = await bob_client.get(path)
        assert response.status == 404, path
        assert "expired" in (await response.json())["error"]["message"]
    assert (await (await bob_client.get("/api/rooms")).json())["rooms"] == []
    response = await seeded.alice.post(f"{room}/members", {"username": "bob"})
    assert response.status == 404
    envelope = await seeded.alice.envelope(seeded.room_id, {seeded.alice.id: seeded.alice.public_key,
                                                            seeded.bob.id: seeded.bob.public_key})
    await alice_ws.send_str(json.dumps({"type": "send", "ref": "late", "room": seeded.room_id, "envelope": envelope}))
    reply = await ws_reply(alice_ws)
    assert reply["type"] == "error" and reply["error"] == "not_found"

    # The sweep deletes it and tells the members.
    report = await jobs.sweep_now(app)
    assert report.rooms == [seeded.room_id] and report.blobs_deleted == 1
    frame = await ws_reply(bob_ws, types=("room_expired",))
    assert frame == {"type": "room_expired", "room": seeded.room_id}
    with pytest.raises(BlobNotFound):
        await store.size(seeded.blob_id)
    for model in (Room, Envelope, Member, Blob, Invite):
        assert await _count(app, model) == 0, model
    assert await _count(app, User) == 2  # accounts outlive rooms

    # While the server still runs: nothing in the database, its WAL, or the blob directory.
    for needle in seeded.sentinels():
        assert scan(config.data_dir, needle) == [], needle[:20]
    await alice_ws.close()
    await bob_ws.close()
    await app_server.close()
    for needle in seeded.sentinels():
        assert scan(config.data_dir, needle) == [], needle[:20]


async def test_queued_frames_of_an_expired_room_are_not_delivered(client, new_client, app_server, clock):
    bob_client = await new_client()
    seeded = await seed_room(client, bob_client)
    bob_ws = await bob_client.ws_connect("/ws")
    await bob_ws.receive()
    expired = (clock() - timedelta(seconds=1)).isoformat()
    bus = app_server.app[app_keys.bus]
    # As if a message had been queued just before the room expired.
    await bus.publish([seeded.bob.id], {"type": "message", "room": seeded.room_id, "seq": 99,
                                        "expires_at": expired, "envelope": seeded.envelope})
    await bus.publish([seeded.bob.id], {"type": "room", "room": {"id": seeded.room_id, "expires_at": expired}})
    await bob_ws.send_str(json.dumps({"type": "ping"}))
    frame = json.loads((await bob_ws.receive(timeout=5)).data)
    assert frame["type"] == "pong"


async def test_background_sweeper_deletes_expired_rooms_without_being_asked(aiohttp_server, aiohttp_client, config):
    clock = Clock()
    app = create_app(replace(config, sweep_interval_seconds=1))
    app[app_keys.clock] = clock
    server = await aiohttp_server(app)
    seeded = await seed_room(await aiohttp_client(server), await aiohttp_client(server))
    clock.advance(WEEK)
    for _ in range(100):  # bounded: the sweeper runs every second
        if await _count(app, Room) == 0:
            break
        await asyncio.sleep(0.1)
    assert await _count(app, Room) == 0
    with pytest.raises(BlobNotFound):
        await app[app_keys.blob_store].size(seeded.blob_id)


async def test_rooms_that_expired_while_the_server_was_down_are_swept_at_start(aiohttp_server, aiohttp_client, config):
    first = await aiohttp_server(create_app(config))
    seeded = await seed_room(await aiohttp_client(first), await aiohttp_client(first))
    await first.close()
    clock = Clock()
    clock.advance(WEEK)
    app = create_app(config)
    app[app_keys.clock] = clock
    await aiohttp_server(app)
    assert await _count(app, Room) == 0  # before any request, before the first interval
    with pytest.raises(BlobNotFound):
        await app[app_keys.blob_store].size(seeded.blob_id)


async def test_orphan_sweep_removes_unreferenced_blobs_after_the_grace_period(client, new_client, app_server, clock):
    seeded = await seed_room(client, await new_client())
    app = app_server.app
    store = app[app_keys.blob_store]
    orphan_id = "0" * 32

    async def chunks():
        yield b"left behind by a crashed upload"

    await store.put(orphan_id, chunks(), max_bytes=100)
    assert await jobs.orphan_sweep_now(app) == 0  # too young: it may be an upload in flight
    clock.advance(timedelta(hours=2))
    assert await jobs.orphan_sweep_now(app) == 1
    with pytest.raises(BlobNotFound):
        await store.size(orphan_id)
    assert await store.size(seeded.blob_id) == len(seeded.blob)  # referenced: kept


async def test_purge_rooms_deletes_a_live_room_and_its_blobs(client, new_client, app_server):
    seeded = await seed_room(client, await new_client())
    app = app_server.app
    other_blob, _ = await store_blob(app, seeded.room_id, seeded.alice.id)
    report = await jobs.purge_rooms(app[app_keys.sessionmaker], app[app_keys.blob_store], [seeded.room_id])
    assert report.blobs_deleted == 2
    assert (await client.get(f"/api/rooms/{seeded.room_id}")).status == 404
    for blob_id in (seeded.blob_id, other_blob):
        with pytest.raises(BlobNotFound):
            await app[app_keys.blob_store].size(blob_id)


async def test_expiry_also_deletes_uploads_in_progress_and_their_parts(client, new_client, app_server, clock):
    seeded = await seed_room(client, await new_client())
    app = app_server.app
    part = await start_upload_with_part(app, seeded.room_id, seeded.alice.id, started=clock())
    clock.advance(WEEK)
    report = await jobs.sweep_now(app)
    assert report.blobs_deleted == 2
    with pytest.raises(BlobNotFound):
        await app[app_keys.blob_store].size(part)
    assert await _count(app, Upload) == 0 and await _count(app, UploadPart) == 0


async def test_orphan_sweep_keeps_live_upload_parts_and_drops_abandoned_ones(client, new_client, app_server, clock):
    seeded = await seed_room(client, await new_client())
    app = app_server.app
    store = app[app_keys.blob_store]
    live = await start_upload_with_part(app, seeded.room_id, seeded.alice.id, started=clock())
    clock.advance(timedelta(minutes=30))  # the upload may still go on
    assert await jobs.orphan_sweep_now(app) == 0
    await jobs.sweep_now(app)
    assert await store.size(live) > 0
    clock.advance(timedelta(minutes=31))  # no part for over an hour: abandoned
    await jobs.sweep_now(app)  # every expiry sweep drops abandoned uploads
    with pytest.raises(BlobNotFound):
        await store.size(live)
    assert await _count(app, Upload) == 0
    assert await store.size(seeded.blob_id) == len(seeded.blob)


async def test_blob_download_and_upload_are_refused_once_the_room_expires(client, new_client, app_server, clock):
    seeded = await seed_room(client, await new_client())

    async def as_bob(method, path, body=b""):
        return await signed(seeded.bob, method, path, body, created=int(clock().timestamp()))

    assert (await as_bob("GET", f"/api/blobs/{seeded.blob_id}")).status == 200
    clock.advance(WEEK)
    response = await as_bob("GET", f"/api/blobs/{seeded.blob_id}")
    assert response.status == 404 and "expired" in (await response.json())["error"]["message"]
    response = await as_bob("POST", f"/api/rooms/{seeded.room_id}/uploads", b'{"size": 5}')
    assert response.status == 404


async def test_expired_room_leaves_the_search_index(client, new_client, app_server, clock):
    seeded = await seed_room(client, await new_client(), name="Quarterly plans")
    updater = app_server.app[app_keys.search]
    before = clock()

    async def room_names(now):
        await updater.flush()
        results = updater.index.search("quarterly", user_id=seeded.alice.id, co_member_ids={seeded.bob.id}, now=now)
        return [hit.to_json()["name"] for hit in results.rooms]

    assert await room_names(before) == ["Quarterly plans"]
    response = await client.get("/api/search", params={"q": "quarterly"})
    assert [room["name"] for room in (await response.json())["rooms"]] == ["Quarterly plans"]
    clock.advance(WEEK)
    response = await client.get("/api/search", params={"q": "quarterly"})
    assert (await response.json())["rooms"] == []  # filtered at once, before any sweep
    await jobs.sweep_now(app_server.app)
    assert await room_names(before) == []  # and then removed from the index itself
