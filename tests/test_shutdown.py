"""SIGTERM on a real server process: it stops accepting, closes WebSockets
with 1001, cuts off an upload in flight without leaving a partial file, and
the upload goes on once a server is back."""

import asyncio
import json
import secrets
import signal
import time

import aiohttp
import pytest

from pyclient.crypto.pure import PureBackend
from pyclient.protocol.request_sig import sign_request
from tests.browser.conftest import start_server
from tests.helpers import register, signed


async def _part_held_open(user, upload_id: str, body: bytes, half_sent: asyncio.Event, release: asyncio.Event):
    """A part PUT whose body stops half-way until ``release`` is set."""
    path = f"/api/uploads/{upload_id}/parts/0"
    headers = await sign_request(PureBackend(), user.private_key, method="PUT", path=path, body=body,
                                 keyid=user.id, created=int(time.time()), random_bytes=secrets.token_bytes)

    async def trickle():
        yield body[: len(body) // 2]
        half_sent.set()
        await release.wait()
        yield body[len(body) // 2:]

    return await user.client.put(path, data=trickle(), headers={**user.headers(), **headers})


async def test_sigterm_closes_sockets_with_1001_and_cuts_uploads_off_cleanly(tmp_path):
    server = start_server(tmp_path / "data", tmp_path / "server.log", SEALROOM_SHUTDOWN_SECONDS="2")
    try:
        async with aiohttp.ClientSession(base_url=server.url, cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
            alice = await register(session, "alice", 0)
            room = (await (await alice.post("/api/rooms", {"name": "Moving"})).json())["room"]
            ws = await session.ws_connect("/ws")
            assert json.loads((await ws.receive(timeout=10)).data)["type"] == "hello"
            body = secrets.token_bytes(4000)
            response = await signed(alice, "POST", f"/api/rooms/{room['id']}/uploads",
                                    json.dumps({"size": len(body)}).encode())
            upload_id = (await response.json())["upload"]

            half_sent, release = asyncio.Event(), asyncio.Event()
            upload = asyncio.create_task(_part_held_open(alice, upload_id, body, half_sent, release))
            await asyncio.wait_for(half_sent.wait(), 10)
            assert (await session.get("/healthz")).status == 200  # a round trip: the server has the upload in hand
            server.process.send_signal(signal.SIGTERM)
            closing = await ws.receive(timeout=10)
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == 1001
            with pytest.raises(aiohttp.ClientError):
                await asyncio.wait_for(upload, 15)
            release.set()
            assert server.process.wait(15) == 0
            assert not list((tmp_path / "data").rglob("*.part"))
            with pytest.raises(aiohttp.ClientError):  # no longer accepting
                await session.get("/healthz")

            server.start()
            # The same session and the same upload on the server that is back: the part is sent again.
            response = await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/0", body)
            assert response.status == 200, await response.text()
            assert (await signed(alice, "POST", f"/api/uploads/{upload_id}/complete")).status == 201
    finally:
        server.stop()
