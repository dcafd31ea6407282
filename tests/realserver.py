"""A real ``python -m server`` process for the tests that need one: SIGKILL,
restarts, read-only mounts and full disks (``unshare -m``, as root)."""

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from tests.helpers import register

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def can_mount() -> bool:
    """Root with CAP_SYS_ADMIN: a private mount namespace and tmpfs work here."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True)
    return probe.returncode == 0


class RealServer:
    def __init__(self, data_dir: Path, **settings):
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.env = {**os.environ, "SEALROOM_DATA_DIR": str(self.data_dir), "SEALROOM_PORT": str(self.port),
                    "SEALROOM_AUTH_ATTEMPTS": "1000",
                    **{f"SEALROOM_{name.upper()}": str(value) for name, value in settings.items()}}
        self.process: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "server"]

    def start(self, wrapper: list[str] | None = None) -> subprocess.Popen:
        self.process = subprocess.Popen([*(wrapper or []), *self.command()], cwd=REPO, env=self.env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        return self.process

    def run_to_exit(self, wrapper: list[str] | None = None, timeout: float = 60) -> tuple[int, str]:
        process = self.start(wrapper)
        _out, err = process.communicate(timeout=timeout)
        return process.returncode, err

    async def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"the server exited with {self.process.returncode}: "
                                         f"{self.process.stderr.read()[-3000:]}")
                try:
                    async with session.get(f"{self.url}/") as response:
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError("the server did not start in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process.stdout.close()
        self.process.stderr.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            for stream in (self.process.stdout, self.process.stderr):
                if stream and not stream.closed:
                    stream.close()

    def session(self) -> aiohttp.ClientSession:
        """Another person: a cookie jar of its own (IP hosts need an 'unsafe' jar)."""
        return aiohttp.ClientSession(base_url=self.url, cookie_jar=aiohttp.CookieJar(unsafe=True))


async def people_and_room(server: RealServer, alice_session, bob_session, name: str):
    alice = await register(alice_session, "alice", 0)
    bob = await register(bob_session, "bob", 1)
    response = await alice.post("/api/rooms", {"name": name, "members": [bob.username]})
    assert response.status == 201, await response.text()
    return alice, bob, (await response.json())["room"]


async def send_message(ws, alice, bob, room_id: str, body: str = "hello", ref: str = "m") -> dict:
    envelope = await alice.envelope(room_id, {alice.id: alice.public_key, bob.id: bob.public_key}, body=body)
    await ws.send_str(json.dumps({"type": "send", "ref": ref, "room": room_id, "envelope": envelope}))
    while True:
        frame = json.loads((await ws.receive(timeout=30)).data)
        if frame["type"] in ("sent", "error"):
            return {**frame, "envelope": envelope}
