"""Hostile input never gets a 500 or a traceback: a clear JSON error under
/api, an error frame on the socket (issue 9, items 3-5, one error path)."""

import json
import secrets
import time

import pytest
from aiohttp import web

from pyclient.crypto.pure import PureBackend
from pyclient.protocol.request_sig import sign_request
from tests.helpers import page_csrf, register, signed

DEEP = "[" * 30_000 + "]" * 30_000  # fits in the 64 KiB body limit
DEEP_OBJECT = "{\"a\":" * 10_000 + "1" + "}" * 10_000


def assert_error_shape(data: dict, code: str) -> None:
    assert set(data) == {"error"} and set(data["error"]) == {"code", "message"}, data
    assert data["error"]["code"] == code, data
    assert data["error"]["message"] and "Traceback" not in data["error"]["message"]


# ---- item 3: before login ---------------------------------------------------

@pytest.mark.parametrize("path", ["/api/login", "/api/register"])
@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
async def test_nested_json_never_500s_before_login(client, path, body):
    csrf = await page_csrf(client)
    response = await client.post(path, data=body, headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert response.status == 400
    assert_error_shape(await response.json(), "invalid")


@pytest.mark.parametrize("token", ["é" * 43, "\u2603", "ä"])
async def test_non_ascii_csrf_token_is_a_clean_403(client, token):
    await page_csrf(client)
    response = await client.post("/api/login", json={"username": "alice", "auth_key": "A" * 44},
                                 headers={"X-CSRF-Token": token.encode("utf-8").decode("latin-1")})
    assert response.status == 403
    assert_error_shape(await response.json(), "csrf")


async def test_undecodable_user_agent_never_500s_at_registration(client):
    csrf = await page_csrf(client)
    response = await client.post("/api/register", json={"username": "alice", "auth_key": "A" * 44},
                                 headers={"X-CSRF-Token": csrf, "User-Agent": "\xff\xfe bot".encode("latin-1").decode("latin-1")})
    assert response.status == 201, await response.text()


# ---- item 4: more 500s ------------------------------------------------------

@pytest.fixture
async def alice_room(client):
    alice = await register(client, "alice", 0)
    room = (await (await alice.post("/api/rooms", {"name": "Plans"})).json())["room"]
    return alice, room["id"]


@pytest.mark.parametrize("before", ["²", "١٢", str(10**30), "9223372036854775808", "-1", "1e3", " 1"])
async def test_odd_before_parameter_is_a_clean_400(client, alice_room, before):
    _, room_id = alice_room
    response = await client.get(f"/api/rooms/{room_id}/messages", params={"before": before})
    assert response.status == 400
    assert_error_shape(await response.json(), "invalid")


async def test_largest_before_parameter_is_accepted(client, alice_room):
    _, room_id = alice_room
    response = await client.get(f"/api/rooms/{room_id}/messages", params={"before": str(2**63 - 1)})
    assert response.status == 200


@pytest.mark.parametrize("name", ["\ud800", "ok \udfff", "a\x00b", "\u202eexe.jpg", "\u2066x\u2069", "\u200b",
                                  "\u200b\u200c \u2060", "\u0301\u0301"])
async def test_room_name_with_surrogate_bidi_nul_or_only_invisible_is_refused(client, alice_room, name):
    alice, room_id = alice_room
    body = json.dumps({"name": name})  # escapes lone surrogates as \udXXX, as an attacker would send them
    for method, path in (("POST", "/api/rooms"), ("PATCH", f"/api/rooms/{room_id}")):
        response = await client.request(method, path, data=body,
                                        headers={**alice.headers(), "Content-Type": "application/json"})
        assert response.status == 400, (name, await response.text())
        assert_error_shape(await response.json(), "invalid")


async def test_room_name_with_emoji_joiners_is_kept(client, alice_room):
    alice, _ = alice_room
    response = await alice.post("/api/rooms", {"name": "Family \U0001F468\u200d\U0001F469\u200d\U0001F467"})
    assert response.status == 201


async def test_non_ascii_blob_path_with_wellformed_signature_never_500s(client, alice_room):
    alice, _ = alice_room
    sig_headers = await sign_request(PureBackend(), alice.private_key, method="GET", path="/api/blobs/" + "0" * 32,
                                     body=b"", keyid=alice.id, created=int(time.time()),
                                     random_bytes=secrets.token_bytes)
    for path in ("/api/blobs/é" + "0" * 31, "/api/blobs/\u0660" * 2, "/api/uploads/é/complete"):
        response = await client.get(path, headers={**alice.headers(), **sig_headers})
        assert response.status in (404, 405)
        assert_error_shape(await response.json(), "not_found" if response.status == 404 else "method_not_allowed")


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT, "[1]", '"size"', "\xff"])
async def test_nested_json_to_start_upload_never_500s(client, alice_room, body):
    alice, room_id = alice_room
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", body.encode("utf-8", "surrogateescape"))
    assert response.status == 400
    assert_error_shape(await response.json(), "invalid")


# ---- item 5: crafted WebSocket frames ---------------------------------------

@pytest.mark.parametrize("raw", ['{"type": []}', '{"type": {}}', '{"type": null}', '{"type": 1.5}', DEEP,
                                 '{"type": "send", "room": []}', '{"type": "send", "room": "x", "envelope": ' +
                                 DEEP_OBJECT + "}", "[]", '"ping"'])
async def test_crafted_websocket_frame_gets_error_frame_and_socket_stays_open(client, alice_room, raw):
    ws = await client.ws_connect("/ws")
    assert json.loads((await ws.receive()).data)["type"] == "hello"
    await ws.send_str(raw)
    reply = json.loads((await ws.receive(timeout=10)).data)
    assert reply["type"] == "error" and reply["error"] in ("invalid", "not_found", "too_large"), reply
    assert len(reply["message"]) < 200 and "Traceback" not in reply["message"]
    await ws.send_json({"type": "ping"})
    assert json.loads((await ws.receive(timeout=10)).data)["type"] == "pong"
    assert not ws.closed
    await ws.close()


# ---- one error path ---------------------------------------------------------

@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/api/no-such-route", 404, "not_found"),
    ("PUT", "/api/me", 405, "method_not_allowed"),  # GET, PATCH and DELETE are routed
    ("GET", "/api/rooms", 401, "unauthenticated"),
])
async def test_every_api_error_is_one_json_shape(client, method, path, status, code):
    csrf = await page_csrf(client)
    response = await client.request(method, path, headers={"X-CSRF-Token": csrf})
    assert response.status == status
    assert response.content_type == "application/json"
    assert_error_shape(await response.json(), code)
    if status == 405:
        assert "GET" in response.headers["Allow"]


async def test_oversized_body_is_a_json_413(client):
    csrf = await page_csrf(client)
    response = await client.post("/api/login", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                                 headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"})
    assert response.status == 413
    assert_error_shape(await response.json(), "too_large")


@pytest.fixture
async def broken_client(aiohttp_client, config):
    """An app with two extra routes: one with a bug, one raising an unknown code."""
    from server.app import create_app
    from server.domain.errors import DomainError
    from server.http.common import ApiError

    class Strange(DomainError):
        code = "strange"

    async def bug(request):
        raise KeyError("secret internal detail")

    async def unknown(request):
        raise Strange("An error with a code nobody mapped.")

    async def unknown_api(request):
        raise ApiError("also_strange", "Another one.")

    app = create_app(config)
    app.router.add_get("/api/test-bug", bug)
    app.router.add_get("/api/test-unknown", unknown)
    app.router.add_get("/api/test-unknown-api", unknown_api)
    return await aiohttp_client(app)


async def test_a_bug_is_a_json_500_without_traceback(broken_client):
    response = await broken_client.get("/api/test-bug")
    assert response.status == 500
    data = await response.json()
    assert_error_shape(data, "internal")
    assert "secret internal detail" not in json.dumps(data)


@pytest.mark.parametrize("path", ["/api/test-unknown", "/api/test-unknown-api"])
async def test_unknown_error_code_maps_to_500_not_400(broken_client, path):
    response = await broken_client.get(path)
    assert response.status == 500
    assert_error_shape(await response.json(), "internal")


def test_websocket_error_codes_are_the_http_codes():
    from server.domain import errors
    from server.http.common import STATUS_FOR_CODE
    from server.http.ws import error_frame

    for cls in (c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.DomainError)
                and c is not errors.DomainError):
        assert cls.code in STATUS_FOR_CODE, cls
        assert error_frame(cls.code, "x")["error"] == cls.code
    assert error_frame("made_up", "x")["error"] == "internal"


def test_api_error_is_not_a_json_round_trip():
    from server.http.common import ApiError

    error = ApiError("conflict", "Taken.")
    assert not isinstance(error, web.HTTPException)
    assert (error.code, error.message, error.status) == ("conflict", "Taken.", 409)


# ---- item 10: cost --------------------------------------------------------

def count_statements(app):
    from sqlalchemy import event

    from server import app_keys

    statements = []
    event.listen(app[app_keys.engine].sync_engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))
    return statements


async def test_thousands_of_repeated_member_names_cost_one_lookup(client, new_client, app_server):
    """6,000 copies of one name used to be 6,000 lookups before the cap was checked."""
    alice = await register(client, "alice", 0)
    await register(await new_client(), "bob", 1)
    statements = count_statements(app_server.app)
    response = await alice.post("/api/rooms", {"name": "Many", "members": ["bob", "BOB", "alice"] * 2000})
    assert response.status == 201, await response.text()
    members = (await response.json())["room"]["members"]
    assert sorted(m["username"] for m in members) == ["alice", "bob"]
    assert len(statements) < 20, len(statements)


async def test_too_many_distinct_member_names_are_refused_before_any_lookup(client, app_server):
    alice = await register(client, "alice", 0)
    statements = count_statements(app_server.app)
    response = await alice.post("/api/rooms", {"name": "Many", "members": [f"user{n}" for n in range(5000)]})
    assert response.status == 400 and "at most" in (await response.json())["error"]["message"]
    assert not any("username_key IN" in statement for statement in statements)
    assert len(statements) < 10, len(statements)


@pytest.mark.parametrize("username", [["bob"], {"a": 1}, 5, None])
async def test_member_name_of_the_wrong_type_is_a_clean_error(client, alice_room, username):
    alice, room_id = alice_room
    response = await alice.post(f"/api/rooms/{room_id}/members", {"username": username})
    assert response.status in (400, 404)
    assert "error" in await response.json()


# ---- item 9: identity -----------------------------------------------------

async def _register_status(client, username: str) -> tuple[int, dict]:
    csrf = await page_csrf(client)
    response = await client.post("/api/register", json={"username": username, "auth_key": "B" * 44},
                                 headers={"X-CSRF-Token": csrf})
    return response.status, await response.json()


@pytest.mark.parametrize("impostor", ["\u0430lice", "ＡＬＩＣＥ", "a1ice", "aIice", "ALICE", "\U0001d41a\U0001d425ice",
                                      "\u0430\u217cice"])
async def test_look_alike_username_cannot_register_beside_the_real_one(client, new_client, impostor):
    await register(client, "alice", key_index=None)
    status, data = await _register_status(await new_client(), impostor)
    assert status in (400, 409), (impostor, data)
    assert data["error"]["code"] in ("invalid", "conflict")


@pytest.mark.parametrize("username", ["\u0440\u0430\u0443\u0440\u0430l", "ＢＯＢ", "b\u043eb"])
async def test_mixed_script_or_fullwidth_username_is_refused_even_when_free(client, username):
    status, data = await _register_status(client, username)
    assert status == 400, data
    assert_error_shape(data, "invalid")


@pytest.mark.parametrize("username", ["nguyễn", "Nguyễn_Văn", "łukasz", "Σωκράτης", "владимир", "李小龍", "dave-2"])
async def test_ordinary_names_in_any_one_script_still_register(client, username):
    status, data = await _register_status(client, username)
    assert status == 201, data


def test_skeleton_is_equal_for_look_alikes_only():
    from server.domain.identity import skeleton

    assert skeleton("alice") == skeleton("\u0430lice") == skeleton("a1ice") == skeleton("aIice") == skeleton("\u0430\u217cice")
    assert skeleton("alice") != skeleton("alina")
    assert skeleton("bob") != skeleton("rob")


async def test_names_registered_before_the_check_get_a_skeleton_so_their_look_alikes_are_refused(tmp_path):
    """Migration 0008 fills in the skeleton of every existing user."""
    from alembic import command
    from sqlalchemy import text

    from server.db import alembic_config, make_engine, migrate

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")

    def upgrade_to_0006(connection):
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")

    async with engine.begin() as connection:
        await connection.run_sync(upgrade_to_0006)
        await connection.execute(text(
            "INSERT INTO users (id, username, username_key, password_hash, created_at, disabled) "
            "VALUES ('u1', 'alice', 'alice', 'x', '2026-01-01 00:00:00', 0)"))
    await migrate(engine)
    async with engine.connect() as connection:
        found = (await connection.execute(text("SELECT username_skeleton FROM users"))).scalar_one()
    await engine.dispose()
    from server.domain.identity import skeleton
    assert found == skeleton("alice") == skeleton("a1ice")


# ---- item 9: proof of possession of the key -------------------------------

async def _challenge(user) -> bytes:
    import base64

    response = await user.post("/api/me/key/challenge", {})
    assert response.status == 200
    return base64.b64decode((await response.json())["challenge"])


async def _proof(user, private_key: bytes, public_key: bytes, challenge: bytes, user_id: str | None = None) -> str:
    from pyclient.protocol.key_proof import sign_key_proof
    from tests.helpers import b64

    return b64(await sign_key_proof(PureBackend(), private_key, user_id=user_id or user.id, challenge=challenge,
                                    public_key=public_key))


async def test_registering_someone_elses_public_key_is_refused(client, new_client):
    from tests.helpers import b64, fixed_keypair

    alice = await register(client, "alice", 0)
    eve = await register(await new_client(), "eve", key_index=None)
    eve_private, _ = fixed_keypair(3)
    stolen = alice.public_key
    attempts = [
        {},                                                                    # no proof at all
        {"proof": await _proof(eve, eve_private, stolen, await _challenge(eve))},  # signed with her own key
        {"proof": await _proof(eve, alice.private_key, stolen, b"\x00" * 32)},  # a challenge the server never gave
    ]
    for extra in attempts:
        await _challenge(eve)
        response = await eve.put("/api/me/key", {"public_key": b64(stolen), **extra})
        assert response.status in (400, 403), await response.text()
        assert (await response.json())["error"]["code"] in ("invalid", "forbidden")
    me = await (await eve.client.get("/api/me")).json()
    assert me["user"]["public_key"] is None


async def test_key_proof_for_another_account_or_key_is_refused(client, new_client):
    from tests.helpers import b64, fixed_keypair

    alice = await register(client, "alice", 0)
    bob = await register(await new_client(), "bob", key_index=None)
    bob_private, bob_public = fixed_keypair(1)
    other_private, other_public = fixed_keypair(2)
    challenge = await _challenge(bob)
    for proof in (await _proof(bob, bob_private, bob_public, challenge, user_id=alice.id),  # bound to alice
                  await _proof(bob, other_private, other_public, challenge)):           # another key's proof
        response = await bob.put("/api/me/key", {"public_key": b64(bob_public), "proof": proof})
        assert response.status == 403, await response.text()
    response = await bob.put("/api/me/key", {"public_key": b64(bob_public),
                                             "proof": await _proof(bob, bob_private, bob_public, challenge)})
    assert response.status == 200, await response.text()


async def test_key_challenge_is_single_use(client):
    from tests.helpers import b64, fixed_keypair

    bob = await register(client, "bob", key_index=None)
    private, public = fixed_keypair(1)
    challenge = await _challenge(bob)
    proof = await _proof(bob, private, public, challenge)
    assert (await bob.put("/api/me/key", {"public_key": b64(public), "proof": proof})).status == 200
    new_private, new_public = fixed_keypair(2)
    replay = await bob.post("/api/me/key/rotate", {"public_key": b64(new_public),
                                                   "proof": await _proof(bob, new_private, new_public, challenge)})
    assert replay.status == 400 and "challenge" in (await replay.json())["error"]["message"]


async def test_stale_key_challenge_is_refused(aiohttp_client, config):
    from datetime import timedelta

    from server import app_keys
    from server.app import create_app
    from tests.helpers import b64, fixed_keypair
    from tests.retention import Clock

    app, clock = create_app(config), Clock()
    app[app_keys.clock] = clock
    bob = await register(await aiohttp_client(app), "bob", key_index=None)
    private, public = fixed_keypair(1)
    challenge = await _challenge(bob)
    clock.advance(timedelta(minutes=6))
    response = await bob.put("/api/me/key", {"public_key": b64(public),
                                             "proof": await _proof(bob, private, public, challenge)})
    assert response.status == 400 and "expired" in (await response.json())["error"]["message"]
