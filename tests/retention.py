"""Helpers for the expiry, backup and admin tests: a clock tests move, and a
room with a message and a blob in it."""

import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from server import app_keys
from server.app import create_app
from server.domain.blobs import part_blob_id
from server.models import Blob, Upload, UploadPart
from tests.helpers import ApiUser, register

WEEK = timedelta(days=7)


class Clock:
    """``app[app_keys.clock]``: real time plus however far a test moved it."""

    def __init__(self):
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


# Fixtures for test modules that move time: import both names into the module.
@pytest.fixture(name="clock")
def clock_fixture() -> Clock:
    return Clock()


@pytest.fixture(name="app_server")
async def clocked_app_server(aiohttp_server, config, clock):
    """conftest's app_server, on ``clock``."""
    app = create_app(config)
    app[app_keys.clock] = clock
    return await aiohttp_server(app)


@dataclass
class SeededRoom:
    alice: ApiUser
    bob: ApiUser
    room_id: str
    envelope: dict
    blob_id: str
    blob: bytes

    def sentinels(self) -> list[bytes]:
        """Byte strings that are only ever in this room's ciphertext."""
        return [self.envelope["ct"].encode(), self.envelope["sig"].encode(), self.blob[:64]]


async def ws_reply(ws, types=("sent", "error")) -> dict:
    while True:
        frame = json.loads((await ws.receive(timeout=10)).data)
        if frame["type"] in types:
            return frame


async def seed_room(alice_client, bob_client, name: str = "Plans") -> SeededRoom:
    """Alice and Bob, a room, one message sent over the WebSocket, one stored blob."""
    alice = await register(alice_client, "alice", 0)
    bob = await register(bob_client, "bob", 1)
    response = await alice.post("/api/rooms", {"name": name, "members": [bob.username]})
    room_id = (await response.json())["room"]["id"]
    envelope = await alice.envelope(room_id, {alice.id: alice.public_key, bob.id: bob.public_key})
    ws = await alice_client.ws_connect("/ws")
    await ws.send_str(json.dumps({"type": "send", "ref": "seed", "room": room_id, "envelope": envelope}))
    assert (await ws_reply(ws))["type"] == "sent"
    await ws.close()
    blob_id, blob = await store_blob(alice_client.app, room_id, alice.id)
    return SeededRoom(alice, bob, room_id, envelope, blob_id, blob)


async def store_blob(app, room_id: str, uploader_id: str) -> tuple[str, bytes]:
    """What the upload endpoint does: the blob into the store, then its row."""
    blob_id, blob = secrets.token_hex(16), b"BLOB-CIPHERTEXT-" + secrets.token_bytes(64) + os.urandom(4096)

    async def chunks():
        yield blob

    await app[app_keys.blob_store].put(blob_id, chunks(), max_bytes=len(blob))
    async with app[app_keys.sessionmaker]() as db, db.begin():
        db.add(Blob(id=blob_id, room_id=room_id, uploader_id=uploader_id, size=len(blob),
                    created_at=datetime.now(timezone.utc)))
    return blob_id, blob


def scan(directory: Path, needle: bytes) -> list[str]:
    return [str(path) for path in directory.rglob("*") if path.is_file() and needle in path.read_bytes()]


async def start_upload_with_part(app, room_id: str, user_id: str, *, started: datetime) -> str:
    """An upload left half-way: one part stored, never completed. Returns the part's blob id."""
    upload = Upload(id=secrets.token_hex(16), room_id=room_id, user_id=user_id, size=4096, created_at=started,
                    blob_id=secrets.token_hex(16), touched_at=started)
    part_id = part_blob_id(upload, 0)

    async def chunks():
        yield b"PART-CIPHERTEXT-" + secrets.token_bytes(64)

    await app[app_keys.blob_store].put(part_id, chunks(), max_bytes=1024)
    async with app[app_keys.sessionmaker]() as db, db.begin():
        db.add(upload)
        await db.flush()
        db.add(UploadPart(upload_id=upload.id, number=0, blob_id=part_id, size=80))
    return part_id
