"""WebSocket fan-out, two shapes, on one process and on two.

- room: N sockets in one room (20 members, several sockets each), MESSAGES
  envelopes from one sender, one every INTERVAL seconds;
- pairs: N/2 two-person rooms, one socket per person, each person sending
  at a human rate (one message every PAIR_INTERVAL seconds, PAIR_MESSAGES each).

The load generator is this process; the servers are their own processes.
Envelopes are sealed before the clock starts (native backend), so the server
is what gets measured. The sender stamps the send time per message id and
each socket records arrival, so latency covers store, publish and delivery.
The sockets offer permessage-deflate, as browsers do. Runs on the embedded
default (one process, SQLite) and scaled out (two processes, PostgreSQL +
Redis, sockets split between them). Loopback only, bounded in count and time.

For each run it prints deliveries a second, p50/p95/p99 end to end, lost and
duplicated, the servers' peak RSS and CPU, and the load average before and
after. The machine is shared, so it also prints the figure that load does
not move: server CPU time per delivery (and the load generator's). Then, per
shape, the largest client count whose p99 stayed under 100 ms (a search over
BENCH_COUNTS, ascending, within BENCH_SEARCH_SECONDS), and one process
against two. BENCH_PROFILE=DIR runs the servers under cProfile (CPU time)
during the measured phase at BENCH_CLIENTS and prints where it went.
Asserts nothing.
"""

import asyncio
import base64
import json
import os
import pstats
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import asyncpg

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pyclient.crypto.native import NativeBackend  # noqa: E402
from pyclient.protocol.envelope import encode_envelope, seal  # noqa: E402
from pyclient.protocol.key_proof import sign_key_proof  # noqa: E402
from tests.browser.conftest import ServerProcess, _wait_until_up, free_port  # noqa: E402
from tests.helpers import ApiUser, b64, fixed_keypair  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "1000"))
COUNTS = {"room": os.environ.get("BENCH_COUNTS", "250,500,1000,2000"),
          "pairs": os.environ.get("BENCH_PAIR_COUNTS", "250,500,1000")}  # sign-ups cost argon2id each
SEARCH_SECONDS = float(os.environ.get("BENCH_SEARCH_SECONDS", "300"))  # per shape and setup
MEMBERS = 20
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "50"))
INTERVAL = float(os.environ.get("BENCH_INTERVAL", "0.05"))
PAIR_MESSAGES = int(os.environ.get("BENCH_PAIR_MESSAGES", "3"))
PAIR_INTERVAL = 4.0  # seconds between one person's messages: a brisk human
SHAPES = os.environ.get("BENCH_SHAPES", "room,pairs").split(",")
PROCESSES = os.environ.get("BENCH_PROCESSES", "1,2").split(",")
PROFILE = os.environ.get("BENCH_PROFILE", "")
COMPRESS = 0 if os.environ.get("BENCH_COMPRESS") == "0" else 15  # browsers offer permessage-deflate
GOAL_MS = 100.0
# The benchmark measures fan-out, not the limits: senders above rc_message, many sockets a user.
UNLIMITED = {"SEALROOM_AUTH_ATTEMPTS": "100000", "SEALROOM_RATE_MESSAGE": "off", "SEALROOM_RATE_ROOM_CREATE": "off",
             "SEALROOM_RATE_SEARCH": "off", "SEALROOM_RATE_FRAME": "off", "SEALROOM_MAX_SOCKETS_PER_USER": "100000"}
BACKEND = NativeBackend()


def start_server(data_dir: Path, log_path: Path, profile_out: Path | None = None, **extra_env) -> ServerProcess:
    """tests/browser/conftest.py's start_server, optionally under bench/_profiled_server.py."""
    port = free_port()
    env = {**os.environ, "SEALROOM_DATA_DIR": str(data_dir), "SEALROOM_PORT": str(port),
           "SEALROOM_HOST": "127.0.0.1", **extra_env}
    command = [sys.executable, "-m", "server"]
    if profile_out is not None:
        env["SEALROOM_PROFILE_OUT"] = str(profile_out)
        command = [sys.executable, str(REPO / "bench" / "_profiled_server.py")]
    log = open(log_path, "ab")
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = ServerProcess(f"http://127.0.0.1:{port}", data_dir, log_path, process, env)
    _wait_until_up(server)
    return server


async def sign_up(session: aiohttp.ClientSession, base: str, name: str, index: int) -> ApiUser:
    page = await (await session.get(base + "/")).text()
    csrf = page.split('name="csrf-token" content="')[1].split('"')[0]
    response = await session.post(base + "/api/register", json={"username": name, "auth_key": "k" * 44},
                                  headers={"X-CSRF-Token": csrf})
    data = await response.json()
    user = ApiUser(session, name, data["user"]["id"], data["csrf"])
    user.private_key, user.public_key = fixed_keypair(index % 4)
    challenge = await (await session.post(base + "/api/me/key/challenge", headers=user.headers())).json()
    proof = await sign_key_proof(BACKEND, user.private_key, user_id=user.id,
                                 challenge=base64.b64decode(challenge["challenge"]), public_key=user.public_key)
    await session.put(base + "/api/me/key", json={"public_key": b64(user.public_key), "proof": b64(proof)},
                      headers=user.headers())
    return user


async def envelope(user: ApiUser, room: str, members: dict[str, bytes]) -> dict:
    sealed = await seal(BACKEND, room=room, sender=user.id, message_id=secrets.token_hex(16),
                        sender_private_key=user.private_key, recipients=members,
                        payload={"kind": "text", "body": "x" * 40}, random_bytes=secrets.token_bytes)
    return encode_envelope(sealed)


def send_frame(room: str, sealed: dict) -> str:
    return json.dumps({"type": "send", "ref": sealed["id"], "room": room, "envelope": sealed})


def process_figures(pid: int) -> tuple[float, float, float]:
    """Peak RSS (MiB), and CPU seconds in user space and in the kernel, of a server process, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text()
    peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")) / 1024
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return peak, int(fields[11]) / ticks, int(fields[12]) / ticks


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    return "/".join(f"{figure:.1f}" for figure in os.getloadavg())


@dataclass
class Result:
    shape: str
    processes: int
    clients: int
    expected: int
    delivered: int
    duplicated: int
    seconds: float
    p50: float
    p95: float
    p99: float
    server_cpu: float
    server_kernel: float  # of server_cpu
    generator_cpu: float
    peak_rss: float
    load_before: str
    load_after: str

    @property
    def lost(self) -> int:
        return self.expected - self.delivered

    @property
    def met(self) -> bool:
        return self.p99 < GOAL_MS and self.lost == 0 and self.duplicated == 0

    def line(self) -> str:
        per = 1e6 / max(self.delivered, 1)
        return (f"  {self.clients} clients: {self.delivered}/{self.expected} delivered (lost {self.lost}, "
                f"duplicated {self.duplicated}), {self.delivered / self.seconds:.0f}/s; p50 {self.p50:.1f} ms, "
                f"p95 {self.p95:.1f} ms, p99 {self.p99:.1f} ms {'(goal met)' if self.met else '(goal missed)'}\n"
                f"    server CPU {self.server_cpu:.2f} s = {self.server_cpu * per:.1f} µs a delivery "
                f"({self.server_kernel * per:.1f} of them in the kernel); load generator "
                f"{self.generator_cpu * per:.1f} µs a delivery; servers' peak RSS {self.peak_rss:.0f} MiB; "
                f"load average {self.load_before} -> {self.load_after}")


class Tally:
    """Arrivals per message id; the id is found in the frame's text, not parsed
    out of its JSON, so that the load generator spends little per frame."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.sent: dict[str, float] = {}
        self.arrivals: dict[str, list[float]] = {}
        self.done = asyncio.Event()
        self.count = 0

    async def listen(self, ws) -> None:
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = message.data
            if data.startswith('{"type":"message"'):
                at = data.index('"id":"', data.index('"envelope":')) + 6
                self.arrivals.setdefault(data[at:at + 32], []).append(time.perf_counter())
                self.count += 1
                if self.count >= self.expected:
                    self.done.set()

    async def wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self.done.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    def latencies(self) -> tuple[list[float], int]:
        latencies = sorted((t - self.sent[mid]) * 1000 for mid, times in self.arrivals.items() for t in set(times))
        duplicated = sum(len(times) - len(set(times)) for times in self.arrivals.values())
        return latencies, duplicated


class Servers:
    """The processes under test, with their CPU and the profiler's switch."""

    def __init__(self, servers: list[ServerProcess]) -> None:
        self.servers = servers
        self.bases = [server.url for server in servers]

    def cpu(self) -> tuple[float, float]:
        """User and kernel CPU seconds, summed over the processes."""
        figures = [process_figures(server.process.pid) for server in self.servers]
        return sum(f[1] for f in figures), sum(f[2] for f in figures)

    def peak_rss(self) -> float:
        return sum(process_figures(server.process.pid)[0] for server in self.servers)

    def profile(self, on: bool) -> None:
        for server in self.servers:
            if "SEALROOM_PROFILE_OUT" in server.env:
                os.kill(server.process.pid, signal.SIGUSR1 if on else signal.SIGUSR2)


async def measure(shape: str, servers: Servers, clients: int, tally: Tally, drive, profile: bool) -> Result:
    """Runs ``drive()`` (which sends) and waits for every delivery; figures for that phase only."""
    load_before, cpu_before, own_before = load_average(), servers.cpu(), own_cpu()
    if profile:
        servers.profile(True)
    started = time.perf_counter()
    await drive()
    await tally.wait(30)
    seconds = time.perf_counter() - started
    if profile:
        servers.profile(False)
    latencies, duplicated = tally.latencies()
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("inf")] * 99
    (user, kernel), (user_before, kernel_before) = servers.cpu(), cpu_before
    return Result(shape, len(servers.servers), clients, tally.expected, len(latencies), duplicated, seconds,
                  cuts[49], cuts[94], cuts[98], user + kernel - user_before - kernel_before, kernel - kernel_before,
                  own_cpu() - own_before, servers.peak_rss(), load_before, load_average())


async def connect(user: ApiUser, base: str):
    ws = await user.client.ws_connect(base.replace("http", "ws") + "/ws", headers={"Origin": base},
                                      max_msg_size=0, compress=COMPRESS)
    await ws.receive()
    return ws


async def close_all(sockets, listeners) -> None:
    for task in listeners:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def new_sessions(count: int) -> list[aiohttp.ClientSession]:
    return [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(count)]


class OneRoom:
    name = "one room"

    async def prepare(self, servers: Servers, largest: int) -> None:
        self.servers, self.sessions = servers, new_sessions(MEMBERS)
        bases = servers.bases
        self.users = [await sign_up(s, bases[0], f"user{i}_{secrets.token_hex(2)}", i)
                      for i, s in enumerate(self.sessions)]
        owner = self.users[0]
        response = await owner.client.post(bases[0] + "/api/rooms", headers=owner.headers(), json={
            "name": "Fan-out", "members": [u.username for u in self.users[1:]]})
        self.room = (await response.json())["room"]["id"]

    async def run(self, clients: int, profile: bool) -> Result:
        owner, bases = self.users[0], self.servers.bases
        members = {u.id: u.public_key for u in self.users}
        # Sealed before any socket opens: sealing never yields, and a socket that cannot answer
        # the server's heartbeat for 30 s is closed.
        envelopes = [await envelope(owner, self.room, members) for _ in range(MESSAGES)]
        sockets = [await connect(self.users[i % MEMBERS], bases[i % len(bases)]) for i in range(clients)]
        tally = Tally(MESSAGES * clients)
        listeners = [asyncio.create_task(tally.listen(ws)) for ws in sockets]

        async def drive() -> None:
            for sealed in envelopes:
                tally.sent[sealed["id"]] = time.perf_counter()
                await sockets[0].send_str(send_frame(self.room, sealed))
                await asyncio.sleep(INTERVAL)

        try:
            return await measure("room", self.servers, clients, tally, drive, profile)
        finally:
            await close_all(sockets, listeners)

    async def close(self) -> None:
        for session in self.sessions:
            await session.close()


class Pairs:
    name = "two-person rooms"

    async def prepare(self, servers: Servers, largest: int) -> None:
        self.servers, bases = servers, servers.bases
        self.sessions = new_sessions(largest)
        gate = asyncio.Semaphore(8)  # sign-ups run argon2id on the server: a few at a time

        async def person(index: int) -> ApiUser:
            async with gate:
                return await sign_up(self.sessions[index], bases[index % len(bases)],
                                     f"p{index}_{secrets.token_hex(2)}", index)

        people = await asyncio.gather(*(person(i) for i in range(largest)))
        self.rooms = []
        for number, (a, b) in enumerate(zip(people[0::2], people[1::2])):
            response = await a.client.post(bases[0] + "/api/rooms", headers=a.headers(), json={
                "name": f"Pair {number}", "members": [b.username]})
            self.rooms.append((a, b, (await response.json())["room"]["id"]))
        await settled(self.rooms[-1][0], bases, f"Pair {len(self.rooms) - 1}")

    async def run(self, clients: int, profile: bool) -> Result:
        rooms, bases = self.rooms[:clients // 2], self.servers.bases
        plans = []
        for a, b, room in rooms:  # sealed before any socket opens, as above
            members = {a.id: a.public_key, b.id: b.public_key}
            for sender in (a, b):
                plans.append((sender, room, [await envelope(sender, room, members) for _ in range(PAIR_MESSAGES)]))
        people = [person for a, b, _ in rooms for person in (a, b)]
        sockets = {person.id: await connect(person, bases[i % len(bases)]) for i, person in enumerate(people)}
        tally = Tally(2 * PAIR_MESSAGES * len(people))  # each message reaches both people
        listeners = [asyncio.create_task(tally.listen(ws)) for ws in sockets.values()]

        async def talk(sender, room, envelopes) -> None:
            await asyncio.sleep(secrets.randbelow(int(PAIR_INTERVAL * 1000)) / 1000)  # people do not type in step
            for sealed in envelopes:
                tally.sent[sealed["id"]] = time.perf_counter()
                try:
                    await sockets[sender.id].send_str(send_frame(room, sealed))
                except ConnectionResetError:  # the server closed it (a heartbeat the starved generator missed)
                    print(f"    a sender's socket was closed: {sockets[sender.id].close_code}", flush=True)
                    for unsent in envelopes[envelopes.index(sealed):]:
                        tally.sent.pop(unsent["id"], None)
                        tally.expected -= 2
                    return
                await asyncio.sleep(PAIR_INTERVAL)

        async def drive() -> None:
            await asyncio.gather(*(talk(*plan) for plan in plans))

        try:
            return await measure("pairs", self.servers, len(people), tally, drive, profile)
        finally:
            await close_all(sockets.values(), listeners)

    async def close(self) -> None:
        for session in self.sessions:
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


async def server_histograms(servers: Servers) -> None:
    async with aiohttp.ClientSession() as session:
        for index, base in enumerate(servers.bases):
            text = await (await session.get(base + "/metrics")).text()
            store = histogram_quantiles(text, "sealroom_message_store_seconds")
            cuts = histogram_quantiles(text, "sealroom_delivery_latency_seconds")
            print(f"    server {index + 1}, every run so far: store and publish p50 {store.get(0.5)}, "
                  f"p99 {store.get(0.99)}; bus to socket p50 {cuts.get(0.5)}, p95 {cuts.get(0.95)}, "
                  f"p99 {cuts.get(0.99)}")


def counts_for(shape: str) -> list[int]:
    counts = sorted({CLIENTS, *(int(n) for n in COUNTS[shape].split(",") if n)})
    return [n - n % 2 if shape == "pairs" else n for n in counts]


async def search(shape, servers: Servers, label: str) -> list[Result]:
    """Ascending client counts: always BENCH_CLIENTS; above it, only while the goal holds
    and the time lasts."""
    counts = counts_for("room" if isinstance(shape, OneRoom) else "pairs")
    await shape.prepare(servers, max(counts))
    results = []
    deadline = time.monotonic() + SEARCH_SECONDS
    try:
        for clients in counts:
            if clients > CLIENTS and (time.monotonic() > deadline or not all(r.met for r in results)):
                break
            result = await shape.run(clients, profile=bool(PROFILE) and clients == CLIENTS)
            results.append(result)
            print(result.line(), flush=True)
        await server_histograms(servers)
    finally:
        await shape.close()
    passing = [r.clients for r in results if r.met]
    print(f"  {label}: largest client count with p99 under {GOAL_MS:.0f} ms and nothing lost: "
          f"{max(passing) if passing else 'none of ' + str([r.clients for r in results])}", flush=True)
    return results


def print_profiles(paths: list[Path]) -> None:
    for path in paths:
        for _ in range(100):  # the server writes it on SIGUSR2
            if path.exists():
                break
            time.sleep(0.1)
        if not path.exists():
            continue
        stats = pstats.Stats(str(path))
        print(f"    cProfile (event loop thread CPU) of {path.name}: {stats.total_tt:.2f} s; top by own time:")
        entries = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)[:15]
        for (filename, line, function), (_, calls, own, cumulative, _) in entries:
            where = f"{Path(filename).parent.name}/{Path(filename).name}:{line}" if line else filename
            print(f"      {own:6.2f} s own {cumulative:6.2f} s cum {calls:8d} calls  {function} ({where})")


async def with_postgres(callback) -> None:
    name = f"sealroom_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await callback(f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}")
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


def compare(found: dict[tuple[str, int], list[Result]]) -> None:
    print("one process against two, at the same client count:")
    for shape in ("room", "pairs"):
        one = {r.clients: r for r in found.get((shape, 1), [])}
        two = {r.clients: r for r in found.get((shape, 2), [])}
        for clients in sorted(one.keys() & two.keys()):
            a, b = one[clients], two[clients]
            cpu = (a.server_cpu / max(a.delivered, 1)) / max(b.server_cpu / max(b.delivered, 1), 1e-9)
            print(f"  {shape}, {clients} clients: p99 {a.p99:.0f} ms vs {b.p99:.0f} ms "
                  f"(two/one {b.p99 / max(a.p99, 1e-9):.2f}); deliveries/s {a.delivered / a.seconds:.0f} vs "
                  f"{b.delivered / b.seconds:.0f} (two/one {(b.delivered / b.seconds) / (a.delivered / a.seconds):.2f}); "
                  f"server CPU a delivery one/two {cpu:.2f}")


def main() -> None:
    shapes = [(name, shape) for name, shape in (("room", OneRoom), ("pairs", Pairs)) if name in SHAPES]
    found: dict[tuple[str, int], list[Result]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        profile_dir = Path(PROFILE) if PROFILE else None
        if profile_dir:
            profile_dir.mkdir(parents=True, exist_ok=True)
        print(f"fan-out; {os.cpu_count()} CPUs, load average {load_average()} (1/5/15 min); "
              f"sockets {'offer' if COMPRESS else 'do not offer'} permessage-deflate")
        if "1" in PROCESSES:
            for name, shape in shapes:
                print(f"{shape.name}, one process (SQLite, in-process bus):", flush=True)
                out = profile_dir / f"{name}-one.pstats" if profile_dir else None
                server = start_server(tmp / f"one-{name}", tmp / "one.log", out, **UNLIMITED)
                try:
                    found[(name, 1)] = asyncio.run(search(shape(), Servers([server]), f"{shape.name}, one process"))
                finally:
                    server.stop()
                if out:
                    print_profiles([out])

        if "2" in PROCESSES:
            for name, shape in shapes:
                print(f"{shape.name}, two processes (PostgreSQL + Redis):", flush=True)
                outs = [profile_dir / f"{name}-two-{n}.pstats" for n in (1, 2)] if profile_dir else [None, None]

                async def scaled(url: str) -> None:
                    env = {"SEALROOM_DATABASE_URL": url, "SEALROOM_REDIS_URL": "redis://127.0.0.1:6379/0",
                           "SEALROOM_REDIS_NAMESPACE": f"sealroom-bench-{secrets.token_hex(4)}", **UNLIMITED}
                    first = start_server(tmp / f"shared-{name}", tmp / "a.log", outs[0], **env)
                    second = start_server(tmp / f"shared-{name}", tmp / "b.log", outs[1], **env)
                    try:
                        found[(name, 2)] = await search(shape(), Servers([first, second]),
                                                        f"{shape.name}, two processes")
                    finally:
                        first.stop()
                        second.stop()

                asyncio.run(with_postgres(scaled))
                if profile_dir:
                    print_profiles(outs)
    compare(found)


if __name__ == "__main__":
    main()
