"""A person scripted over the API (CPython pyclient, a fixed key) to fill a room fast."""

import asyncio
import base64
import secrets
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

import aiohttp

from tests.helpers import register

# A person writes at most 10 messages in a burst (server/ratelimit.py); a seeded room needs hundreds.
SEEDING_LIMITS = {"SEALROOM_RATE_MESSAGE": "1000/1000", "SEALROOM_RATE_FRAME": "1000/1000"}


def seed_room(server_url: str, member: str, count: int) -> None:
    """A third person, scripted over the API, opens a room with ``member`` and writes ``count`` messages."""
    async def run():
        from pyclient.crypto.pure import PureBackend
        from pyclient.protocol.envelope import encode_envelope, seal

        async with aiohttp.ClientSession(server_url, headers={"Origin": server_url},
                                         cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # an IP host
            carol = await register(http, "carol", key_index=5, auth_key="B" * 43 + "=")
            me, private_key = carol.id, carol.private_key
            room = (await (await carol.post("/api/rooms", {"name": "Busy", "members": [member]})).json())["room"]
            recipients = {m["id"]: base64.b64decode(m["public_key"]) for m in room["members"]}
            backend = PureBackend()
            async with http.ws_connect("/ws") as ws:
                await ws.receive_json()  # hello
                for index in range(count):
                    envelope = await seal(backend, room=room["id"], sender=me, message_id=secrets.token_hex(16),
                                          sender_private_key=private_key, recipients=recipients,
                                          payload={"kind": "text", "body": f"message {index}"},
                                          random_bytes=secrets.token_bytes)
                    await ws.send_json({"type": "send", "ref": str(index), "room": room["id"],
                                        "envelope": encode_envelope(envelope)})
                    while (await ws.receive_json())["type"] != "sent":
                        pass

    failure = []
    thread = threading.Thread(target=lambda: failure.append(asyncio.run(run())))
    thread.start()
    thread.join(300)
    assert failure == [None], "seeding the room failed"


def backdate(data_dir: Path, room_name: str, times: dict[int, datetime]) -> None:
    """Move messages of a room back in time, as if they had been written then: ``times`` maps the
    message's place in the room (0 = the first) to an aware datetime. The server's clock cannot be
    set from outside its process, so the stored rows are changed, as a server that ran then would have."""
    database = sqlite3.connect(data_dir / "sealroom.db")
    with database:
        room_id, = database.execute("SELECT id FROM rooms WHERE name = ?", (room_name,)).fetchone()
        seqs = [seq for seq, in database.execute("SELECT seq FROM envelopes WHERE room_id = ? ORDER BY seq", (room_id,))]
        for place, when in times.items():
            stored = when.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
            database.execute("UPDATE envelopes SET created_at = ? WHERE seq = ?", (stored, seqs[place]))
    database.close()
