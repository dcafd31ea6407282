"""Attachment upload and download over HTTP: signed requests, no IDOR, atomicity."""

import hashlib
import json
import secrets
import time

import pytest

from pyclient.crypto.pure import PureBackend
from pyclient.protocol.request_sig import sign_request
from server.domain.blobs import PART_SIZE
from tests.helpers import register, signed, fixed_keypair


@pytest.fixture
async def room(client, new_client):
    alice = await register(client, "alice", 0)
    bob = await register(await new_client(), "bob", 1)
    mallory = await register(await new_client(), "mallory", 2)
    room = (await (await alice.post("/api/rooms", {"name": "Files", "members": ["bob"]})).json())["room"]
    return alice, bob, mallory, room["id"]


async def upload(user, room_id: str, data: bytes) -> str:
    response = await signed(user, "POST", f"/api/rooms/{room_id}/uploads", json.dumps({"size": len(data)}).encode())
    assert response.status == 201, await response.text()
    upload_id = (await response.json())["upload"]
    for number, start in enumerate(range(0, len(data), PART_SIZE)):
        response = await signed(user, "PUT", f"/api/uploads/{upload_id}/parts/{number}", data[start:start + PART_SIZE])
        assert response.status == 200, await response.text()
    response = await signed(user, "POST", f"/api/uploads/{upload_id}/complete")
    assert response.status == 201, await response.text()
    return (await response.json())["blob"]


async def test_member_uploads_and_other_member_downloads(room):
    alice, bob, _, room_id = room
    data = bytes(range(256)) * 40000  # two parts
    blob_id = await upload(alice, room_id, data)
    response = await signed(bob, "GET", f"/api/blobs/{blob_id}")
    assert response.status == 200
    assert await response.read() == data


async def test_download_rejects_replayed_signature(room):
    alice, bob, _, room_id = room
    blob_id = await upload(alice, room_id, b"ciphertext")
    path = f"/api/blobs/{blob_id}"
    first = await signed(bob, "GET", path)
    assert first.status == 200
    replay = await bob.client.get(path, headers={name: first.request_info.headers[name] for name in
                                                 ("Signature", "Signature-Input", "Content-Digest")})
    assert replay.status == 401
    assert "already used" in (await replay.json())["error"]["message"]


async def test_upload_rejects_replayed_signature(room):
    alice, _, _, room_id = room
    body = json.dumps({"size": 10}).encode()
    first = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", body)
    assert first.status == 201
    headers = {name: first.request_info.headers[name] for name in ("Signature", "Signature-Input", "Content-Digest")}
    replay = await alice.client.post(f"/api/rooms/{room_id}/uploads", data=body, headers={**alice.headers(), **headers})
    assert replay.status == 401


async def test_session_cookie_without_private_key_gets_nothing(room):
    alice, bob, _, room_id = room
    blob_id = await upload(alice, room_id, b"ciphertext")
    assert (await bob.client.get(f"/api/blobs/{blob_id}")).status == 401
    wrong_key = await signed(bob, "GET", f"/api/blobs/{blob_id}", key=fixed_keypair(5)[0])
    assert wrong_key.status == 401
    assert "does not verify" in (await wrong_key.json())["error"]["message"]


async def test_stale_signature_is_refused(room):
    alice, bob, _, room_id = room
    blob_id = await upload(alice, room_id, b"ciphertext")
    response = await signed(bob, "GET", f"/api/blobs/{blob_id}", created=int(time.time()) - 3600)
    assert response.status == 401
    assert "time window" in (await response.json())["error"]["message"]


async def test_signature_is_bound_to_the_path(room):
    alice, bob, _, room_id = room
    await upload(alice, room_id, b"ciphertext")
    other = await upload(alice, room_id, b"other")
    headers = await sign_request(PureBackend(), bob.private_key, method="GET", path="/api/blobs/" + "0" * 32,
                                 body=b"", keyid=bob.id, created=int(time.time()), random_bytes=secrets.token_bytes)
    response = await bob.client.get(f"/api/blobs/{other}", headers=headers)
    assert response.status == 401
    assert "does not verify" in (await response.json())["error"]["message"]


async def test_non_member_cannot_download_another_rooms_blob(room):
    alice, _, mallory, room_id = room
    blob_id = await upload(alice, room_id, b"ciphertext")
    response = await signed(mallory, "GET", f"/api/blobs/{blob_id}")
    assert response.status == 404
    response = await signed(mallory, "POST", f"/api/rooms/{room_id}/uploads", b'{"size": 5}')
    assert response.status == 404


async def test_no_session_is_401(room, new_client):
    alice, _, _, room_id = room
    blob_id = await upload(alice, room_id, b"ciphertext")
    stranger = await new_client()
    assert (await stranger.get(f"/api/blobs/{blob_id}")).status == 401


async def test_oversize_upload_is_413_before_any_byte(room, config):
    alice, _, _, room_id = room
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads",
                            json.dumps({"size": 3 * config.max_upload_bytes}).encode())
    assert response.status == 413
    assert "too large" in (await response.json())["error"]["message"]


async def test_a_2_gib_file_fits_when_the_server_allows_2_gib(aiohttp_server, aiohttp_client, tmp_path):
    """The largest SEALROOM_MAX_UPLOAD_BYTES: its file is accepted, up to its last part; one byte more is not."""
    from pyclient.protocol.attachment import blob_size
    from server.app import create_app
    from server.config import Config

    largest = 2 * 1024 ** 3
    server = await aiohttp_server(create_app(Config(data_dir=tmp_path / "data", max_upload_bytes=largest,
                                                    user_quota_bytes=2 * largest)))
    alice = await register(await aiohttp_client(server), "alice", 0)
    await register(await aiohttp_client(server), "bob", 1)
    room_id = (await (await alice.post("/api/rooms", {"name": "Big", "members": ["bob"]})).json())["room"]["id"]
    size = blob_size(largest)
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", json.dumps({"size": size + 1}).encode())
    assert response.status == 413
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", json.dumps({"size": size}).encode())
    assert response.status == 201, await response.text()
    upload_id, last = (await response.json())["upload"], (size - 1) // PART_SIZE
    response = await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/{last}", b"x" * (size - last * PART_SIZE))
    assert response.status == 200, await response.text()


async def test_part_larger_than_announced_is_refused(room):
    alice, _, _, room_id = room
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", b'{"size": 4}')
    upload_id = (await response.json())["upload"]
    response = await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/0", b"12345")
    assert response.status == 413


async def test_incomplete_upload_leaves_no_blob(room, app_server):
    from server import app_keys

    alice, bob, _, room_id = room
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", b'{"size": 100}')
    upload_id = (await response.json())["upload"]
    assert (await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/0", b"x" * 50)).status == 200
    response = await signed(alice, "POST", f"/api/uploads/{upload_id}/complete")
    assert response.status == 400
    assert "missing" in (await response.json())["error"]["message"]
    response = await signed(alice, "DELETE", f"/api/uploads/{upload_id}")
    assert response.status == 200
    store = app_server.app[app_keys.blob_store]
    assert [blob async for blob in store.list_ids()] == []


async def test_a_part_lost_in_a_power_cut_makes_complete_refuse_and_leaves_no_blob(room, app_server):
    """Parts are not fsynced: after a power cut one may be shorter than the
    server recorded. Complete must notice instead of storing a short file."""
    from server import app_keys
    from server.models import Upload
    from server.domain.blobs import part_blob_id

    alice, _, _, room_id = room
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", b'{"size": 100}')
    upload_id = (await response.json())["upload"]
    assert (await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/0", b"x" * 100)).status == 200
    store = app_server.app[app_keys.blob_store]
    async with app_server.app[app_keys.sessionmaker]() as db:
        part = store._path(part_blob_id(await db.get(Upload, upload_id), 0))
    part.write_bytes(b"x" * 60)  # what the disk kept
    response = await signed(alice, "POST", f"/api/uploads/{upload_id}/complete")
    assert response.status == 400
    assert "could not be assembled" in (await response.json())["error"]["message"]
    assert [blob async for blob in store.list_ids()] == [part.name]  # the part, until the upload is swept


async def test_abandoned_uploads_stop_counting_against_the_quota_and_are_forgotten(room, app_server):
    from datetime import datetime, timedelta, timezone

    from server import app_keys
    from server.domain.blobs import (UPLOAD_IDLE, drop_abandoned_uploads, part_blob_id, referenced_blob_ids,
                                     storage_used)
    from server.models import Upload

    alice, _, _, room_id = room
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads", b'{"size": 100}')
    upload_id = (await response.json())["upload"]
    assert (await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/0", b"x" * 50)).status == 200
    sessionmaker = app_server.app[app_keys.sessionmaker]
    now = datetime.now(timezone.utc)
    async with sessionmaker() as db, db.begin():
        upload = await db.get(Upload, upload_id)
        assert await storage_used(db, alice.id, now=now) == 100
        assert await storage_used(db, alice.id, now=now + UPLOAD_IDLE) == 0  # abandoned: no longer counted
        assert await drop_abandoned_uploads(db, now=now) == []
        blob_ids = await drop_abandoned_uploads(db, now=now + UPLOAD_IDLE + timedelta(seconds=1))
        # every part it may have written, and the blob it would have become
        assert part_blob_id(upload, 0) in blob_ids and upload.blob_id in blob_ids
        assert await referenced_blob_ids(db, blob_ids) == set()
        assert await storage_used(db, alice.id, now=now) == 0


async def test_a_body_signed_by_its_sha256_gets_the_same_headers():
    """The page hashes a part in WebCrypto and signs only its digest: the headers must not change."""
    from pyclient.crypto.native import NativeBackend
    private_key, _ = fixed_keypair(0)
    body = secrets.token_bytes(1000)
    common = {"method": "PUT", "path": "/api/uploads/" + "ab" * 16 + "/parts/0", "keyid": "cd" * 16,
              "created": 1_700_000_000, "random_bytes": lambda n: b"\x01" * n}
    by_body = await sign_request(NativeBackend(), private_key, body=body, **common)
    by_digest = await sign_request(NativeBackend(), private_key, body=b"", body_sha256=hashlib.sha256(body).digest(),
                                   **common)
    assert by_body == by_digest


async def test_parts_may_arrive_in_any_order_and_join_in_number_order(room):
    alice, bob, _, room_id = room
    parts = [secrets.token_bytes(PART_SIZE), secrets.token_bytes(PART_SIZE), secrets.token_bytes(1000)]
    response = await signed(alice, "POST", f"/api/rooms/{room_id}/uploads",
                            json.dumps({"size": sum(map(len, parts))}).encode())
    upload_id = (await response.json())["upload"]
    response = await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/2", parts[2] + b"x")
    assert response.status == 413  # more than what is left for the last part
    for number in (2, 0):
        response = await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/{number}", parts[number])
        assert response.status == 200, await response.text()
    response = await signed(alice, "POST", f"/api/uploads/{upload_id}/complete")
    assert response.status == 400 and "missing" in (await response.json())["error"]["message"]
    response = await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/0", parts[0])
    assert response.status == 409  # each number once
    response = await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/3", b"x")
    assert response.status == 400  # past the size announced
    assert (await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/1", parts[1])).status == 200
    response = await signed(alice, "POST", f"/api/uploads/{upload_id}/complete")
    assert response.status == 201, await response.text()
    response = await signed(bob, "GET", f"/api/blobs/{(await response.json())['blob']}")
    assert await response.read() == b"".join(parts)
