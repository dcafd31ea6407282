"""Key backup on/off and key rotation through the HTTP API (no browser)."""

from tests import helpers
from tests.helpers import b64, register

SEALED = b64(b"SRK1" + bytes(60))
SEALED_NEW = b64(b"SRK1" + bytes(range(60)))


async def test_server_backup_can_be_turned_off_and_on(client):
    user = await register(client, "alice")
    assert (await (await client.get("/api/me")).json())["user"]["key_backup"] is True
    response = await user.put("/api/me/key-backup", {"key_backup": None})
    assert response.status == 200 and (await response.json())["key_backup"] is False
    assert (await client.get("/api/me/key-backup")).status == 404
    response = await user.put("/api/me/key-backup", {"key_backup": SEALED_NEW})
    assert (await response.json())["user"]["key_backup"] is True
    assert (await (await client.get("/api/me/key-backup")).json())["key_backup"] == SEALED_NEW


async def test_rotation_keeps_the_old_key_and_its_sealed_backup(client):
    user = await register(client, "alice")
    new_private, new_public = helpers.fixed_keypair(1)
    response = await user.post("/api/me/key/rotate", {"public_key": b64(new_public), "key_backup": SEALED_NEW,
                                                      "proof": await helpers.key_proof(user, new_private, new_public)})
    assert response.status == 200, await response.text()
    assert (await response.json())["user"]["public_key"] == b64(new_public)
    backup = await (await client.get("/api/me/key-backup")).json()
    assert backup["key_backup"] == SEALED_NEW
    assert backup["earlier"] == [{"public_key": b64(user.public_key), "key_backup": SEALED}]
    room = (await (await user.post("/api/rooms", {"name": "After", "members": []})).json())["room"]
    members = (await (await client.get(f"/api/rooms/{room['id']}")).json())["room"]["members"]
    assert members[0]["earlier_keys"] == [b64(user.public_key)]


async def test_rotation_refuses_a_malformed_or_unchanged_key(client):
    user = await register(client, "alice")
    response = await user.post("/api/me/key/rotate", {"public_key": b64(b"junk"), "key_backup": None})
    assert response.status == 400 and "refused" in (await response.json())["error"]["message"]
    response = await user.post("/api/me/key/rotate", {"public_key": b64(user.public_key), "key_backup": None})
    assert response.status == 400


async def test_members_do_not_learn_whether_someone_keeps_a_server_backup(client, new_client):
    alice = await register(client, "alice")
    await register(await new_client(), "bob", key_index=1)
    response = await alice.post("/api/rooms", {"name": "Room", "members": ["bob"]})
    members = (await response.json())["room"]["members"]
    assert all("key_backup" not in member for member in members)
