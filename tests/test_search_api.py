"""GET /api/search through aiohttp's test client, and the index's life with the app."""

import shutil
from datetime import datetime, timezone

import pytest

from search_index import SearchIndex
from server.reindex import rebuild_async

from server import app_keys
from server.app import create_app
from tests.helpers import register


async def _settled(client):
    await client.server.app[app_keys.search].flush()


async def _search(client, query):
    response = await client.get("/api/search", params={"q": query})
    return response.status, await response.json()


@pytest.fixture
async def team(client, new_client):
    """alice and bob share a room; carol is on her own with a private room."""
    alice = await register(client, "alice.nguyen", key_index=0)
    bob = await register(await new_client(), "Bảo.Trần", key_index=1)
    carol = await register(await new_client(), "carol.nguyen", key_index=2)
    response = await alice.post("/api/rooms", {"name": "Kế hoạch Tết", "members": ["Bảo.Trần"]})
    assert response.status == 201
    response = await carol.post("/api/rooms", {"name": "Carol's Tết secrets", "members": []})
    assert response.status == 201
    await _settled(client)
    return alice, bob, carol


async def test_search_ranks_people_and_rooms_with_match_spans(team):
    alice, _bob, _carol = team
    status, data = await _search(alice.client, "tet")
    assert status == 200
    assert [room["name"] for room in data["rooms"]] == ["Kế hoạch Tết"]
    assert data["rooms"][0]["match"] == {"kind": "words", "field": "name", "spans": [[9, 12]], "typos": 0}
    status, data = await _search(alice.client, "bao tran")
    assert [user["name"] for user in data["users"]] == ["Bảo.Trần"]
    assert data["users"][0]["match"]["kind"] == "exact"
    status, data = await _search(alice.client, "ke hoahc")
    assert data["rooms"][0]["match"]["kind"] == "fuzzy"


async def test_non_member_never_sees_a_room(team):
    alice, bob, carol = team
    for person in (alice, bob):
        for query in ("secrets", "carol", "tet secrets", "Carol's Tết secrets"):
            _status, data = await _search(person.client, query)
            assert "Carol's Tết secrets" not in [room["name"] for room in data["rooms"]]
    _status, data = await _search(carol.client, "secrets")
    assert [room["name"] for room in data["rooms"]] == ["Carol's Tết secrets"]


async def test_people_outside_your_rooms_are_found_only_by_exact_username(team):
    alice, _bob, carol = team
    for query in ("carol", "car", "nguyen", "carol.nguyn"):
        _status, data = await _search(alice.client, query)
        assert "carol.nguyen" not in [user["name"] for user in data["users"]], query
    _status, data = await _search(alice.client, "Carol.Nguyen")
    assert [user["name"] for user in data["users"]] == ["carol.nguyen"]
    # Bob shares a room with Alice: a prefix is enough.
    _status, data = await _search(alice.client, "ba")
    assert [user["name"] for user in data["users"]] == ["Bảo.Trần"]
    _status, data = await _search(carol.client, "ba")
    assert data["users"] == []


async def test_adding_a_member_makes_the_room_searchable_for_them(team):
    alice, _bob, carol = team
    rooms = (await (await alice.client.get("/api/rooms")).json())["rooms"]
    response = await alice.post(f"/api/rooms/{rooms[0]['id']}/members", {"username": "carol.nguyen"})
    assert response.status == 201
    await _settled(alice.client)
    _status, data = await _search(carol.client, "ke hoach")
    assert [room["name"] for room in data["rooms"]] == ["Kế hoạch Tết"]
    _status, data = await _search(carol.client, "alice")  # now a co-member
    assert [user["name"] for user in data["users"]] == ["alice.nguyen"]


async def test_renamed_room_is_found_by_its_new_name_only(team):
    alice, bob, _carol = team
    rooms = (await (await alice.client.get("/api/rooms")).json())["rooms"]
    client = alice.client
    response = await client.patch(f"/api/rooms/{rooms[0]['id']}", json={"name": "Du lịch Đà Lạt"},
                                  headers=alice.headers())
    assert response.status == 200
    await _settled(client)
    _status, data = await _search(bob.client, "da lat")
    assert [room["name"] for room in data["rooms"]] == ["Du lịch Đà Lạt"]
    _status, data = await _search(bob.client, "ke hoach")
    assert data["rooms"] == []
    response = await client.patch(f"/api/rooms/{rooms[0]['id']}", json={"name": "   "}, headers=alice.headers())
    assert response.status == 400


@pytest.mark.parametrize("query, message", [
    ("", "Type something to search for."),
    ("   ", "Type something to search for."),
    ("x" * 101, "Searches are at most 100 characters."),
    ("?!.", "Search for letters or digits: punctuation alone matches nothing."),
])
async def test_empty_or_oversized_query_is_a_clear_400(client, query, message):
    await register(client, "alice", key_index=None)
    status, data = await _search(client, query)
    assert status == 400
    assert data == {"error": {"code": "invalid", "message": message}}


async def test_missing_q_is_a_clear_400(client):
    await register(client, "alice", key_index=None)
    response = await client.get("/api/search")
    assert response.status == 400
    assert (await response.json())["error"]["message"] == "Type something to search for."


async def test_search_needs_a_session(client):
    status, data = await _search(client, "alice")
    assert status == 401 and "Sign in" in data["error"]["message"]


@pytest.mark.parametrize("damage", ["delete", "corrupt"])
async def test_index_is_rebuilt_at_start_up_when_missing_or_damaged(aiohttp_client, config, damage):
    first = await aiohttp_client(create_app(config))
    alice = await register(first, "alice", key_index=0)
    await register(await aiohttp_client(first.server), "bob", key_index=1)
    assert (await alice.post("/api/rooms", {"name": "Phòng họp", "members": ["bob"]})).status == 201
    await _settled(first)
    await first.close()

    directory = config.data_dir / "search"
    if damage == "delete":
        shutil.rmtree(directory)
    else:
        for path in directory.iterdir():
            if path.suffix in (".toc", ".seg"):
                path.write_bytes(b"\x00garbage" * 8)

    second = await aiohttp_client(create_app(config))
    await register(second, "carol", key_index=None)
    status, data = await _search(second, "bob")  # exact username
    assert status == 200 and [user["name"] for user in data["users"]] == ["bob"]
    login = await second.post("/api/login", json={"username": "alice", "auth_key": "A" * 43 + "="},
                              headers={"X-CSRF-Token": (await (await second.get("/api/me")).json())["csrf"]})
    assert login.status == 200
    status, data = await _search(second, "phong hop")
    assert [room["name"] for room in data["rooms"]] == ["Phòng họp"]


async def test_admin_rebuild_recreates_the_index_from_the_database(aiohttp_client, config):
    client = await aiohttp_client(create_app(config))
    alice = await register(client, "alice", key_index=0)
    assert (await alice.post("/api/rooms", {"name": "Đội bóng", "members": []})).status == 201
    await _settled(client)
    await client.close()
    shutil.rmtree(config.data_dir / "search")

    assert await rebuild_async(config) == 2  # alice and her room
    index = SearchIndex.open(config.data_dir / "search")
    try:
        found = index.search("doi bong", user_id=alice.id, co_member_ids=set(), now=datetime.now(timezone.utc))
        assert [room.name for room in found.rooms] == ["Đội bóng"]
    finally:
        index.close()
