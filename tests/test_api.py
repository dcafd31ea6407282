"""HTTP and WebSocket API through aiohttp's test client (no browser)."""

import json

from tests.helpers import b64, page_csrf, register


async def test_register_then_me(client):
    user = await register(client, "alice")
    response = await client.get("/api/me")
    data = await response.json()
    assert data["user"]["username"] == "alice"
    assert data["user"]["fingerprint"] and data["user"]["public_key"] == b64(user.public_key)


async def test_duplicate_username_is_refused_case_insensitively(client, new_client):
    await register(client, "alice")
    other = await new_client()
    csrf = await page_csrf(other)
    response = await other.post("/api/register", json={"username": "ALICE", "auth_key": "B" * 44},
                                headers={"X-CSRF-Token": csrf})
    assert response.status == 409
    assert "taken" in (await response.json())["error"]["message"]


async def test_wrong_password_gives_401_with_message(client, new_client):
    await register(client, "alice")
    other = await new_client()
    csrf = await page_csrf(other)
    response = await other.post("/api/login", json={"username": "alice", "auth_key": "C" * 44},
                                headers={"X-CSRF-Token": csrf})
    assert response.status == 401
    assert (await response.json())["error"]["message"] == "Wrong username or password."
    response = await other.post("/api/login", json={"username": "nobody", "auth_key": "C" * 44},
                                headers={"X-CSRF-Token": csrf})
    assert response.status == 401


async def test_login_rotates_the_session_cookie(client):
    csrf = await page_csrf(client)
    before = client.session.cookie_jar.filter_cookies(client.make_url("/"))["sealroom_session"].value
    await register(client, "alice", key_index=None)
    after = client.session.cookie_jar.filter_cookies(client.make_url("/"))["sealroom_session"].value
    assert before != after and csrf


async def test_unauthenticated_api_call_is_401(client):
    response = await client.get("/api/rooms")
    assert response.status == 401
    assert "Sign in" in (await response.json())["error"]["message"]


async def test_unauthenticated_websocket_is_401(client):
    response = await client.get("/ws", headers={"Connection": "Upgrade", "Upgrade": "websocket",
                                               "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "x3JJHMbDL1EzLkh9GBhXDw=="})
    assert response.status == 401


async def test_state_change_without_csrf_token_is_403(client):
    user = await register(client, "alice")
    response = await client.post("/api/rooms", json={"name": "no token"})
    assert response.status == 403
    response = await client.post("/api/rooms", json={"name": "wrong origin"},
                                 headers={**user.headers(), "Origin": "https://evil.example"})
    assert response.status == 403


async def test_logout_ends_the_session(client):
    user = await register(client, "alice")
    response = await user.post("/api/logout", {})
    assert response.status == 200
    assert (await client.get("/api/me")).status == 401


async def test_revoked_session_stops_working(client, new_client):
    alice = await register(client, "alice")
    sessions = (await (await client.get("/api/sessions")).json())["sessions"]
    assert len(sessions) == 1 and sessions[0]["current"]
    response = await client.delete(f"/api/sessions/{sessions[0]['id']}", headers=alice.headers())
    assert response.status == 200
    assert (await client.get("/api/me")).status == 401


async def test_non_member_cannot_read_room(client, new_client):
    alice = await register(client, "alice", 0)
    await register(await new_client(), "bob", 1)
    mallory_client = await new_client()
    await register(mallory_client, "mallory", 2)
    room = (await (await alice.post("/api/rooms", {"name": "Plans", "members": ["bob"]})).json())["room"]
    for path in (f"/api/rooms/{room['id']}", f"/api/rooms/{room['id']}/messages"):
        response = await mallory_client.get(path)
        assert response.status == 404
        assert "not a member" in (await response.json())["error"]["message"]
    rooms = (await (await mallory_client.get("/api/rooms")).json())["rooms"]
    assert rooms == []


async def test_room_lists_members_with_keys(client, new_client):
    alice = await register(client, "alice", 0)
    bob = await register(await new_client(), "bob", 1)
    response = await alice.post("/api/rooms", {"name": "  Plans   for  Friday ", "members": ["Bob"]})
    assert response.status == 201
    room = (await response.json())["room"]
    assert room["name"] == "Plans for Friday"
    assert {m["username"] for m in room["members"]} == {"alice", "bob"}
    assert {m["public_key"] for m in room["members"]} == {b64(alice.public_key), b64(bob.public_key)}


async def test_room_with_unknown_member_is_refused(client):
    alice = await register(client, "alice")
    response = await alice.post("/api/rooms", {"name": "x", "members": ["ghost"]})
    assert response.status == 404
    assert "ghost" in (await response.json())["error"]["message"]


async def test_public_key_must_be_rsa_spki(client):
    user = await register(client, "alice", key_index=None)
    response = await user.put("/api/me/key", {"public_key": b64(b"not a key")})
    assert response.status == 400
    assert "public key was refused" in (await response.json())["error"]["message"]


async def _ws_send(ws, frame):
    await ws.send_str(json.dumps(frame))
    while True:
        reply = json.loads((await ws.receive()).data)
        if reply["type"] in ("sent", "error"):
            return reply


async def test_websocket_delivers_envelope_to_other_member(client, new_client):
    alice = await register(client, "alice", 0)
    bob_client = await new_client()
    bob = await register(bob_client, "bob", 1)
    room = (await (await alice.post("/api/rooms", {"name": "Plans", "members": ["bob"]})).json())["room"]
    bob_ws = await bob_client.ws_connect("/ws")
    assert json.loads((await bob_ws.receive()).data)["type"] == "hello"
    alice_ws = await client.ws_connect("/ws")
    await alice_ws.receive()
    envelope = await alice.envelope(room["id"], {alice.id: alice.public_key, bob.id: bob.public_key})
    reply = await _ws_send(alice_ws, {"type": "send", "ref": "r1", "room": room["id"], "envelope": envelope})
    assert reply["type"] == "sent" and reply["ref"] == "r1"
    frame = json.loads((await bob_ws.receive(timeout=5)).data)
    assert frame["type"] == "message" and frame["envelope"] == envelope
    history = (await (await bob_client.get(f"/api/rooms/{room['id']}/messages")).json())["messages"]
    assert [m["envelope"] for m in history] == [envelope]


async def test_websocket_refuses_bad_frames_without_closing(client, new_client):
    alice = await register(client, "alice", 0)
    bob = await register(await new_client(), "bob", 1)
    room = (await (await alice.post("/api/rooms", {"name": "Plans", "members": ["bob"]})).json())["room"]
    ws = await client.ws_connect("/ws")
    await ws.receive()
    await ws.send_str("not json")
    assert json.loads((await ws.receive()).data)["error"] == "invalid"
    only_alice = await alice.envelope(room["id"], {alice.id: alice.public_key})
    reply = await _ws_send(ws, {"type": "send", "ref": "r2", "room": room["id"], "envelope": only_alice})
    assert reply["error"] == "stale_members"
    good = await alice.envelope(room["id"], {alice.id: alice.public_key, bob.id: bob.public_key})
    good["extra"] = True
    reply = await _ws_send(ws, {"type": "send", "ref": "r3", "room": room["id"], "envelope": good})
    assert reply["error"] == "invalid" and "unknown field" in reply["message"]
    reply = await _ws_send(ws, {"type": "send", "ref": "r4", "room": "ab" * 16, "envelope": good})
    assert reply["error"] == "not_found"
    assert not ws.closed


async def test_websocket_refuses_cross_site_origin(client):
    await register(client, "alice")
    response = await client.get("/ws", headers={
        "Origin": "https://evil.example", "Connection": "Upgrade", "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "x3JJHMbDL1EzLkh9GBhXDw=="})
    assert response.status == 403


async def test_password_guessing_is_rate_limited(client, new_client):
    await register(client, "alice")
    guesser = await new_client()
    csrf = await page_csrf(guesser)
    statuses = []
    for attempt in range(12):
        response = await guesser.post("/api/login", json={"username": "alice", "auth_key": f"{attempt:02d}" * 22},
                                      headers={"X-CSRF-Token": csrf})
        statuses.append(response.status)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many sign-in attempts" in (await response.json())["error"]["message"]
    assert (await response.json())["error"]["retry_after"] == int(response.headers["Retry-After"])


async def test_invite_link_lets_a_signed_in_user_join_until_it_expires(client, new_client):
    alice = await register(client, "alice", 0)
    bob_client = await new_client()
    bob = await register(bob_client, "bob", 1)
    room = (await (await alice.post("/api/rooms", {"name": "Open house"})).json())["room"]
    invite = await (await alice.post(f"/api/rooms/{room['id']}/invites", {})).json()
    assert invite["path"] == f"/?invite={invite['token']}"

    response = await bob.post("/api/invites/accept", {"token": invite["token"]})
    assert response.status == 200
    assert {m["username"] for m in (await response.json())["room"]["members"]} == {"alice", "bob"}
    assert (await bob_client.get(f"/api/rooms/{room['id']}")).status == 200
    response = await bob.post("/api/invites/accept", {"token": "forged-token"})
    assert response.status == 404
    assert "not valid" in (await response.json())["error"]["message"]


async def test_invites_are_stored_only_as_hashes(client, app_server):
    import hashlib

    from sqlalchemy import select

    from server import app_keys
    from server.models import Invite

    alice = await register(client, "alice", 0)
    room = (await (await alice.post("/api/rooms", {"name": "Hashes"})).json())["room"]
    token = (await (await alice.post(f"/api/rooms/{room['id']}/invites", {})).json())["token"]
    async with app_server.app[app_keys.sessionmaker]() as db:
        stored = (await db.scalars(select(Invite.token_hash))).all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]


async def test_revoked_session_loses_its_open_websocket_at_once(client, new_client):
    await register(client, "alice")
    ws = await client.ws_connect("/ws")
    assert json.loads((await ws.receive()).data)["type"] == "hello"
    laptop = await new_client()
    csrf = await page_csrf(laptop)
    response = await laptop.post("/api/login", json={"username": "alice", "auth_key": "A" * 43 + "="},
                                 headers={"X-CSRF-Token": csrf})
    laptop_csrf = (await response.json())["csrf"]
    sessions = (await (await laptop.get("/api/sessions")).json())["sessions"]
    phone_session = next(s["id"] for s in sessions if not s["current"])
    response = await laptop.delete(f"/api/sessions/{phone_session}", headers={"X-CSRF-Token": laptop_csrf})
    assert response.status == 200
    closing = await ws.receive(timeout=5)
    assert closing.type.name in ("CLOSE", "CLOSED", "CLOSING") and ws.close_code == 4001


async def test_the_room_list_says_when_each_rooms_newest_message_was_stored(client, new_client):
    alice = await register(client, "alice", 0)
    bob = await register(await new_client(), "bob", 1)
    quiet = (await (await alice.post("/api/rooms", {"name": "Quiet", "members": ["bob"]})).json())["room"]
    busy = (await (await alice.post("/api/rooms", {"name": "Busy", "members": ["bob"]})).json())["room"]
    ws = await client.ws_connect("/ws")
    await ws.receive()
    everyone = {alice.id: alice.public_key, bob.id: bob.public_key}
    for ref in ("r1", "r2"):
        reply = await _ws_send(ws, {"type": "send", "ref": ref, "room": busy["id"],
                                    "envelope": await alice.envelope(busy["id"], everyone)})
        assert reply["type"] == "sent"
    newest = (await (await client.get(f"/api/rooms/{busy['id']}/messages")).json())["messages"][-1]
    listed = {room["id"]: room for room in (await (await client.get("/api/rooms")).json())["rooms"]}
    assert listed[busy["id"]]["last_message_at"] == newest["created_at"]
    assert listed[quiet["id"]]["last_message_at"] is None
