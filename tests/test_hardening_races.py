"""Concurrent requests end in one success and clean 409/413 answers, never a
500, and the quota holds (issue 9, item 6). On SQLite and on PostgreSQL."""

import asyncio
import json
import secrets
from collections import Counter

import asyncpg
import pytest

from server.app import create_app
from server.config import Config
from server.domain.blobs import PART_SIZE
from tests.helpers import page_csrf, register, signed

MiB = 1024 * 1024


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request):
    if request.param == "sqlite":
        yield ""
        return
    name = f"sealroom_race_{secrets.token_hex(4)}"
    try:
        admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"PostgreSQL is not running on 127.0.0.1:5432 ({error})")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def race_server(aiohttp_server, tmp_path, database_url):
    config = Config(data_dir=tmp_path / "data", database_url=database_url, auth_attempts=1000,
                    max_upload_bytes=100 * MiB, user_quota_bytes=1000 * MiB,
                    max_open_uploads=100, rate_limits={"upload_start": "off"})  # races, not limits, are tested here
    return await aiohttp_server(create_app(config))


@pytest.fixture
def people(aiohttp_client, race_server):
    async def make():
        return await aiohttp_client(race_server)
    return make


def statuses(responses) -> Counter:
    return Counter(response.status for response in responses)


async def _room(people):
    alice = await register(await people(), "alice", 0)
    room = (await (await alice.post("/api/rooms", {"name": "Race"})).json())["room"]
    return alice, room["id"]


async def test_concurrent_registration_of_one_name_gives_one_account(people):
    clients = [await people() for _ in range(6)]
    tokens = [await page_csrf(client) for client in clients]
    responses = await asyncio.gather(*(
        client.post("/api/register", json={"username": "samename", "auth_key": "A" * 44}, headers={"X-CSRF-Token": token})
        for client, token in zip(clients, tokens)))
    assert statuses(responses) == {201: 1, 409: 5}, [await r.text() for r in responses]
    for response in responses:
        if response.status == 409:
            assert (await response.json())["error"]["code"] == "conflict"


async def test_concurrent_add_of_one_member_gives_one_membership(people):
    alice, room_id = await _room(people)
    await register(await people(), "bob", 1)
    responses = await asyncio.gather(*(alice.post(f"/api/rooms/{room_id}/members", {"username": "bob"})
                                       for _ in range(6)))
    assert statuses(responses) == {201: 1, 409: 5}, [await r.text() for r in responses]
    room = (await (await alice.client.get(f"/api/rooms/{room_id}")).json())["room"]
    assert sorted(m["username"] for m in room["members"]) == ["alice", "bob"]


async def test_concurrent_joins_never_pass_the_member_cap(aiohttp_server, aiohttp_client, tmp_path, database_url):
    config = Config(data_dir=tmp_path / "data", database_url=database_url, auth_attempts=1000, max_room_members=3)
    server = await aiohttp_server(create_app(config))
    alice = await register(await aiohttp_client(server), "alice", 0)
    room = (await (await alice.post("/api/rooms", {"name": "Small"})).json())["room"]
    for index, name in enumerate(["bob", "carol", "dave", "erin"], start=1):
        await register(await aiohttp_client(server), name, index)
    responses = await asyncio.gather(*(alice.post(f"/api/rooms/{room['id']}/members", {"username": name})
                                       for name in ["bob", "carol", "dave", "erin"]))
    assert statuses(responses) == {201: 2, 400: 2}, [await r.text() for r in responses]


async def test_same_upload_part_twice_at_once_keeps_one_part(people, race_server):
    alice, room_id = await _room(people)
    data = secrets.token_bytes(1000)
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", json.dumps({"size": len(data)}).encode())
    upload_id = (await response.json())["upload"]
    responses = await asyncio.gather(*(signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/0", data)
                                       for _ in range(5)))
    counts = statuses(responses)
    assert counts[200] == 1 and counts[200] + counts[409] + counts[400] == 5, [await r.text() for r in responses]
    assert 500 not in counts
    response = await signed(alice, "POST", f"/api/uploads/{upload_id}/complete")
    assert response.status == 201
    blob_id = (await response.json())["blob"]
    assert await (await signed(alice, "GET", f"/api/blobs/{blob_id}")).read() == data


async def test_concurrent_complete_makes_one_blob(people, race_server):
    from server import app_keys

    alice, room_id = await _room(people)
    data = secrets.token_bytes(PART_SIZE + 100)  # two parts, so assembling takes a while
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", json.dumps({"size": len(data)}).encode())
    upload_id = (await response.json())["upload"]
    for number, start in enumerate(range(0, len(data), PART_SIZE)):
        response = await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/{number}", data[start:start + PART_SIZE])
        assert response.status == 200
    responses = await asyncio.gather(*(signed(alice, "POST", f"/api/uploads/{upload_id}/complete") for _ in range(4)))
    counts = statuses(responses)
    assert counts[201] == 1 and counts[201] + counts[409] + counts[404] == 4, [await r.text() for r in responses]
    blob_id = [(await r.json())["blob"] for r in responses if r.status == 201][0]
    store = race_server.app[app_keys.blob_store]
    stored = [info.id async for info in store.list_blobs()]
    assert stored == [blob_id], stored  # no second blob, no leftover part
    assert await (await signed(alice, "GET", f"/api/blobs/{blob_id}")).read() == data


async def test_concurrent_cancel_and_complete_end_the_upload_once(people, race_server):
    from server import app_keys

    alice, room_id = await _room(people)
    data = secrets.token_bytes(2000)
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", json.dumps({"size": len(data)}).encode())
    upload_id = (await response.json())["upload"]
    assert (await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/0", data)).status == 200
    requests = [signed(alice, "DELETE", f"/api/uploads/{upload_id}") for _ in range(3)]
    requests += [signed(alice, "POST", f"/api/uploads/{upload_id}/complete") for _ in range(3)]
    counts = statuses(await asyncio.gather(*requests))
    assert counts[200] + counts[201] == 1 and set(counts) <= {200, 201, 404, 409}, counts
    stored = [info.id async for info in race_server.app[app_keys.blob_store].list_blobs()]
    assert len(stored) == counts[201], stored  # a completed blob, or nothing at all


async def test_quota_holds_under_concurrent_reservations(people):
    alice, room_id = await _room(people)
    body = json.dumps({"size": 100 * MiB}).encode()
    responses = await asyncio.gather(*(signed(alice, "POST", f"/api/rooms/{room_id}/uploads", body) for _ in range(14)))
    assert statuses(responses) == {201: 10, 413: 4}, [await r.text() for r in responses]
