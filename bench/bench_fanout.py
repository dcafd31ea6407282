"""WebSocket fan-out: one room, CLIENTS sockets, MESSAGES envelopes.

Each envelope goes to every socket of every member. The sender stamps the
send time per message id; each socket records arrival, so latency includes
the server's store-and-publish and the delivery. Runs on the embedded default
(one process, SQLite) and scaled out (two processes, PostgreSQL + Redis,
sockets split between them). Loopback only, a bounded count, and it stops by
itself. Prints p50/p95/p99 and losses; asserts nothing.
"""

import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import start_server  # noqa: E402
from tests.helpers import ApiUser, b64, fixed_keypair  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1000"))
MEMBERS = 20
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "50"))
INTERVAL = 0.05
# The benchmark measures fan-out, not the limits: one sender far above rc_message, 50 sockets a user.
UNLIMITED = {"SEALROOM_AUTH_ATTEMPTS": "1000", "SEALROOM_RATE_MESSAGE": "off", "SEALROOM_RATE_ROOM_CREATE": "off",
             "SEALROOM_MAX_SOCKETS_PER_USER": "100000"}


async def sign_up(session: aiohttp.ClientSession, base: str, name: str, index: int) -> ApiUser:
    page = await (await session.get(base + "/")).text()
    csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
    response = await session.post(base + "/api/register", json={"username": name, "auth_key": "k" * 44},
                                  headers={"X-CSRF-Token": csrf})
    data = await response.json()
    user = ApiUser(session, name, data["user"]["id"], data["csrf"])
    user.private_key, user.public_key = fixed_keypair(index % 4)
    await session.put(base + "/api/me/key", json={"public_key": b64(user.public_key)}, headers=user.headers())
    return user


async def run(bases: list[str]) -> None:
    jar_sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(MEMBERS)]
    try:
        users = [await sign_up(s, bases[0], f"user{i}_{secrets.token_hex(2)}", i) for i, s in enumerate(jar_sessions)]
        owner = users[0]
        response = await owner.client.post(bases[0] + "/api/rooms", headers=owner.headers(), json={
            "name": "Fan-out", "members": [u.username for u in users[1:]]})
        room = (await response.json())["room"]["id"]
        arrivals: dict[str, list[float]] = {}
        sockets = []
        for index in range(CLIENTS):
            user = users[index % MEMBERS]
            base = bases[index % len(bases)]
            ws = await user.client.ws_connect(base.replace("http", "ws") + "/ws", headers={"Origin": base})
            await ws.receive()
            sockets.append(ws)

        async def listen(ws):
            async for message in ws:
                frame = json.loads(message.data)
                if frame["type"] == "message":
                    arrivals.setdefault(frame["envelope"]["id"], []).append(time.perf_counter())

        listeners = [asyncio.create_task(listen(ws)) for ws in sockets]
        sender = sockets[0]
        sent: dict[str, float] = {}
        members = {u.id: u.public_key for u in users}
        envelopes = [await owner.envelope(room, members, "x") for _ in range(MESSAGES)]
        for envelope in envelopes:
            sent[envelope["id"]] = time.perf_counter()
            await sender.send_str(json.dumps({"type": "send", "ref": envelope["id"], "room": room, "envelope": envelope}))
            await asyncio.sleep(INTERVAL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and sum(len(v) for v in arrivals.values()) < MESSAGES * CLIENTS:
            await asyncio.sleep(0.2)
        latencies = sorted((t - sent[mid]) * 1000 for mid, times in arrivals.items() for t in times)
        expected, received = MESSAGES * CLIENTS, len(latencies)
        cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
        print(f"  {CLIENTS} sockets, {MESSAGES} messages: delivered {received}/{expected} "
              f"(lost {expected - received}); latency p50 {cuts[49]:.1f} ms, p95 {cuts[94]:.1f} ms, "
              f"p99 {cuts[98]:.1f} ms   (goal: p99 < 100 ms, zero loss)")
        for task in listeners:
            task.cancel()
        for ws in sockets:
            await ws.close()
    finally:
        for session in jar_sessions:
            await session.close()


async def with_postgres(callback) -> None:
    name = f"sealroom_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await callback(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("fan-out, one process (SQLite, in-process bus):")
        server = start_server(tmp / "one", tmp / "one.log", **UNLIMITED)
        try:
            asyncio.run(run([server.url]))
        finally:
            server.stop()

        async def scaled(url: str) -> None:
            env = {"SEALROOM_DATABASE_URL": url, "SEALROOM_REDIS_URL": "redis://127.0.0.1:6379/0",
                   "SEALROOM_REDIS_NAMESPACE": f"sealroom-bench-{secrets.token_hex(4)}", **UNLIMITED}
            first = start_server(tmp / "shared", tmp / "a.log", **env)
            second = start_server(tmp / "shared", tmp / "b.log", **env)
            try:
                await run([first.url, second.url])
            finally:
                first.stop()
                second.stop()

        print("fan-out, two processes (PostgreSQL + Redis):")
        asyncio.run(with_postgres(scaled))


if __name__ == "__main__":
    main()
