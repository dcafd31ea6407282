"""Scale-out mode for real: two server instances on one PostgreSQL database,
with events crossing between them through Redis pub/sub."""

import asyncio
import json
import secrets

import asyncpg
import pytest

from server.app import create_app
from server.config import Config
from tests.helpers import register

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def pg_url():
    name = f"sealroom_test_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def two_servers(pg_url, aiohttp_server, tmp_path):  # pg_url first: the database outlives the servers
    # Many sign-ups from 127.0.0.1 in one shared Redis: the attempt limit is tested elsewhere.
    config = Config(data_dir=tmp_path / "data", database_url=pg_url, redis_url=REDIS_URL, auth_attempts=10_000)
    first = await aiohttp_server(create_app(config))
    second = await aiohttp_server(create_app(config))
    return first, second


async def _next_frame(ws, kind: str) -> dict:
    while True:
        frame = json.loads((await ws.receive(timeout=10)).data)
        if frame["type"] == kind:
            return frame


async def test_message_sent_on_one_process_reaches_a_member_on_another(two_servers, aiohttp_client):
    first, second = two_servers
    alice_client, bob_client = await aiohttp_client(first), await aiohttp_client(second)
    alice = await register(alice_client, "alice", 0)
    bob = await register(bob_client, "bob", 1)
    bob_ws = await bob_client.ws_connect("/ws")
    await _next_frame(bob_ws, "hello")

    room = (await (await alice.post("/api/rooms", {"name": "Across", "members": ["bob"]})).json())["room"]
    assert (await _next_frame(bob_ws, "room"))["room"]["id"] == room["id"]

    alice_ws = await alice_client.ws_connect("/ws")
    await _next_frame(alice_ws, "hello")
    envelope = await alice.envelope(room["id"], {alice.id: alice.public_key, bob.id: bob.public_key})
    await alice_ws.send_str(json.dumps({"type": "send", "ref": "x", "room": room["id"], "envelope": envelope}))
    assert (await _next_frame(alice_ws, "sent"))["ref"] == "x"
    delivered = await _next_frame(bob_ws, "message")
    assert delivered["envelope"] == envelope

    history = await (await bob_client.get(f"/api/rooms/{room['id']}/messages")).json()
    assert [m["envelope"] for m in history["messages"]] == [envelope]


async def test_session_from_one_process_is_valid_on_the_other(two_servers, aiohttp_client):
    first, second = two_servers
    client = await aiohttp_client(first)
    await register(client, "carol", None)
    other = await aiohttp_client(second)
    other.session.cookie_jar.update_cookies(
        {"sealroom_session": client.session.cookie_jar.filter_cookies(client.make_url("/"))["sealroom_session"].value})
    response = await other.get("/api/me")
    assert response.status == 200
    assert (await response.json())["user"]["username"] == "carol"


async def test_rate_limit_is_shared_across_processes(two_servers):
    from server import app_keys

    first, second = two_servers
    key = f"test:{secrets.token_hex(4)}"
    limiters = [first.app[app_keys.rate_limiter], second.app[app_keys.rate_limiter]]
    waits = [await limiters[i % 2].hit(key, 3, 60, now=1_000_000.0) for i in range(5)]
    assert waits[:3] == [0, 0, 0] and all(wait > 0 for wait in waits[3:])


async def test_room_created_on_one_process_is_searchable_on_the_other(two_servers, aiohttp_client):
    from server import app_keys

    first, second = two_servers
    alice_client = await aiohttp_client(first)
    alice = await register(alice_client, "alice", 0)
    await alice.post("/api/rooms", {"name": "Phòng Họp Nguyễn"})
    other = await aiohttp_client(second)
    other.session.cookie_jar.update_cookies(
        {"sealroom_session": alice_client.session.cookie_jar.filter_cookies(alice_client.make_url("/"))["sealroom_session"].value})
    for _ in range(50):
        await second.app[app_keys.search].flush()
        found = (await (await other.get("/api/search", params={"q": "nguyen"})).json())["rooms"]
        if found:
            break
        await asyncio.sleep(0.1)
    assert [room["name"] for room in found] == ["Phòng Họp Nguyễn"]


async def test_admin_purge_reaches_connected_members_through_redis(aiohttp_server, aiohttp_client, tmp_path,
                                                                   monkeypatch):
    from server.admin import main as admin_main

    config = Config(data_dir=tmp_path / "data", redis_url=REDIS_URL, auth_attempts=10_000)
    server = await aiohttp_server(create_app(config))
    client = await aiohttp_client(server)
    alice = await register(client, "alice", 0)
    room = (await (await alice.post("/api/rooms", {"name": "Doomed"})).json())["room"]
    ws = await client.ws_connect("/ws")
    await _next_frame(ws, "hello")
    monkeypatch.setenv("SEALROOM_DATA_DIR", str(config.data_dir))
    monkeypatch.setenv("SEALROOM_REDIS_URL", REDIS_URL)
    assert await asyncio.to_thread(admin_main, ["rooms", "purge", room["id"], "--yes"]) == 0
    assert (await _next_frame(ws, "room_expired"))["room"] == room["id"]


async def test_display_name_change_on_one_process_is_searchable_on_the_other(two_servers, aiohttp_client):
    from server import app_keys

    first, second = two_servers
    alice_client, bob_client = await aiohttp_client(first), await aiohttp_client(first)
    alice = await register(alice_client, "alice", 0)
    bob = await register(bob_client, "bob", 1)
    await alice.post("/api/rooms", {"name": "Đội", "members": ["bob"]})
    response = await bob_client.patch("/api/me", json={"display_name": "Đặng Đức Anh"}, headers=bob.headers())
    assert response.status == 200
    other = await aiohttp_client(second)
    other.session.cookie_jar.update_cookies(
        {"sealroom_session": alice_client.session.cookie_jar.filter_cookies(alice_client.make_url("/"))["sealroom_session"].value})
    for _ in range(50):  # until the event has crossed Redis to the second process
        await second.app[app_keys.search].flush()
        found = (await (await other.get("/api/search", params={"q": "ducanh"})).json())["users"]
        if found:
            break
        await asyncio.sleep(0.1)
    assert [(user["name"], user["display_name"]) for user in found] == [("bob", "Đặng Đức Anh")]
