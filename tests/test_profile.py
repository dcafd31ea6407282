"""Display names: set at sign-up, changed with PATCH /api/me, shown beside the
username, refused when they could deceive, and searchable by the people who
share a room (aiohttp test client, the app's real index)."""

import unicodedata

import pytest

from search_index import SearchIndex
from server import app_keys
from tests.helpers import page_csrf, register


async def _search(user, query):
    await user.client.server.app[app_keys.search].flush()
    response = await user.client.get("/api/search", params={"q": query})
    assert response.status == 200, await response.text()
    return (await response.json())["users"]


async def _patch_me(user, body):
    return await user.client.patch("/api/me", json=body, headers=user.headers())


async def test_display_name_is_set_at_sign_up_and_stored_nfc(client):
    user = await register(client, "ngoc", display_name=unicodedata.normalize("NFD", "  Trần  Thị Bích Ngọc "))
    me = (await (await client.get("/api/me")).json())["user"]
    assert (me["username"], me["display_name"]) == ("ngoc", "Trần Thị Bích Ngọc")
    assert unicodedata.is_normalized("NFC", me["display_name"]) and user.id == me["id"]


async def test_display_name_is_optional(client):
    await register(client, "plain")
    assert (await (await client.get("/api/me")).json())["user"]["display_name"] is None


@pytest.mark.parametrize("display_name, reason", [
    ("Admin\u202e", "RIGHT-TO-LEFT OVERRIDE"),   # bidi override: "nimdA" spoofing
    ("An\u2066na", "LEFT-TO-RIGHT ISOLATE"),
    ("Bo\u200bb", "ZERO WIDTH SPACE"),
    ("\u3164", "HANGUL FILLER"),                  # renders as nothing
    ("tab\there", "U+0009"),
    ("x" * 65, "at most 64 characters"),
    (42, "must be text"),
])
async def test_deceptive_display_names_are_refused_with_a_reason(client, display_name, reason):
    csrf = await page_csrf(client)
    response = await client.post("/api/register", json={"username": "spoofer", "auth_key": "A" * 43 + "=",
                                                        "display_name": display_name}, headers={"X-CSRF-Token": csrf})
    assert response.status == 400
    body = await response.json()
    assert reason in body["error"]["message"]
    user = await register(client, "honest")
    response = await _patch_me(user, {"display_name": display_name})
    assert response.status == 400 and reason in (await response.json())["error"]["message"]


async def test_patch_me_changes_the_name_everywhere_it_is_shown(client, new_client):
    alice = await register(client, "alice", key_index=0, display_name="Alice")
    bob = await register(await new_client(), "bob", key_index=1)
    room = (await (await alice.post("/api/rooms", {"name": "Đội", "members": ["bob"]})).json())["room"]
    response = await _patch_me(bob, {"display_name": "Đặng Đức Anh"})
    assert response.status == 200
    assert (await response.json())["user"]["display_name"] == "Đặng Đức Anh"
    members = (await (await client.get(f"/api/rooms/{room['id']}")).json())["room"]["members"]
    assert {(m["username"], m["display_name"]) for m in members} == {("alice", "Alice"), ("bob", "Đặng Đức Anh")}
    # The index follows at once: the new name is found, the old one is not.
    found = await _search(alice, "ducanh")
    assert [(u["name"], u["display_name"]) for u in found] == [("bob", "Đặng Đức Anh")]
    assert (await _patch_me(bob, {"display_name": None})).status == 200
    assert await _search(alice, "duc anh") == []


async def test_patch_me_refuses_other_fields(client):
    user = await register(client, "carol")
    response = await _patch_me(user, {"display_name": "Carol", "username": "root"})
    assert response.status == 400 and "display_name" in (await response.json())["error"]["message"]


async def test_a_stranger_is_never_found_by_display_name(client, new_client):
    alice = await register(client, "alice", key_index=0)
    await register(await new_client(), "xyz.secret", key_index=1, display_name="Nguyễn Văn An")
    for query in ("Nguyễn Văn An", "nguyen van an", "nguyenvanan"):
        assert await _search(alice, query) == []
    found = await _search(alice, "xyz.secret")  # the exact username still works, without the display name
    assert [(u["name"], u["display_name"]) for u in found] == [("xyz.secret", None)]


async def test_disabled_or_deleted_account_leaves_search(client, new_client, config, monkeypatch):
    import asyncio

    from server.admin import main as admin_main

    alice = await register(client, "alice", key_index=0)
    bob = await register(await new_client(), "bob", key_index=1, display_name="Bob Builder")
    await alice.post("/api/rooms", {"name": "Site", "members": ["bob"]})
    assert [u["name"] for u in await _search(alice, "builder")] == ["bob"]
    monkeypatch.setenv("SEALROOM_DATA_DIR", str(config.data_dir))
    assert await asyncio.to_thread(admin_main, ["users", "disable", "bob"]) == 0
    assert await _search(alice, "builder") == [] and await _search(alice, "bob") == []  # hidden at once
    on_disk = SearchIndex.open(config.data_dir / "search")  # and the index event reached the index files
    try:
        assert bob.id not in on_disk.directory.people
    finally:
        on_disk.close()
    assert await asyncio.to_thread(admin_main, ["users", "enable", "bob"]) == 0
    assert await asyncio.to_thread(admin_main, ["users", "delete", "bob", "--yes"]) == 0
    on_disk = SearchIndex.open(config.data_dir / "search")
    try:
        assert bob.id not in on_disk.directory.people
    finally:
        on_disk.close()
    assert await _search(alice, "bob") == []
