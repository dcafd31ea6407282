"""Expiry is deletion everywhere, against a real server process (issue 13).

A short retention, then a scan of the bytes of every file under the data
directory; SIGKILL during uploads; a read-only data directory and full disks
through private mounts (``unshare -m``, root only: skipped elsewhere).
"""

import asyncio
import os
import secrets
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from server.domain.blobs import PART_SIZE
from tests.helpers import page_csrf, signed
from tests.realserver import RealServer, can_mount, people_and_room, send_message

RETENTION = 30  # seconds; the promise under test is "no byte 60 s after expiry"
WINDOW = 60


def traces(directory: Path, needles: list[bytes]) -> list[str]:
    """Every file under ``directory`` (database, WAL, SHM, blobs, temporary
    files, search segments, backups) holding any needle."""
    found = []
    for folder, _dirs, files in os.walk(directory):
        for name in files:
            path = Path(folder) / name
            try:
                data = path.read_bytes()
            except FileNotFoundError:  # removed while we looked
                continue
            if any(needle in data for needle in needles):
                found.append(str(path.relative_to(directory)))
    return sorted(found)


async def wait_until_clean(directory: Path, needles: list[bytes], expires_at: float) -> float:
    """Seconds after expiry at which no file holds any needle; fails after the window."""
    while True:
        left = traces(directory, needles)
        now = time.time()
        if not left and now >= expires_at:
            return now - expires_at
        assert now < expires_at + WINDOW, f"{now - expires_at:.0f} s after expiry these still hold the room: {left}"
        await asyncio.sleep(1)


async def upload(user, room_id: str, parts: list[bytes], *, complete: bool = True) -> str:
    response = await signed(user, "POST", f"/api/rooms/{room_id}/uploads",
                            f'{{"size": {sum(map(len, parts))}}}'.encode())
    assert response.status == 201, await response.text()
    upload_id = (await response.json())["upload"]
    for number, part in enumerate(parts):
        response = await signed(user, "PUT", f"/api/uploads/{upload_id}/parts/{number}", part)
        assert response.status == 200, await response.text()
    if complete:
        response = await signed(user, "POST", f"/api/uploads/{upload_id}/complete")
        assert response.status == 201, await response.text()
    return upload_id


@pytest.fixture
def servers():
    started = []
    yield started
    for server in started:
        server.stop()


async def test_no_byte_of_an_expired_room_is_left_under_the_data_directory(tmp_path, servers):
    data = tmp_path / "data"
    server = RealServer(data, room_retention_seconds=RETENTION, backup_interval_seconds=5)
    servers.append(server)
    server.start()
    await server.wait_ready()
    name = f"Expedition {secrets.token_hex(4)}"
    async with server.session() as alice_session, server.session() as bob_session:
        alice, bob, room = await people_and_room(server, alice_session, bob_session, name)
        ws = await alice_session.ws_connect("/ws")
        sent = await send_message(ws, alice, bob, room["id"], body="the plan")
        assert sent["type"] == "sent"
        parts = [secrets.token_bytes(PART_SIZE), secrets.token_bytes(5000)]  # a file of more than one part
        await upload(alice, room["id"], parts)
        await ws.close()
    needles = [room["id"].encode(), name.encode(), sent["envelope"]["ct"].encode(), sent["envelope"]["sig"].encode(),
               parts[0][:64], parts[0][-64:], parts[1][:64]]
    # While it lives, the scan sees it: in the database, the blob store, the search index and a backup.
    for _ in range(100):
        seen = traces(data, needles)
        if any(path.startswith("backups/") for path in seen):
            break
        await asyncio.sleep(0.2)
    assert any(path.startswith("blobs/") for path in seen) and any(path.startswith("search/") for path in seen)
    assert any(path.startswith("backups/") for path in seen), seen
    assert any(path.startswith("sealroom.db") for path in seen)
    expires_at = datetime.fromisoformat(room["expires_at"]).timestamp()
    after = await wait_until_clean(data, needles, expires_at)
    print(f"no byte of the room left {after:.1f} s after expiry")
    assert server.process.poll() is None  # still running: this is the live server's data directory


async def _kill_mid_write(server: RealServer, request) -> list[str]:
    """Send ``request`` and SIGKILL the server while it writes a blob (a
    temporary file exists in blobs/.tmp), as a crash or an OOM kill would."""
    tmp = server.data_dir / "blobs" / ".tmp"
    request = asyncio.ensure_future(request)
    partials = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not request.done():
        partials = os.listdir(tmp)
        if partials:
            server.kill()
            break
        await asyncio.sleep(0)
    assert server.process.poll() is not None, "the write finished before the test could interrupt it"
    try:
        await request
    except Exception:  # the connection died with the server, as intended
        pass
    return partials


def _restart(data: Path, servers: list) -> RealServer:
    server = RealServer(data, room_retention_seconds=CRASH_RETENTION, backup_interval_seconds=0)
    servers.append(server)
    server.start()
    return server


CRASH_RETENTION = 45  # room for two crashes and restarts before the room expires


async def test_sigkill_during_a_part_upload_and_during_complete_leaves_nothing_once_the_room_expired(
        tmp_path, servers):
    data = tmp_path / "data"
    server = RealServer(data, room_retention_seconds=CRASH_RETENTION, backup_interval_seconds=0)
    servers.append(server)
    server.start()
    await server.wait_ready()
    big = [secrets.token_bytes(PART_SIZE) for _ in range(4)]
    cut_part = secrets.token_bytes(PART_SIZE)
    async with server.session() as alice_session, server.session() as bob_session:
        alice, bob, room = await people_and_room(server, alice_session, bob_session, "Crash test")
        assembling = await upload(alice, room["id"], big, complete=False)
        response = await signed(alice, "POST", f"/api/rooms/{room['id']}/uploads",
                                f'{{"size": {3 * PART_SIZE}}}'.encode())
        interrupted = (await response.json())["upload"]
        assert (await signed(alice, "PUT", f"/api/uploads/{interrupted}/parts/0", big[0][::-1])).status == 200
        # 1. killed while it stores part 1 of the second upload
        cut = await _kill_mid_write(server, signed(alice, "PUT", f"/api/uploads/{interrupted}/parts/1", cut_part))
    assert cut and all(name.endswith(".part") for name in cut)

    server = _restart(data, servers)
    await server.wait_ready()
    async with server.session() as alice_session:
        alice.client = alice_session
        csrf = await page_csrf(alice_session)
        response = await alice_session.post("/api/login", json={"username": "alice", "auth_key": "A" * 43 + "="},
                                            headers={"X-CSRF-Token": csrf})
        assert response.status == 200, await response.text()
        alice.csrf = (await response.json())["csrf"]
        # 2. killed while it assembles the first upload
        partials = await _kill_mid_write(server, signed(alice, "POST", f"/api/uploads/{assembling}/complete"))
    assert partials and all(name.endswith(".part") for name in partials)
    needles = [part[:64] for part in big] + [part[-64:] for part in big] + [big[0][::-1][:64], cut_part[:64]]
    assert traces(data, needles), "the crashes must have left ciphertext behind for this test to mean anything"

    server = _restart(data, servers)
    await server.wait_ready()
    after = await wait_until_clean(data, needles, datetime.fromisoformat(room["expires_at"]).timestamp())
    print(f"crash leftovers gone {after:.1f} s after expiry")
    assert os.listdir(data / "blobs" / ".tmp") == []


# ---- faults as sentences -------------------------------------------------

needs_mount = pytest.mark.skipif(not can_mount(), reason="needs root and unshare -m (private mounts)")


def _one_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("sealroom: "), err
    assert "Traceback" not in err
    return lines[0]


@needs_mount
def test_read_only_data_directory_is_one_sentence_and_exit_2(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    server = RealServer(data)
    # A private mount namespace: the directory is bind-mounted read-only for the server only.
    wrapper = ["unshare", "-m", "sh", "-c",
               f'mount --bind "{data}" "{data}" && mount -o remount,ro,bind "{data}" "{data}" && exec "$@"', "sh"]
    code, err = server.run_to_exit(wrapper)
    line = _one_line(err)
    assert code == 2 and str(data) in line and "read-only" in line and "mount it read-write" in line


def test_data_directory_not_writable_by_the_server_user_is_one_sentence_and_exit_2(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root to run the server as another user")
    data = tmp_path / "data"
    data.mkdir()
    os.chmod(tmp_path, 0o755)
    server = RealServer(data)
    server.env["HOME"] = str(tmp_path)
    code, err = server.run_to_exit(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
    line = _one_line(err)
    assert code == 2 and str(data) in line and "not writable by this user" in line


def test_unreadable_database_is_one_sentence_and_exit_2(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "sealroom.db").write_bytes(b"this is not a database" * 100)
    code, err = RealServer(data).run_to_exit()
    line = _one_line(err)
    assert code == 2 and str(data / "sealroom.db") in line and "restore it from a backup" in line


def _tmpfs(data: Path, size: str, then: str = "") -> list[str]:
    return ["unshare", "-m", "sh", "-c",
            f'mount -t tmpfs -o size={size} tmpfs "{data}" && {then} exec "$@"', "sh"]


@needs_mount
def test_full_disk_at_start_up_is_one_sentence_and_exit_2(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    fill = f'(cat /dev/zero > "{data}/filler" 2>/dev/null || true) &&'
    code, err = RealServer(data).run_to_exit(_tmpfs(data, "2m", fill))
    line = _one_line(err)
    assert code == 2 and str(data) in line and "full disk" in line and "free some space" in line


@needs_mount
async def test_full_disk_at_run_time_gives_507_and_an_error_frame_and_loses_nothing_acknowledged(tmp_path, servers):
    data = tmp_path / "data"
    data.mkdir()
    server = RealServer(data, backup_interval_seconds=0)
    servers.append(server)
    server.start(_tmpfs(data, "48m"))
    await server.wait_ready()

    def in_server_mounts(script: str) -> None:
        subprocess.run(["nsenter", "-t", str(server.process.pid), "-m", "sh", "-c", script], check=False,
                       capture_output=True, timeout=60)

    async with server.session() as alice_session, server.session() as bob_session:
        alice, bob, room = await people_and_room(server, alice_session, bob_session, "Full disk")
        ws = await alice_session.ws_connect("/ws")
        acknowledged = []
        first = await send_message(ws, alice, bob, room["id"], body="before", ref="before")
        assert first["type"] == "sent"
        acknowledged.append(first["seq"])
        response = await signed(alice, "POST", f"/api/rooms/{room['id']}/uploads", f'{{"size": {PART_SIZE}}}'.encode())
        upload_id = (await response.json())["upload"]

        in_server_mounts(f'cat /dev/zero > "{data}/filler"')  # the disk is now full

        response = await signed(alice, "PUT", f"/api/uploads/{upload_id}/parts/0", secrets.token_bytes(PART_SIZE))
        assert response.status == 507
        body = await response.json()
        assert body["error"]["code"] == "storage_full" and "disk is full" in body["error"]["message"]
        refused = None
        for attempt in range(60):  # SQLite may still have room in its WAL for a few
            reply = await send_message(ws, alice, bob, room["id"], body="x" * 60_000, ref=f"full-{attempt}")
            if reply["type"] == "error":
                refused = reply
                break
            acknowledged.append(reply["seq"])
        assert refused is not None and refused["error"] == "storage_full" and "disk is full" in refused["message"]
        await ws.send_json({"type": "ping"})
        assert (await ws.receive_json(timeout=10))["type"] == "pong"  # the socket stayed open

        in_server_mounts(f'rm -f "{data}/filler"')
        after = await send_message(ws, alice, bob, room["id"], body="after", ref="after")
        assert after["type"] == "sent"
        acknowledged.append(after["seq"])
        history = await (await bob_session.get(f"/api/rooms/{room['id']}/messages")).json()
        assert sorted(message["seq"] for message in history["messages"]) == sorted(acknowledged)
        await ws.close()
