"""Account and room life over HTTP and WebSocket: change password, delete
account, leave, remove a member, delete a room early."""

import base64
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server import app_keys
from server.models import Blob, Envelope, HeldUsername, Invite, Member, Room, User, UserKey, UserSession
from tests.helpers import b64, fixed_keypair, key_proof, page_csrf, register, signed
from tests.retention import WEEK, store_blob, ws_reply
from tests.retention import clock_fixture, clocked_app_server  # noqa: F401 (fixtures clock, app_server)

OLD, NEW = "A" * 43 + "=", "B" * 43 + "="


async def login_status(client, username: str, auth_key: str) -> int:
    csrf = await page_csrf(client)
    response = await client.post("/api/login", json={"username": username, "auth_key": auth_key},
                                 headers={"X-CSRF-Token": csrf})
    return response.status


async def db_count(app, model, *where) -> int:
    async with app[app_keys.sessionmaker]() as db:
        return await db.scalar(select(func.count()).select_from(model).where(*where))


async def frames_until(ws, kind: str) -> dict:
    """The next frame of this type (a "room" frame: the next one that says what changed)."""
    while True:
        frame = json.loads((await ws.receive(timeout=10)).data)
        if frame["type"] == kind and (kind != "room" or "change" in frame):
            return frame


async def close_reason(ws) -> str:
    """Skip queued frames until the server closes the socket; its close message."""
    while True:
        message = await ws.receive(timeout=10)
        if message.type.name in ("CLOSE", "CLOSED", "CLOSING"):
            assert ws.close_code == 4001
            return message.extra


@pytest.fixture
async def trio(client, new_client):
    """Alice created "Plans" with Bob and Carol; each has a socket open."""
    alice = await register(client, "alice", 0)
    bob = await register(await new_client(), "bob", 1)
    carol = await register(await new_client(), "carol", 2)
    room = (await (await alice.post("/api/rooms", {"name": "Plans", "members": ["bob", "carol"]})).json())["room"]
    sockets = {}
    for user in (alice, bob, carol):
        sockets[user.username] = await user.client.ws_connect("/ws")
        assert json.loads((await sockets[user.username].receive(timeout=10)).data)["user"] == user.id
    return alice, bob, carol, room["id"], sockets


# ---- change password -------------------------------------------------------------------

async def rotate(user, index: int) -> None:
    user.private_key, user.public_key = fixed_keypair(index)
    response = await user.post("/api/me/key/rotate", {"public_key": b64(user.public_key),
                                                      "key_backup": b64(b"SRK1" + bytes([index]) * 60),
                                                      "proof": await key_proof(user, user.private_key, user.public_key)})
    assert response.status == 200, await response.text()


async def test_wrong_current_password_changes_nothing(client, new_client):
    alice = await register(client, "alice", 0)
    phone = await new_client()
    assert await login_status(phone, "alice", OLD) == 200
    before = await (await alice.client.get("/api/me/key-backup")).json()
    response = await alice.post("/api/me/password", {"current_auth_key": NEW, "auth_key": NEW,
                                                     "key_backup": b64(b"SRK1" + b"n" * 60), "earlier": []})
    assert response.status == 401 and "Nothing was changed" in (await response.json())["error"]["message"]
    assert (await phone.get("/api/me")).status == 200  # the other session lives on
    assert await (await alice.client.get("/api/me/key-backup")).json() == before
    assert await login_status(await new_client(), "alice", OLD) == 200
    assert await login_status(await new_client(), "alice", NEW) == 401


async def test_change_password_reseals_backups_replaces_auth_key_and_signs_out_others(client, new_client):
    alice = await register(client, "alice", 0)
    await rotate(alice, 3)
    old_key = fixed_keypair(0)[1]
    phone = await new_client()
    assert await login_status(phone, "alice", OLD) == 200
    phone_ws = await phone.ws_connect("/ws")
    await frames_until(phone_ws, "hello")
    current, earlier = b"SRK1" + b"c" * 60, b"SRK1" + b"e" * 60
    response = await alice.post("/api/me/password", {
        "current_auth_key": OLD, "auth_key": NEW, "key_backup": b64(current),
        "earlier": [{"public_key": b64(old_key), "key_backup": b64(earlier)}]})
    assert response.status == 200, await response.text()
    assert (await response.json())["sessions_ended"] == 1

    assert await close_reason(phone_ws) == "password_changed"
    refused = await phone.get("/api/me")
    assert refused.status == 401 and "password was changed" in (await refused.json())["error"]["message"]
    assert (await alice.client.get("/api/me")).status == 200  # the session that changed it stays
    backup = await (await alice.client.get("/api/me/key-backup")).json()
    assert backup["key_backup"] == b64(current) and backup["earlier"] == [
        {"public_key": b64(old_key), "key_backup": b64(earlier)}]
    assert await login_status(await new_client(), "alice", OLD) == 401
    assert await login_status(await new_client(), "alice", NEW) == 200


async def test_change_password_refuses_to_leave_a_key_sealed_under_the_old_password(client, new_client):
    alice = await register(client, "alice", 0)
    await rotate(alice, 3)
    response = await alice.post("/api/me/password", {"current_auth_key": OLD, "auth_key": NEW,
                                                     "key_backup": b64(b"SRK1" + b"c" * 60), "earlier": []})
    assert response.status == 400 and "earlier key" in (await response.json())["error"]["message"]
    assert await login_status(await new_client(), "alice", OLD) == 200  # all or nothing


# ---- delete account ----------------------------------------------------------------------

async def test_delete_account_needs_the_password_and_removes_user_keys_sessions_memberships(trio, app_server, clock,
                                                                                          new_client):
    alice, bob, carol, room_id, sockets = trio
    app = app_server.app
    envelope = await bob.envelope(room_id, {u.id: u.public_key for u in (alice, bob, carol)}, "bye all")
    await sockets["bob"].send_str(json.dumps({"type": "send", "ref": "m", "room": room_id, "envelope": envelope}))
    assert (await ws_reply(sockets["bob"]))["type"] == "sent"
    await rotate(bob, 4)

    response = await bob.client.delete("/api/me", json={"auth_key": NEW}, headers=bob.headers())
    assert response.status == 401
    assert await db_count(app, User, User.id == bob.id) == 1

    response = await bob.client.delete("/api/me", json={"auth_key": OLD}, headers=bob.headers())
    assert response.status == 200, await response.text()
    assert await close_reason(sockets["bob"]) == "account_deleted"
    for model in (User,):
        assert await db_count(app, model, model.id == bob.id) == 0
    for model in (UserKey, UserSession, Member):
        assert await db_count(app, model, model.user_id == bob.id) == 0
    assert await db_count(app, Envelope, Envelope.room_id == room_id) == 1  # stays until the room expires
    frame = await frames_until(sockets["alice"], "room")
    assert frame["change"] == {"kind": "account_deleted", "user": bob.id, "username": "bob"}
    room = await (await alice.client.get(f"/api/rooms/{room_id}")).json()
    assert [m["username"] for m in room["room"]["members"]] == ["alice", "carol"]
    assert (await bob.client.get("/api/me")).status == 401
    await app[app_keys.search].flush()
    found = await (await alice.client.get("/api/search?q=bob")).json()
    assert all(u["id"] != bob.id for u in found["users"])

    # The name stays taken for the room lifetime, then is free.
    newcomer = await new_client()
    csrf = await page_csrf(newcomer)
    taken = await newcomer.post("/api/register", json={"username": "Bob", "auth_key": OLD}, headers={"X-CSRF-Token": csrf})
    assert taken.status == 409
    clock.advance(WEEK + timedelta(seconds=1))
    assert (await register(await new_client(), "bob", 5)).id != bob.id


async def test_sole_member_deleting_the_account_deletes_the_room_like_expiry(client, app_server):
    alice = await register(client, "alice", 0)
    room_id = (await (await alice.post("/api/rooms", {"name": "Solo", "members": []})).json())["room"]["id"]
    blob_id, _ = await store_blob(app_server.app, room_id, alice.id)
    response = await alice.client.delete("/api/me", json={"auth_key": OLD}, headers=alice.headers())
    assert response.status == 200
    assert await db_count(app_server.app, Room, Room.id == room_id) == 0
    assert not [p for p in (app_server.app[app_keys.config].data_dir / "blobs").rglob(blob_id)]


async def test_admin_users_delete_goes_the_same_way(trio, app_server, monkeypatch, new_client):
    import asyncio

    from server.admin import main
    alice, bob, _carol, room_id, _sockets = trio
    monkeypatch.setenv("SEALROOM_DATA_DIR", str(app_server.app[app_keys.config].data_dir))
    assert await asyncio.to_thread(main, ["users", "delete", "bob", "--yes"]) == 0
    app = app_server.app
    assert await db_count(app, UserKey, UserKey.user_id == bob.id) == 0
    assert await db_count(app, Member, Member.user_id == bob.id) == 0
    assert await db_count(app, HeldUsername, HeldUsername.username_key == "bob") == 1
    csrf = await page_csrf(newcomer := await new_client())
    taken = await newcomer.post("/api/register", json={"username": "bob", "auth_key": OLD}, headers={"X-CSRF-Token": csrf})
    assert taken.status == 409


# ---- rooms: leave, remove, delete ---------------------------------------------------------

async def test_member_who_left_gets_404_on_every_path(trio):
    alice, bob, _carol, room_id, sockets = trio
    upload = await signed(bob, "POST", f"/api/rooms/{room_id}/uploads", json.dumps({"size": 10}).encode())
    upload_id = (await upload.json())["upload"]
    blob_id, _blob = await store_blob(alice.client.app, room_id, alice.id)
    assert (await signed(bob, "GET", f"/api/blobs/{blob_id}")).status == 200
    response = await bob.post(f"/api/rooms/{room_id}/leave", {})
    assert response.status == 200
    assert (await frames_until(sockets["bob"], "room_removed")) == {"type": "room_removed", "room": room_id,
                                                                    "reason": "left"}
    change = (await frames_until(sockets["alice"], "room"))["change"]
    assert change == {"kind": "left", "user": bob.id, "username": "bob"}

    paths = [bob.client.get(f"/api/rooms/{room_id}"), bob.client.get(f"/api/rooms/{room_id}/messages"),
             bob.client.patch(f"/api/rooms/{room_id}", json={"name": "x"}, headers=bob.headers()),
             bob.client.post(f"/api/rooms/{room_id}/members", json={"username": "alice"}, headers=bob.headers()),
             bob.client.post(f"/api/rooms/{room_id}/invites", headers=bob.headers()),
             bob.client.post(f"/api/rooms/{room_id}/leave", headers=bob.headers()),
             bob.client.delete(f"/api/rooms/{room_id}", headers=bob.headers())]
    for request in paths:
        response = await request
        assert response.status == 404, (response.url, await response.text())
    for method, path, body in (("POST", f"/api/rooms/{room_id}/uploads", json.dumps({"size": 10}).encode()),
                               ("PUT", f"/api/uploads/{upload_id}/parts/0", b"0123456789"),
                               ("GET", f"/api/blobs/{blob_id}", b"")):
        assert (await signed(bob, method, path, body)).status == 404, path
    await sockets["bob"].send_str(json.dumps({"type": "send", "ref": "x", "room": room_id,
                                              "envelope": await bob.envelope(room_id, {bob.id: bob.public_key})}))
    assert (await ws_reply(sockets["bob"]))["error"] == "not_found"
    assert room_id not in [r["id"] for r in (await (await bob.client.get("/api/rooms")).json())["rooms"]]


async def test_after_leaving_new_messages_are_no_longer_wrapped_to_them(trio, app_server):
    alice, bob, carol, room_id, sockets = trio
    everyone = {u.id: u.public_key for u in (alice, bob, carol)}
    await bob.post(f"/api/rooms/{room_id}/leave", {})
    ws = sockets["alice"]
    await ws.send_str(json.dumps({"type": "send", "ref": "1", "room": room_id,
                                  "envelope": await alice.envelope(room_id, everyone, "for all three")}))
    assert (await ws_reply(ws))["error"] == "stale_members"  # still addressed to Bob: refused
    remaining = {alice.id: alice.public_key, carol.id: carol.public_key}
    await ws.send_str(json.dumps({"type": "send", "ref": "2", "room": room_id,
                                  "envelope": await alice.envelope(room_id, remaining, "after bob left")}))
    assert (await ws_reply(ws))["type"] == "sent"
    async with app_server.app[app_keys.sessionmaker]() as db:
        stored = [json.loads(body) for body in await db.scalars(select(Envelope.body).where(Envelope.room_id == room_id))]
    assert [[key["to"] for key in envelope["keys"]] for envelope in stored] == [sorted([alice.id, carol.id])]
    bob_fingerprint = base64.b64encode(__import__("hashlib").sha256(bob.public_key).digest()).decode()
    assert all(key["kfp"] != bob_fingerprint for envelope in stored for key in envelope["keys"])


async def test_only_the_creator_removes_a_member_and_share_links_die_with_it(trio, new_client):
    alice, bob, carol, room_id, sockets = trio
    token = (await (await alice.post(f"/api/rooms/{room_id}/invites", {})).json())["token"]
    response = await bob.client.delete(f"/api/rooms/{room_id}/members/{carol.id}", headers=bob.headers())
    assert response.status == 403
    assert (await bob.client.delete(f"/api/rooms/{room_id}", headers=bob.headers())).status == 403
    response = await alice.client.delete(f"/api/rooms/{room_id}/members/{carol.id}", headers=alice.headers())
    assert response.status == 200
    assert (await frames_until(sockets["carol"], "room_removed"))["reason"] == "removed"
    assert (await frames_until(sockets["bob"], "room"))["change"]["kind"] == "removed"
    assert (await carol.client.get(f"/api/rooms/{room_id}/messages")).status == 404
    rejoin = await carol.post("/api/invites/accept", {"token": token})
    assert rejoin.status == 404
    assert await db_count(carol.client.app, Invite, Invite.room_id == room_id) == 0
    gone = await alice.client.delete(f"/api/rooms/{room_id}/members/{carol.id}", headers=alice.headers())
    assert gone.status == 404


async def test_creator_deletes_the_room_at_once_through_the_expiry_path(trio, app_server):
    alice, bob, carol, room_id, sockets = trio
    app = app_server.app
    blob_id, blob = await store_blob(app, room_id, bob.id)
    response = await alice.client.delete(f"/api/rooms/{room_id}", headers=alice.headers())
    assert response.status == 200
    for name in ("alice", "bob", "carol"):
        assert await frames_until(sockets[name], "room_removed") == {"type": "room_removed", "room": room_id,
                                                                     "reason": "deleted"}
    for model, where in ((Room, Room.id == room_id), (Member, Member.room_id == room_id),
                         (Blob, Blob.room_id == room_id)):
        assert await db_count(app, model, where) == 0
    blob_files = [p for p in (app[app_keys.config].data_dir / "blobs").rglob("*") if p.is_file()]
    assert all(blob not in p.read_bytes() for p in blob_files)
    await app[app_keys.search].flush()
    found = await (await bob.client.get("/api/search?q=Plans")).json()
    assert found["rooms"] == []
    assert (await alice.client.get(f"/api/rooms/{room_id}")).status == 404


async def test_last_member_leaving_deletes_the_room(client, app_server):
    alice = await register(client, "alice", 0)
    room_id = (await (await alice.post("/api/rooms", {"name": "Solo", "members": []})).json())["room"]["id"]
    assert (await alice.post(f"/api/rooms/{room_id}/leave", {})).status == 200
    assert await db_count(app_server.app, Room, Room.id == room_id) == 0
