"""Traffic control on one process: rate limits, caps, the slow consumer,
health and metrics. (Across processes: tests/test_scale_out.py.)"""

import asyncio
import json
import logging
import socket

import pytest
from aiohttp import WSMsgType

from server import app_keys
from server.app import create_app
from server.config import Config, ConfigError
from server.ratelimit import parse_limit
from tests.helpers import b64, page_csrf, register, signed

OWNER_ADDRESS, ATTACKER_ADDRESS = "198.51.100.20", "203.0.113.66"


@pytest.fixture
def config(tmp_path) -> Config:
    # The test client is a trusted proxy, so each request can say which address it comes from.
    return Config(data_dir=tmp_path / "data", trusted_proxies=("127.0.0.1",))


async def _server_with(aiohttp_server, tmp_path, **settings):
    return await aiohttp_server(create_app(Config(data_dir=tmp_path / "data", trusted_proxies=("127.0.0.1",),
                                                  **settings)))


async def _login(client, username: str, auth_key: str, address: str):
    csrf = await page_csrf(client)
    return await client.post("/api/login", json={"username": username, "auth_key": auth_key},
                             headers={"X-CSRF-Token": csrf, "X-Forwarded-For": address})


async def _next_frame(ws, kind: str) -> dict:
    while True:
        message = await ws.receive(timeout=10)
        assert message.type == WSMsgType.TEXT, message
        frame = json.loads(message.data)
        if frame["type"] == kind:
            return frame


OWNER_KEY = "A" * 43 + "="


# ---- sign-in: issue 9 item 2 ----------------------------------------------

async def test_attacker_cannot_lock_owner_out(client, new_client):
    owner = await register(client, "alice", None, auth_key=OWNER_KEY)  # this browser is now known for alice
    await owner.post("/api/logout", {})
    attacker = await new_client()
    statuses = [(await _login(attacker, "alice", f"{guess:02d}" * 22, ATTACKER_ADDRESS)).status
                for guess in range(15)]
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}

    response = await _login(client, "alice", OWNER_KEY, OWNER_ADDRESS)
    assert response.status == 200, await response.text()
    # Even from the attacker's own network, the owner's browser is not locked out.
    await (await client.post("/api/logout", headers={"X-CSRF-Token": (await response.json())["csrf"]})).read()
    assert (await _login(client, "alice", OWNER_KEY, ATTACKER_ADDRESS)).status == 200


async def test_guessing_from_many_addresses_is_slowed_per_account(client, new_client):
    await register(client, "alice", None, auth_key=OWNER_KEY)
    botnet = await new_client()
    statuses = [(await _login(botnet, "alice", f"{guess:02d}" * 22, f"203.0.113.{guess}")).status
                for guess in range(12)]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    refused = await _login(botnet, "alice", "xx" * 22, "192.0.2.99")
    body = await refused.json()
    assert refused.status == 429 and int(refused.headers["Retry-After"]) == body["error"]["retry_after"] > 0
    # The owner's known browser still signs in; another account is untouched.
    assert (await _login(client, "alice", OWNER_KEY, "192.0.2.1")).status == 200
    assert (await _login(botnet, "bob", "xx" * 22, "192.0.2.98")).status == 401


async def test_forged_device_cookie_does_not_lift_the_account_limit(client, new_client):
    await register(client, "alice", None, auth_key=OWNER_KEY)
    attacker = await new_client()
    attacker.session.cookie_jar.update_cookies({"sealroom_device": "stolen-looking.bm90LWEtbWFj"})
    statuses = [(await _login(attacker, "alice", f"{guess:02d}" * 22, f"203.0.113.{guess}")).status
                for guess in range(11)]
    assert statuses[-1] == 429


async def test_one_address_cannot_guess_across_many_accounts(aiohttp_server, aiohttp_client, tmp_path):
    server = await _server_with(aiohttp_server, tmp_path, auth_attempts=3)  # 9 attempts per address
    attacker = await aiohttp_client(server)
    statuses = [(await _login(attacker, f"user{n}", "xx" * 22, ATTACKER_ADDRESS)).status for n in range(10)]
    assert statuses == [401] * 9 + [429]
    assert (await _login(attacker, "user0", "xx" * 22, OWNER_ADDRESS)).status == 401


async def test_sign_up_flood_from_one_address_is_limited(new_client):
    statuses = []
    for n in range(11):
        client = await new_client()
        response = await client.post("/api/register", json={"username": f"bot{n}", "auth_key": OWNER_KEY},
                                     headers={"X-CSRF-Token": await page_csrf(client),
                                              "X-Forwarded-For": ATTACKER_ADDRESS})
        statuses.append(response.status)
    assert statuses == [201] * 10 + [429]


# ---- signed-in actions ----------------------------------------------------

async def test_message_flood_gets_error_frame_with_retry_after_and_socket_stays_open(client):
    alice = await register(client, "alice", 0)
    room = (await (await alice.post("/api/rooms", {"name": "Flood"})).json())["room"]
    ws = await client.ws_connect("/ws")
    await _next_frame(ws, "hello")
    replies = []
    for n in range(11):  # Synapse's rc_message: a burst of 10
        envelope = await alice.envelope(room["id"], {alice.id: alice.public_key}, f"m{n}")
        await ws.send_str(json.dumps({"type": "send", "ref": f"r{n}", "room": room["id"], "envelope": envelope}))
        while True:
            reply = json.loads((await ws.receive(timeout=10)).data)
            if reply.get("ref") == f"r{n}":
                replies.append(reply)
                break
    assert [r["type"] for r in replies[:10]] == ["sent"] * 10
    assert replies[10]["type"] == "error" and replies[10]["error"] == "rate_limited"
    assert replies[10]["ref"] == "r10" and replies[10]["retry_after"] > 0
    await ws.send_str(json.dumps({"type": "ping"}))
    assert (await _next_frame(ws, "pong"))["type"] == "pong"
    history = await (await client.get(f"/api/rooms/{room['id']}/messages")).json()
    assert len(history["messages"]) == 10  # the refused one was not stored


async def test_room_creation_flood_gets_429_with_retry_after(client):
    alice = await register(client, "alice", 0)
    statuses = [(await alice.post("/api/rooms", {"name": f"Room {n}"})).status for n in range(11)]
    assert statuses[:10] == [201] * 10
    response = await alice.post("/api/rooms", {"name": "One more"})
    body = await response.json()
    assert response.status == 429 and body["error"]["code"] == "rate_limited"
    assert int(response.headers["Retry-After"]) == body["error"]["retry_after"] > 0


ONE_AT_A_TIME = {action: "0.001/1" for action in
                 ("room_create", "member_add", "invite", "upload_start", "search", "key_rotate")}


async def test_every_limited_action_answers_429_past_its_budget(aiohttp_server, aiohttp_client, tmp_path):
    server = await _server_with(aiohttp_server, tmp_path, rate_limits=ONE_AT_A_TIME)
    client = await aiohttp_client(server)
    alice = await register(client, "alice", 0)
    await register(await aiohttp_client(server), "bob", 1)
    room = (await (await alice.post("/api/rooms", {"name": "One"})).json())["room"]
    rid = room["id"]
    actions = {
        "room_create": lambda: alice.post("/api/rooms", {"name": "Two"}),
        "member_add": lambda: alice.post(f"/api/rooms/{rid}/members", {"username": "bob"}),
        "invite": lambda: alice.post(f"/api/rooms/{rid}/invites", {}),
        "upload_start": lambda: signed(alice, "POST", f"/api/rooms/{rid}/uploads", b'{"size": 10}'),
        "search": lambda: client.get("/api/search", params={"q": "bo"}),
        "key_rotate": lambda: alice.post("/api/me/key/rotate", {"public_key": b64(alice.public_key)}),
    }
    for action, call in actions.items():
        if action != "room_create":
            first = await call()
            assert first.status != 429, (action, await first.text())
        second = await call()
        assert second.status == 429, (action, await second.text())
        assert (await second.json())["error"]["retry_after"] > 0
    text = (await (await client.get("/metrics")).read()).decode()
    assert 'sealroom_rate_limited_total{action="search"} 1.0' in text


def test_limits_are_configured_from_the_environment():
    config = Config.from_env({"SEALROOM_RATE_MESSAGE": "1/5", "SEALROOM_RATE_SEARCH": "off",
                              "SEALROOM_RATE_LOGIN_ACCOUNT": "5/minute;20/day"})
    limits = config.effective_rate_limits
    assert limits["message"] == "1/5" and limits["search"] == "off" and limits["room_create"] == "0.016/10"
    assert parse_limit("off") == [] and [str(item) for item in parse_limit("5/minute;20/day")] == [
        "5 per 1 minute", "20 per 1 day"]
    assert [(item.amount, item.get_expiry()) for item in parse_limit("0.2/10")] == [(10, 5), (20, 50), (110, 500)]
    with pytest.raises(ConfigError, match="SEALROOM_RATE_MESAGE: there is no such action"):
        Config.from_env({"SEALROOM_RATE_MESAGE": "1/5"})
    with pytest.raises(ConfigError, match="SEALROOM_RATE_MESSAGE: 'fast' is not a limit"):
        Config.from_env({"SEALROOM_RATE_MESSAGE": "fast"})


# ---- caps -----------------------------------------------------------------

async def test_sockets_past_the_per_user_cap_are_refused_with_a_reason(aiohttp_server, aiohttp_client, tmp_path):
    server = await _server_with(aiohttp_server, tmp_path, max_sockets_per_user=2)
    client = await aiohttp_client(server)
    await register(client, "alice", None)
    open_sockets = [await client.ws_connect("/ws") for _ in range(2)]
    for ws in open_sockets:
        await _next_frame(ws, "hello")
    third = await client.ws_connect("/ws")
    refusal = json.loads((await third.receive(timeout=10)).data)
    assert refusal["error"] == "too_many" and "2 connections" in refusal["message"]
    assert (await third.receive(timeout=10)).type == WSMsgType.CLOSE and third.close_code == 1013
    await open_sockets[0].close()
    again = await client.ws_connect("/ws")  # a closed socket gives its slot back
    assert (await _next_frame(again, "hello"))["type"] == "hello"


async def test_sockets_past_the_process_cap_are_refused(aiohttp_server, aiohttp_client, tmp_path):
    server = await _server_with(aiohttp_server, tmp_path, max_sockets=1)
    alice_client, bob_client = await aiohttp_client(server), await aiohttp_client(server)
    await register(alice_client, "alice", None)
    await register(bob_client, "bob", None)
    await _next_frame(await alice_client.ws_connect("/ws"), "hello")
    refused = await bob_client.ws_connect("/ws")
    assert json.loads((await refused.receive(timeout=10)).data)["error"] == "too_many"
    assert (await refused.receive(timeout=10)).type == WSMsgType.CLOSE and refused.close_code == 1013


async def test_uploads_in_progress_are_capped_per_user(aiohttp_server, aiohttp_client, tmp_path):
    server = await _server_with(aiohttp_server, tmp_path, max_open_uploads=2)
    client = await aiohttp_client(server)
    alice = await register(client, "alice", 0)
    rid = (await (await alice.post("/api/rooms", {"name": "Files"})).json())["room"]["id"]
    started = [await signed(alice, "POST", f"/api/rooms/{rid}/uploads", b'{"size": 10}') for _ in range(3)]
    assert [r.status for r in started] == [201, 201, 429]
    assert "2 uploads in progress" in (await started[2].json())["error"]["message"]
    upload_id = (await started[0].json())["upload"]
    assert (await signed(alice, "DELETE", f"/api/uploads/{upload_id}")).status == 200
    assert (await signed(alice, "POST", f"/api/rooms/{rid}/uploads", b'{"size": 10}')).status == 201


JSON_ROUTES = [("POST", "/api/register"), ("POST", "/api/login"), ("PUT", "/api/me/key"),
               ("PUT", "/api/me/key-backup"), ("POST", "/api/me/key/rotate"), ("POST", "/api/rooms"),
               ("PATCH", "/api/rooms/{room}"), ("POST", "/api/rooms/{room}/members"),
               ("POST", "/api/invites/accept")]


async def test_oversized_body_on_every_json_route_gets_413(client):
    alice = await register(client, "alice", 0)
    rid = (await (await alice.post("/api/rooms", {"name": "Big"})).json())["room"]["id"]
    huge = json.dumps({"name": "x" * (100 * 1024)})
    for method, path in JSON_ROUTES:
        response = await client.request(method, path.format(room=rid), data=huge,
                                        headers={**alice.headers(), "Content-Type": "application/json"})
        assert response.status == 413, (path, response.status)
        assert (await response.json())["error"]["code"] == "too_large"
    response = await signed(alice, "POST", f"/api/rooms/{rid}/uploads", huge.encode())
    assert response.status == 413


# ---- slow consumer --------------------------------------------------------

async def test_slow_consumer_is_closed_and_the_room_goes_on(aiohttp_server, aiohttp_client, tmp_path):
    server = await _server_with(aiohttp_server, tmp_path, socket_send_queue=5, rate_limits={"message": "off"})
    alice_client, bob_client = await aiohttp_client(server), await aiohttp_client(server)
    alice = await register(alice_client, "alice", 0)
    bob = await register(bob_client, "bob", 1)
    room = (await (await alice.post("/api/rooms", {"name": "Busy", "members": ["bob"]})).json())["room"]
    slow = await bob_client.ws_connect("/ws")  # not read from until the sending is over
    await _next_frame(slow, "hello")
    # Small kernel buffers on both ends, so that a reader that stops reading holds the server's writer at once.
    slow._response.connection.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    for ws in server.app[app_keys.websockets]:
        ws._req.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    fast = await alice_client.ws_connect("/ws")
    await _next_frame(fast, "hello")
    members = {alice.id: alice.public_key, bob.id: bob.public_key}
    sent, delivered_fast = [], []
    for n in range(30):
        envelope = await alice.envelope(room["id"], members, f"{n:03d}" + "x" * 20_000)
        await fast.send_str(json.dumps({"type": "send", "ref": f"r{n}", "room": room["id"], "envelope": envelope}))
        while True:  # the sender gets its answer while the slow member is stuck
            frame = json.loads((await fast.receive(timeout=10)).data)
            if frame["type"] == "message":
                delivered_fast.append(frame["seq"])
            elif frame["type"] == "sent":
                sent.append(frame["seq"])
                break
    while len(delivered_fast) < len(sent):
        delivered_fast.append(json.loads((await fast.receive(timeout=10)).data)["seq"])
    assert delivered_fast == sent and len(sent) == 30

    seen_by_slow = []
    while True:
        message = await slow.receive(timeout=15)
        if message.type != WSMsgType.TEXT:
            break
        seen_by_slow.append(json.loads(message.data)["seq"])
    assert message.type == WSMsgType.CLOSE and message.data == 4008 and "behind" in message.extra
    assert seen_by_slow == sent[:len(seen_by_slow)] and len(seen_by_slow) < len(sent)
    # Catching up from the last seen message gets exactly the rest: nothing lost, nothing twice.
    history = [m["seq"] for m in (await (await bob_client.get(f"/api/rooms/{room['id']}/messages")).json())["messages"]]
    last_seen = seen_by_slow[-1] if seen_by_slow else 0
    assert seen_by_slow + [seq for seq in history if seq > last_seen] == sent
    text = (await (await alice_client.get("/metrics")).read()).decode()
    assert "sealroom_slow_consumer_closes_total 1.0" in text


# ---- health, metrics, logs ------------------------------------------------

async def test_health_probes_answer_without_a_session(client):
    response = await client.get("/healthz")
    assert response.status == 200 and (await response.json()) == {"status": "ok"}
    response = await client.get("/readyz")
    assert response.status == 200
    assert (await response.json())["checks"] == {"database": "ok", "bus": "ok", "store": "ok"}


async def test_readyz_fails_when_the_blob_store_is_gone(client, config):
    import shutil

    shutil.rmtree(config.data_dir / "blobs")
    response = await client.get("/readyz")
    body = await response.json()
    assert response.status == 503 and body["status"] == "not ready"
    assert body["checks"]["store"].startswith("failed") and body["checks"]["database"] == "ok"


async def test_metrics_count_connections_messages_and_delivery_latency(client):
    alice = await register(client, "alice", 0)
    room = (await (await alice.post("/api/rooms", {"name": "Counted"})).json())["room"]
    ws = await client.ws_connect("/ws")
    await _next_frame(ws, "hello")
    envelope = await alice.envelope(room["id"], {alice.id: alice.public_key})
    await ws.send_str(json.dumps({"type": "send", "ref": "a", "room": room["id"], "envelope": envelope}))
    await _next_frame(ws, "message")
    response = await client.get("/metrics")
    assert response.status == 200 and response.content_type == "text/plain"
    text = await response.text()
    for line in ("sealroom_websocket_connections 1.0", "sealroom_messages_stored_total 1.0",
                 'sealroom_websocket_frames_received_total{type="send"} 1.0'):
        assert line in text
    count = next(line for line in text.splitlines() if line.startswith("sealroom_delivery_latency_seconds_count"))
    assert float(count.split()[-1]) >= 1


async def test_sweeper_runs_are_counted(aiohttp_server, aiohttp_client, tmp_path):
    server = await _server_with(aiohttp_server, tmp_path, sweep_interval_seconds=1)
    client = await aiohttp_client(server)
    for _ in range(100):  # bounded: the sweeper runs every second
        text = await (await client.get("/metrics")).text()
        if 'sealroom_sweeper_runs_total{result="ok"}' in text:
            break
        await asyncio.sleep(0.1)
    assert 'sealroom_sweeper_runs_total{result="ok"}' in text


async def test_server_logs_never_carry_content_keys_invite_tokens_or_search_terms(client, new_client, caplog):
    caplog.set_level(logging.DEBUG)
    alice = await register(client, "alice", 0, auth_key="S" * 43 + "=")
    bob_client = await new_client()
    bob = await register(bob_client, "bob", 1)
    room = (await (await alice.post("/api/rooms", {"name": "Quiet"})).json())["room"]
    token = (await (await alice.post(f"/api/rooms/{room['id']}/invites", {})).json())["token"]
    assert (await bob.post("/api/invites/accept", {"token": token})).status == 200
    await client.get("/api/search", params={"q": "zebrafinch"})
    ws = await client.ws_connect("/ws")
    await _next_frame(ws, "hello")
    envelope = await alice.envelope(room["id"], {alice.id: alice.public_key, bob.id: bob.public_key}, "hush")
    await ws.send_str(json.dumps({"type": "send", "ref": "q", "room": room["id"], "envelope": envelope}))
    await _next_frame(ws, "sent")
    await ws.close()
    logged = "\n".join(record.getMessage() for record in caplog.records if record.name.startswith("sealroom"))
    for secret in (token, "zebrafinch", envelope["ct"][:40], b64(alice.public_key)[:40], "S" * 43):
        assert secret not in logged


async def test_catching_up_after_the_last_seen_message_loses_nothing_and_repeats_nothing(client, monkeypatch):
    from server.domain import rooms

    monkeypatch.setattr(rooms, "HISTORY_PAGE", 4)  # small pages, so that catching up takes several
    alice = await register(client, "alice", 0)
    room = (await (await alice.post("/api/rooms", {"name": "Pages"})).json())["room"]
    ws = await client.ws_connect("/ws")
    await _next_frame(ws, "hello")
    for n in range(10):
        envelope = await alice.envelope(room["id"], {alice.id: alice.public_key}, f"m{n}")
        await ws.send_str(json.dumps({"type": "send", "ref": f"r{n}", "room": room["id"], "envelope": envelope}))
        await _next_frame(ws, "sent")
    path = f"/api/rooms/{room['id']}/messages"
    latest = [m["seq"] for m in (await (await client.get(path)).json())["messages"]]
    assert len(latest) == 4 and latest == sorted(latest)
    seen, after = [1, 2], 2  # the page had shown two before it went offline
    while page := (await (await client.get(path, params={"after": str(after)})).json())["messages"]:
        seen += [m["seq"] for m in page]
        after = page[-1]["seq"]
    assert seen == list(range(1, 11))
    for bad in ("²", "-1", "9" * 19, "x"):  # 9…9 is past a BIGINT
        response = await client.get(path, params={"after": bad})
        assert response.status == 400 and (await response.json())["error"]["code"] == "invalid"


async def test_frame_flood_on_a_socket_is_limited_and_the_socket_stays_open(aiohttp_server, aiohttp_client, tmp_path):
    server = await _server_with(aiohttp_server, tmp_path, rate_limits={"frame": "0.001/5"})
    client = await aiohttp_client(server)
    await register(client, "alice", None)
    ws = await client.ws_connect("/ws")
    await _next_frame(ws, "hello")
    replies = []
    for _ in range(6):
        await ws.send_str(json.dumps({"type": "ping"}))
        replies.append(json.loads((await ws.receive(timeout=10)).data))
    assert [r["type"] for r in replies] == ["pong"] * 5 + ["error"]
    assert replies[5]["error"] == "rate_limited" and replies[5]["retry_after"] > 0 and not ws.closed
