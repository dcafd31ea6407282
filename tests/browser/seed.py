"""A person scripted over the API (CPython pyclient, a fixed key) to fill a room fast."""

import asyncio
import base64
import secrets
import threading

import aiohttp

from tests.helpers import b64, fixed_keypair

# A person writes at most 10 messages in a burst (server/ratelimit.py); a seeded room needs hundreds.
SEEDING_LIMITS = {"SEALROOM_RATE_MESSAGE": "1000/1000", "SEALROOM_RATE_FRAME": "1000/1000"}


def seed_room(server_url: str, member: str, count: int) -> None:
    """A third person, scripted over the API, opens a room with ``member`` and writes ``count`` messages."""
    async def run():
        from pyclient.crypto.pure import PureBackend
        from pyclient.protocol.envelope import encode_envelope, seal
        from pyclient.protocol.key_proof import sign_key_proof

        private_key, public_key = fixed_keypair(5)
        async with aiohttp.ClientSession(server_url, headers={"Origin": server_url},
                                         cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:  # an IP host
            page = await (await http.get("/")).text()
            csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
            reply = await (await http.post("/api/register", json={"username": "carol", "auth_key": "B" * 43 + "="},
                                           headers={"X-CSRF-Token": csrf})).json()
            me, csrf = reply["user"]["id"], reply["csrf"]
            headers = {"X-CSRF-Token": csrf}
            challenge = (await (await http.post("/api/me/key/challenge", json={}, headers=headers)).json())["challenge"]
            proof = await sign_key_proof(PureBackend(), private_key, user_id=me, challenge=base64.b64decode(challenge),
                                         public_key=public_key)
            response = await http.put("/api/me/key", json={"public_key": b64(public_key), "proof": b64(proof),
                                                           "key_backup": b64(b"SRK1" + bytes(60))}, headers=headers)
            assert response.status == 200, await response.text()
            room = (await (await http.post("/api/rooms", json={"name": "Busy", "members": [member]},
                                           headers=headers)).json())["room"]
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
