"""WebSocket fan-out, two shapes, on one process and on two.

- one room: CLIENTS sockets (20 members, several sockets each), MESSAGES
  envelopes from one sender at 20 a second;
- pairs: PAIRS two-person rooms, one socket per person, each person sending
  at a human rate (one message every PAIR_INTERVAL seconds, PAIR_MESSAGES each).

The load generator is this process; the servers are their own processes.
Envelopes are sealed before the clock starts (``cryptography`` backend), so
the server is what gets measured. The sender stamps the send time per message
id and each socket records arrival, so latency covers store, publish and
delivery. Runs on the embedded default (one process, SQLite) and scaled out
(two processes, PostgreSQL + Redis, sockets split between them). Loopback
only, bounded in count and time. Prints delivered/lost/duplicated, p50/p95/p99
end to end, the servers' own delivery-latency histogram (bus to socket, from
/metrics), the servers' peak RSS and CPU, and the load generator's CPU.
Asserts nothing.
"""

import asyncio
import base64
import json
import os
import resource
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pyclient.crypto.pure import PureBackend  # noqa: E402
from pyclient.protocol.key_proof import sign_key_proof  # noqa: E402
from pyclient.protocol.envelope import encode_envelope, seal  # noqa: E402
from tests.browser.conftest import start_server  # noqa: E402
from tests.cryptography_backend import CryptographyBackend  # noqa: E402
from tests.helpers import ApiUser, b64, fixed_keypair  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1000"))
MEMBERS = 20
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "50"))
INTERVAL = 0.05
PAIRS = int(os.environ.get("BENCH_PAIRS", "500"))
PAIR_MESSAGES = int(os.environ.get("BENCH_PAIR_MESSAGES", "3"))
PAIR_INTERVAL = 4.0  # seconds between one person's messages: a brisk human
SHAPES = os.environ.get("BENCH_SHAPES", "room,pairs").split(",")
PROCESSES = os.environ.get("BENCH_PROCESSES", "1,2").split(",")
# The benchmark measures fan-out, not the limits: senders above rc_message, 50 sockets a user.
UNLIMITED = {"SEALROOM_AUTH_ATTEMPTS": "100000", "SEALROOM_RATE_MESSAGE": "off", "SEALROOM_RATE_ROOM_CREATE": "off",
             "SEALROOM_RATE_SEARCH": "off", "SEALROOM_RATE_FRAME": "off", "SEALROOM_MAX_SOCKETS_PER_USER": "100000"}
BACKEND = CryptographyBackend()


async def sign_up(session: aiohttp.ClientSession, base: str, name: str, index: int) -> ApiUser:
    page = await (await session.get(base + "/")).text()
    csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
    response = await session.post(base + "/api/register", json={"username": name, "auth_key": "k" * 44},
                                  headers={"X-CSRF-Token": csrf})
    data = await response.json()
    user = ApiUser(session, name, data["user"]["id"], data["csrf"])
    user.private_key, user.public_key = fixed_keypair(index % 4)
    challenge = await (await session.post(base + "/api/me/key/challenge", headers=user.headers())).json()
    proof = await sign_key_proof(PureBackend(), user.private_key, user_id=user.id,
                                 challenge=base64.b64decode(challenge["challenge"]), public_key=user.public_key)
    await session.put(base + "/api/me/key", json={"public_key": b64(user.public_key), "proof": b64(proof)},
                      headers=user.headers())
    return user


async def envelope(user: ApiUser, room: str, members: dict[str, bytes]) -> dict:
    sealed = await seal(BACKEND, room=room, sender=user.id, message_id=secrets.token_hex(16),
                        sender_private_key=user.private_key, recipients=members,
                        payload={"kind": "text", "body": "x" * 40}, random_bytes=secrets.token_bytes)
    return encode_envelope(sealed)


SERVER_PIDS: list[int] = []  # set by measure(): the servers whose CPU the measured phase used


def server_cpu() -> float:
    return sum(process_figures(pid)[1] for pid in SERVER_PIDS)


class Tally:
    def __init__(self) -> None:
        self.cpu_at_start = server_cpu()
        self.sent: dict[str, float] = {}
        self.arrivals: dict[str, list[float]] = {}
        self.expected = 0

    async def listen(self, ws) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            if '"type":"message"' in message.data:
                frame = json.loads(message.data)
                self.arrivals.setdefault(frame["envelope"]["id"], []).append(time.perf_counter())

    def received(self) -> int:
        return sum(len(times) for times in self.arrivals.values())

    async def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.received() < self.expected:
            await asyncio.sleep(0.2)

    def report(self, label: str, duration: float) -> float:
        latencies = sorted((t - self.sent[mid]) * 1000 for mid, times in self.arrivals.items()
                           for t in set(times))
        duplicated = sum(len(times) - len(set(times)) for times in self.arrivals.values())
        received = len(latencies)
        cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
        cpu = server_cpu() - self.cpu_at_start
        print(f"  {label}: delivered {received}/{self.expected} (lost {self.expected - received}, "
              f"duplicated {duplicated}), {received / duration:.0f} deliveries/s; end to end p50 {cuts[49]:.1f} ms, "
              f"p95 {cuts[94]:.1f} ms, p99 {cuts[98]:.1f} ms   (goal: p99 < 100 ms, 0 lost, 0 duplicated)")
        print(f"    servers' CPU while measuring: {cpu:.2f} s, {cpu / max(received, 1) * 1e6:.0f} µs a delivery")
        return cuts[98]


async def connect(user: ApiUser, base: str):
    ws = await user.client.ws_connect(base.replace("http", "ws") + "/ws", headers={"Origin": base},
                                      max_msg_size=0)
    await ws.receive()
    return ws


async def one_room(bases: list[str]) -> None:
    sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(MEMBERS)]
    try:
        users = [await sign_up(s, bases[0], f"user{i}_{secrets.token_hex(2)}", i) for i, s in enumerate(sessions)]
        owner = users[0]
        response = await owner.client.post(bases[0] + "/api/rooms", headers=owner.headers(), json={
            "name": "Fan-out", "members": [u.username for u in users[1:]]})
        room = (await response.json())["room"]["id"]
        members = {u.id: u.public_key for u in users}
        # Sealed before any socket opens: sealing never yields, and a socket that cannot answer
        # the server's heartbeat for 30 s is closed.
        envelopes = [await envelope(owner, room, members) for _ in range(MESSAGES)]
        sockets = [await connect(users[i % MEMBERS], bases[i % len(bases)]) for i in range(CLIENTS)]
        tally = Tally()
        tally.expected = MESSAGES * CLIENTS
        listeners = [asyncio.create_task(tally.listen(ws)) for ws in sockets]
        started = time.perf_counter()
        for sealed in envelopes:
            tally.sent[sealed["id"]] = time.perf_counter()
            await sockets[0].send_str(json.dumps({"type": "send", "ref": sealed["id"], "room": room,
                                                  "envelope": sealed}))
            await asyncio.sleep(INTERVAL)
        await tally.wait(30)
        tally.report(f"one room, {CLIENTS} sockets, {MESSAGES} messages", time.perf_counter() - started)
        for task in listeners:
            task.cancel()
        for ws in sockets:
            await ws.close()
    finally:
        for session in sessions:
            await session.close()


async def pairs(bases: list[str]) -> None:
    sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(2 * PAIRS)]
    try:
        gate = asyncio.Semaphore(8)  # sign-ups run argon2id on the server: a few at a time

        async def person(index: int) -> ApiUser:
            async with gate:
                return await sign_up(sessions[index], bases[index % len(bases)], f"p{index}_{secrets.token_hex(2)}",
                                     index)

        people = await asyncio.gather(*(person(i) for i in range(2 * PAIRS)))
        rooms = []
        for number, (a, b) in enumerate(zip(people[0::2], people[1::2])):
            response = await a.client.post(bases[0] + "/api/rooms", headers=a.headers(), json={
                "name": f"Pair {number}", "members": [b.username]})
            rooms.append((a, b, (await response.json())["room"]["id"]))
        await settled(rooms[-1][0], bases, f"Pair {len(rooms) - 1}")
        plans = []
        for a, b, room in rooms:  # sealed before any socket opens, as above
            members = {a.id: a.public_key, b.id: b.public_key}
            for sender in (a, b):
                plans.append((sender, room, [await envelope(sender, room, members) for _ in range(PAIR_MESSAGES)]))
        sockets = {person.id: await connect(person, bases[i % len(bases)]) for i, person in enumerate(people)}
        tally = Tally()
        tally.expected = 2 * PAIR_MESSAGES * 2 * PAIRS  # each message reaches both people
        listeners = [asyncio.create_task(tally.listen(ws)) for ws in sockets.values()]

        async def talk(sender, room, envelopes) -> None:
            await asyncio.sleep(secrets.randbelow(int(PAIR_INTERVAL * 1000)) / 1000)  # people do not type in step
            for sealed in envelopes:
                tally.sent[sealed["id"]] = time.perf_counter()
                await sockets[sender.id].send_str(json.dumps({"type": "send", "ref": sealed["id"], "room": room,
                                                              "envelope": sealed}))
                await asyncio.sleep(PAIR_INTERVAL)

        started = time.perf_counter()
        await asyncio.gather(*(talk(*plan) for plan in plans))
        await tally.wait(30)
        tally.report(f"{PAIRS} two-person rooms, {2 * PAIRS} sockets, {PAIR_MESSAGES} messages each",
                     time.perf_counter() - started)
        for task in listeners:
            task.cancel()
        for ws in sockets.values():
            await ws.close()
    finally:
        for session in sessions:
            await session.close()


async def settled(user: ApiUser, bases: list[str], room_name: str) -> None:
    """Until every process's search index holds the last room: indexing the
    sign-ups and rooms must not run during the measurement."""
    for base in bases:
        for _ in range(600):  # bounded: at most a minute
            found = await (await user.client.get(base + "/api/search", params={"q": room_name})).json()
            if any(room["name"] == room_name for room in found.get("rooms", [])):
                break
            await asyncio.sleep(0.1)


def histogram_quantiles(text: str, name: str, quantiles=(0.5, 0.95, 0.99)) -> dict[float, str]:
    """Quantiles from a Prometheus histogram, as the bucket bound they fall under."""
    buckets = []
    for line in text.splitlines():
        if line.startswith(f"{name}_bucket"):
            bound = line.split('le="')[1].split('"')[0]
            buckets.append((float(bound), float(line.split()[-1])))
    total = buckets[-1][1] if buckets else 0
    found = {}
    for q in quantiles:
        for bound, count in buckets:
            if total and count >= q * total:
                found[q] = "> 5 s" if bound == float("inf") else f"<= {bound * 1000:g} ms"
                break
    return found


def process_figures(pid: int) -> tuple[float, float]:
    """Peak RSS (MiB) and CPU seconds of a server process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return peak, cpu


async def server_figures(servers) -> None:
    async with aiohttp.ClientSession() as session:
        for index, server in enumerate(servers):
            text = await (await session.get(server.url + "/metrics")).text()
            store = histogram_quantiles(text, "sealroom_message_store_seconds")
            cuts = histogram_quantiles(text, "sealroom_delivery_latency_seconds")
            peak, cpu = process_figures(server.process.pid)
            print(f"    server {index + 1}: store and publish p50 {store.get(0.5)}, p99 {store.get(0.99)}; "
                  f"bus to socket p50 {cuts.get(0.5)}, p95 {cuts.get(0.95)}, p99 {cuts.get(0.99)}; "
                  f"peak RSS {peak:.0f} MiB, CPU {cpu:.1f} s")


async def measure(shape, servers) -> None:
    SERVER_PIDS[:] = [server.process.pid for server in servers]
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    await shape([server.url for server in servers])
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    used = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    await server_figures(servers)
    print(f"    load generator CPU {used:.1f} s (the figures include its own delays on this machine)")


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
    shapes = [shape for name, shape in (("room", one_room), ("pairs", pairs)) if name in SHAPES]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print("fan-out, one process (SQLite, in-process bus):")
        for number, shape in enumerate(shapes if "1" in PROCESSES else []):
            server = start_server(tmp / f"one{number}", tmp / "one.log", **UNLIMITED)
            try:
                asyncio.run(measure(shape, [server]))
            finally:
                server.stop()

        print("fan-out, two processes (PostgreSQL + Redis):")
        for shape in shapes if "2" in PROCESSES else []:
            async def scaled(url: str) -> None:
                env = {"SEALROOM_DATABASE_URL": url, "SEALROOM_REDIS_URL": "redis://127.0.0.1:6379/0",
                       "SEALROOM_REDIS_NAMESPACE": f"sealroom-bench-{secrets.token_hex(4)}", **UNLIMITED}
                first = start_server(tmp / "shared", tmp / "a.log", **env)
                second = start_server(tmp / "shared", tmp / "b.log", **env)
                try:
                    await measure(shape, [first, second])
                finally:
                    first.stop()
                    second.stop()

            asyncio.run(with_postgres(scaled))


if __name__ == "__main__":
    main()
