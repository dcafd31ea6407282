"""Scale-out mode for real: two server instances on one PostgreSQL database,
with events crossing between them through Redis pub/sub."""

import asyncio
import json
import secrets

import asyncpg
import pytest

from server.app import create_app
from server.config import Config
from tests.helpers import register, signed

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


def _shared_config(tmp_path, pg_url: str, **settings) -> Config:
    # Many sign-ups from 127.0.0.1: the attempt limit is tested elsewhere. A namespace of its
    # own in the shared Redis, so that other test runs' limits and sockets never count here.
    return Config(data_dir=tmp_path / "data", database_url=pg_url, redis_url=REDIS_URL, auth_attempts=10_000,
                  redis_namespace=f"sealroom-test-{secrets.token_hex(6)}", **settings)


@pytest.fixture
async def two_servers(pg_url, aiohttp_server, tmp_path):  # pg_url first: the database outlives the servers
    config = _shared_config(tmp_path, pg_url)
    first = await aiohttp_server(create_app(config))
    second = await aiohttp_server(create_app(config))
    return first, second


def _same_session(client, other) -> None:
    other.session.cookie_jar.update_cookies(
        {"sealroom_session": client.session.cookie_jar.filter_cookies(client.make_url("/"))["sealroom_session"].value})


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


async def test_rate_limits_are_shared_across_processes(pg_url, aiohttp_server, aiohttp_client, tmp_path):
    config = _shared_config(tmp_path, pg_url, rate_limits={"search": "0.001/3", "message": "0.001/2"})
    first, second = await aiohttp_server(create_app(config)), await aiohttp_server(create_app(config))
    client = await aiohttp_client(first)
    alice = await register(client, "alice", 0)
    other = await aiohttp_client(second)
    _same_session(client, other)
    statuses = [(await (client if n % 2 else other).get("/api/search", params={"q": "x"})).status for n in range(4)]
    assert statuses == [200, 200, 200, 429]

    room = (await (await alice.post("/api/rooms", {"name": "Shared"})).json())["room"]
    replies = []
    for n, server_client in enumerate((client, other, client)):
        ws = await server_client.ws_connect("/ws")
        await _next_frame(ws, "hello")
        envelope = await alice.envelope(room["id"], {alice.id: alice.public_key}, f"m{n}")
        await ws.send_str(json.dumps({"type": "send", "ref": f"r{n}", "room": room["id"], "envelope": envelope}))
        while (reply := json.loads((await ws.receive(timeout=10)).data))["type"] not in ("sent", "error"):
            pass
        replies.append(reply)
        await ws.close()
    assert [r["type"] for r in replies] == ["sent", "sent", "error"] and replies[2]["retry_after"] > 0


async def test_socket_cap_per_user_is_shared_across_processes(pg_url, aiohttp_server, aiohttp_client, tmp_path):
    config = _shared_config(tmp_path, pg_url, max_sockets_per_user=2)
    first, second = await aiohttp_server(create_app(config)), await aiohttp_server(create_app(config))
    client = await aiohttp_client(first)
    await register(client, "alice", None)
    other = await aiohttp_client(second)
    _same_session(client, other)
    held = [await client.ws_connect("/ws"), await other.ws_connect("/ws")]
    for ws in held:
        await _next_frame(ws, "hello")
    third = await other.ws_connect("/ws")
    assert json.loads((await third.receive(timeout=10)).data)["error"] == "too_many"
    await held[0].close()
    for _ in range(50):  # bounded: the release reaches Redis just after the close
        again = await other.ws_connect("/ws")
        frame = json.loads((await again.receive(timeout=10)).data)
        if frame["type"] == "hello":
            break
        await asyncio.sleep(0.1)
    assert frame["type"] == "hello"


async def test_signed_request_nonce_used_on_one_process_is_refused_on_the_other(two_servers, aiohttp_client):
    first, second = two_servers
    client = await aiohttp_client(first)
    alice = await register(client, "alice", 0)
    room = (await (await alice.post("/api/rooms", {"name": "Nonces"})).json())["room"]
    body = json.dumps({"size": 10}).encode()
    path = f"/api/rooms/{room['id']}/uploads"
    accepted = await signed(alice, "POST", path, body)
    assert accepted.status == 201
    other = await aiohttp_client(second)
    _same_session(client, other)
    headers = {name: accepted.request_info.headers[name] for name in ("Signature", "Signature-Input", "Content-Digest")}
    replay = await other.post(path, data=body, headers={**alice.headers(), **headers})
    assert replay.status == 401 and "already used" in (await replay.json())["error"]["message"]


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


async def test_killing_one_process_loses_no_message_and_its_clients_resync_on_the_other(pg_url, tmp_path):
    import signal

    import aiohttp
    from yarl import URL

    from tests.browser.conftest import start_server

    env = {"SEALROOM_DATABASE_URL": pg_url, "SEALROOM_REDIS_URL": REDIS_URL, "SEALROOM_AUTH_ATTEMPTS": "10000",
           "SEALROOM_RATE_MESSAGE": "off", "SEALROOM_REDIS_NAMESPACE": f"sealroom-test-{secrets.token_hex(6)}"}
    doomed = start_server(tmp_path / "shared", tmp_path / "a.log", **env)
    survivor = start_server(tmp_path / "shared", tmp_path / "b.log", **env)
    jar = lambda: aiohttp.CookieJar(unsafe=True)  # noqa: E731
    try:
        async with aiohttp.ClientSession(base_url=survivor.url, cookie_jar=jar()) as alice_session, \
                aiohttp.ClientSession(base_url=doomed.url, cookie_jar=jar()) as bob_on_doomed, \
                aiohttp.ClientSession(base_url=survivor.url, cookie_jar=jar()) as bob_on_survivor:
            alice = await register(alice_session, "alice", 0)
            bob = await register(bob_on_doomed, "bob", 1)
            bob_on_survivor.cookie_jar.update_cookies(bob_on_doomed.cookie_jar.filter_cookies(URL(doomed.url)))
            room = (await (await alice.post("/api/rooms", {"name": "Failover", "members": ["bob"]})).json())["room"]
            members = {alice.id: alice.public_key, bob.id: bob.public_key}
            alice_ws = await alice_session.ws_connect("/ws")
            await _next_frame(alice_ws, "hello")
            bob_ws = await bob_on_doomed.ws_connect("/ws")
            await _next_frame(bob_ws, "hello")
            acked: list[int] = []

            async def send(count: int) -> None:
                for _ in range(count):
                    envelope = await alice.envelope(room["id"], members)
                    await alice_ws.send_str(json.dumps({"type": "send", "ref": envelope["id"], "room": room["id"],
                                                        "envelope": envelope}))
                    acked.append((await _next_frame(alice_ws, "sent"))["seq"])

            await send(5)
            seen = [(await _next_frame(bob_ws, "message"))["seq"] for _ in range(5)]
            doomed.process.send_signal(signal.SIGKILL)
            doomed.process.wait(10)
            while (await bob_ws.receive(timeout=10)).type not in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                                                                 aiohttp.WSMsgType.ERROR):
                pass
            await send(5)  # while bob is away

            bob_ws = await bob_on_survivor.ws_connect("/ws")  # reconnects to the process that is left
            await _next_frame(bob_ws, "hello")
            history = await (await bob_on_survivor.get(f"/api/rooms/{room['id']}/messages")).json()
            stored = [message["seq"] for message in history["messages"]]
            assert stored == acked  # every acknowledged message survived the kill
            caught_up = [seq for seq in stored if seq > seen[-1]]
            await send(3)
            live = [(await _next_frame(bob_ws, "message"))["seq"] for _ in range(3)]
            timeline = seen + caught_up + live
            assert timeline == acked and len(set(timeline)) == len(timeline)  # nothing lost, nothing twice
    finally:
        doomed.stop()
        survivor.stop()
