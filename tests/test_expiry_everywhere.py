"""Expiry is deletion everywhere (issue 13): the search index's files, the
temporary files and parts of uploads, streaming downloads, backups, and a
clock set back. In-process servers with an injected clock; the real-process
tests (SIGKILL, a read-only or full disk, a short retention) are in
tests/test_expiry_real_server.py."""

import asyncio
import os
import secrets
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import func, select

from search_index import SearchIndex, room_event, room_removed_event, user_event
from search_index.index import room_document, user_document
from server import app_keys, backup, jobs
from server.app import create_app
from server.blobs import make_blob_store
from server.blobs import BlobNotFound
from server.config import Config
from server.domain.blobs import PART_SIZE, part_blob_id
from server.models import Blob, Room, Upload
from tests.helpers import signed
from tests.retention import WEEK, Clock, seed_room, store_blob
from tests.retention import clock_fixture, clocked_app_server  # noqa: F401 (fixtures clock, app_server)


@pytest.fixture
def config(tmp_path) -> Config:
    return Config(data_dir=tmp_path / "data", session_idle_seconds=30 * 86400, session_absolute_seconds=30 * 86400)


def _traces(directory, *needles: bytes) -> list[str]:
    """Every file under ``directory`` holding any needle (files that vanish
    while being scanned, such as the index writer's temporary ones, are skipped)."""
    found = set()
    for folder, _dirs, files in os.walk(directory):
        for name in files:
            try:
                data = (Path(folder) / name).read_bytes()
            except FileNotFoundError:
                continue
            if any(needle in data for needle in needles):
                found.add(str(Path(folder) / name))
    return sorted(found)


# ---- the search index forgets for real -----------------------------------

def test_removed_room_leaves_no_byte_in_a_large_rebuilt_index(tmp_path):
    """The issue's case: a room inside a rebuilt index of 2,001 documents,
    then 300 writes; Whoosh alone keeps it in the .seg file as 'deleted'."""
    later = datetime.now(timezone.utc) + WEEK
    room_id, name, member = secrets.token_hex(16), "Zanzibar expedition", secrets.token_hex(16)
    documents = [user_document(user_event(f"u{i:05d}", f"user{i}")) for i in range(2000)]
    documents.append(room_document(room_event(room_id, name, [member, "u00001"], later)))
    directory = tmp_path / "search"
    index = SearchIndex.create(directory, documents)
    for i in range(300):
        index.apply([user_event(f"w{i:05d}", f"writer{i}")])
    needles = (room_id.encode(), name.encode(), b"zanzibar", member.encode())
    assert _traces(directory, *needles)
    removal = [room_removed_event(room_id)]
    index.apply(removal)
    index.refresh(removal)
    assert _traces(directory, *needles), "Whoosh only flags it: this is what must not stay"
    index.forget_deleted()
    index.refresh([])
    assert _traces(directory, *needles) == []
    assert index.doc_count() == 2300  # everyone else is still there
    index.close()


async def test_expired_room_leaves_the_search_segment_files_without_a_reindex(client, new_client, app_server,
                                                                               clock, config):
    updater = app_server.app[app_keys.search]
    updater.forget_delay = 0.2
    seeded = await seed_room(client, await new_client(), name="Quarterly offsite Danang")
    await updater.flush()
    needles = (seeded.room_id.encode(), b"Quarterly offsite Danang", b"danang")
    assert _traces(config.data_dir / "search", *needles)
    clock.advance(WEEK)
    await jobs.sweep_now(app_server.app)
    for _ in range(100):  # bounded: the rewrite follows the removal after forget_delay
        if not _traces(config.data_dir / "search", *needles):
            break
        await asyncio.sleep(0.05)
    assert _traces(config.data_dir / "search", *needles) == []


# ---- uploads: parts, crashes, quota --------------------------------------

async def _upload_parts(user, room_id: str, parts: list[bytes], size: int | None = None) -> str:
    size = size or sum(map(len, parts))
    response = await signed(user, "POST", f"/api/rooms/{room_id}/uploads", f'{{"size": {size}}}'.encode())
    assert response.status == 201, await response.text()
    upload_id = (await response.json())["upload"]
    for number, part in enumerate(parts):
        response = await signed(user, "PUT", f"/api/uploads/{upload_id}/parts/{number}", part)
        assert response.status == 200, await response.text()
    return upload_id


async def test_crash_leftovers_of_an_upload_go_with_its_room(client, new_client, app_server, clock, config):
    """What a SIGKILL leaves: a part stored with no row yet, and the assembly's
    temporary file. Both are named by the upload, so expiry finds them."""
    seeded = await seed_room(client, await new_client())
    app = app_server.app
    upload_id = await _upload_parts(seeded.alice, seeded.room_id, [b"P0-CIPHERTEXT" * 100], size=2 * PART_SIZE)
    async with app[app_keys.sessionmaker]() as db:
        upload = await db.get(Upload, upload_id)
    store = app[app_keys.blob_store]
    crashed_part = store.tmp / f"{part_blob_id(upload, 1)}.dead.part"
    crashed_part.write_bytes(b"HALF-A-PART-CIPHERTEXT")
    crashed_assembly = store.tmp / f"{upload.blob_id}.dead.part"
    crashed_assembly.write_bytes(b"HALF-AN-ASSEMBLY-CIPHERTEXT")
    clock.advance(WEEK)
    await jobs.sweep_now(app)
    assert _traces(config.data_dir, b"P0-CIPHERTEXT", b"HALF-A-PART-CIPHERTEXT", b"HALF-AN-ASSEMBLY-CIPHERTEXT") == []


async def test_abandoned_upload_frees_the_quota_and_its_parts(aiohttp_server, aiohttp_client, config, clock):
    config = replace(config, user_quota_bytes=10_000)
    app = create_app(config)
    app[app_keys.clock] = clock
    server = await aiohttp_server(app)
    seeded = await seed_room(await aiohttp_client(server), await aiohttp_client(server))
    used = len(seeded.blob)
    await _upload_parts(seeded.alice, seeded.room_id, [b"A" * (10_000 - used - 50)])

    async def start(size: int) -> int:
        return (await signed(seeded.alice, "POST", f"/api/rooms/{seeded.room_id}/uploads",
                             f'{{"size": {size}}}'.encode(), created=int(clock().timestamp()))).status

    assert await start(100) == 413  # the unfinished upload counts while it may go on
    clock.advance(timedelta(minutes=61))
    assert await start(100) == 201  # abandoned: it no longer counts, even before a sweep
    await jobs.sweep_now(app)
    async with app[app_keys.sessionmaker]() as db:
        assert await db.scalar(select(func.count()).select_from(Upload)) == 1  # only the new one
    assert _traces(config.data_dir / "blobs", b"A" * 100) == []


async def test_upload_part_that_lands_after_its_room_expired_is_not_kept(client, new_client, app_server, clock):
    seeded = await seed_room(client, await new_client())
    upload_id = await _upload_parts(seeded.alice, seeded.room_id, [], size=4)
    clock.advance(WEEK)
    response = await signed(seeded.alice, "PUT", f"/api/uploads/{upload_id}/parts/0", b"late",
                            created=int(clock().timestamp()))
    assert response.status == 404
    store = app_server.app[app_keys.blob_store]
    assert [blob_id async for blob_id in store.list_ids()] == [seeded.blob_id]


# ---- streaming reads end at expiry ---------------------------------------

@pytest.mark.parametrize("ending", ["expiry", "purge"])
async def test_download_started_before_expiry_stops_at_expiry(client, new_client, app_server, clock, ending):
    seeded = await seed_room(client, await new_client())
    app = app_server.app
    size = 3 * PART_SIZE
    blob_id = secrets.token_hex(16)

    async def chunks():
        for _ in range(size // (1024 * 1024)):
            yield secrets.token_bytes(1024 * 1024)

    stored = await app[app_keys.blob_store].put(blob_id, chunks(), max_bytes=size)
    async with app[app_keys.sessionmaker]() as db, db.begin():
        db.add(Blob(id=blob_id, room_id=seeded.room_id, uploader_id=seeded.alice.id, size=stored,
                    created_at=clock()))
    response = await signed(seeded.bob, "GET", f"/api/blobs/{blob_id}", created=int(clock().timestamp()))
    assert response.status == 200
    received = len(await response.content.readexactly(256 * 1024))
    if ending == "expiry":
        clock.advance(WEEK)
    else:
        await jobs.purge_rooms(app[app_keys.sessionmaker], app[app_keys.blob_store], [seeded.room_id])
    with pytest.raises(aiohttp.ClientPayloadError):
        while chunk := await response.content.read(1024 * 1024):
            received += len(chunk)
    assert received < stored


# ---- backups tell the truth ----------------------------------------------

@pytest.mark.parametrize("damage", ["missing", "truncated"])
async def test_backup_fails_with_a_list_when_the_store_lost_or_cut_a_blob(client, new_client, app_server, tmp_path,
                                                                          config, damage):
    seeded = await seed_room(client, await new_client())
    store = app_server.app[app_keys.blob_store]
    path = store.root / seeded.blob_id[:2] / seeded.blob_id
    if damage == "missing":
        path.unlink()
        expected = f"blob {seeded.blob_id}: missing from the store ({len(seeded.blob)} bytes recorded)"
    else:
        path.write_bytes(seeded.blob[:-7])
        expected = f"blob {seeded.blob_id}: the store holds {len(seeded.blob) - 7} bytes, the database recorded"
    with pytest.raises(backup.BackupError) as raised:
        await backup.create_backup(config, store, tmp_path / "backups", now=clock_now())
    assert expected in str(raised.value) and "The backup was not written" in str(raised.value)
    assert list((tmp_path / "backups").iterdir()) == []


def clock_now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.mark.parametrize("damage", ["missing", "truncated"])
async def test_verify_checks_blobs_against_the_database_not_only_the_manifest(client, new_client, app_server,
                                                                               tmp_path, config, damage):
    """Someone removes (or cuts) a blob and fixes the manifest to match: the
    checksums agree, but the database still lists the blob and its size."""
    import json

    seeded = await seed_room(client, await new_client())
    path = await backup.create_backup(config, app_server.app[app_keys.blob_store], tmp_path / "backups",
                                      now=clock_now())
    assert backup.verify_backup(path)["blobs"] == {seeded.blob_id: len(seeded.blob)}
    name = f"blobs/{seeded.blob_id[:2]}/{seeded.blob_id}"
    manifest = json.loads((path / "manifest.json").read_text())
    if damage == "missing":
        (path / name).unlink()
        del manifest["files"][name]
        expected = f"{name}: missing (the database lists this blob, {len(seeded.blob)} bytes)"
    else:
        (path / name).write_bytes(seeded.blob[:100])
        manifest["files"][name] = {"size": 100, "sha256": backup._sha256_file(path / name)}
        expected = f"{name}: 100 bytes, the database recorded {len(seeded.blob)}"
    manifest["blobs"] = {}
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(backup.BackupError, match="failed verification") as raised:
        backup.verify_backup(path)
    assert expected in str(raised.value)


async def test_expired_rooms_leave_scheduled_backups_and_the_rest_still_restores(
        client, new_client, app_server, tmp_path, config, clock):
    seeded = await seed_room(client, await new_client(), name="Short lived")
    root = config.effective_backup_dir
    path = await backup.create_backup(config, app_server.app[app_keys.blob_store], root, now=clock())
    needles = (seeded.room_id.encode(), b"Short lived", *seeded.sentinels())
    assert _traces(path, *needles)
    # A room created later, in a second backup that outlives the first room.
    clock.advance(timedelta(days=3))
    response = await seeded.alice.post("/api/rooms", {"name": "Longer lived", "members": ["bob"]})
    later_room = (await response.json())["room"]["id"]
    later_blob, later_bytes = await store_blob(app_server.app, later_room, seeded.alice.id)
    second = await backup.create_backup(config, app_server.app[app_keys.blob_store], root, now=clock())
    assert _traces(second, *needles)

    next_expiry: dict = {}
    assert await jobs.expire_in_backups(root, now=clock(), next_expiry=next_expiry) == 0  # nothing due yet
    clock.advance(timedelta(days=4))  # the first room has expired, the second has not
    assert await jobs.expire_in_backups(root, now=clock(), next_expiry=next_expiry) == 2
    assert _traces(root, *needles) == []
    for each in (path, second):
        backup.verify_backup(each)  # re-sealed: still intact
    restored = replace(config, data_dir=tmp_path / "restored")
    store = make_blob_store(restored)
    try:
        report = await backup.restore_backup(restored, store, second, now=clock())
        assert report.rooms_restored == 1 and report.blobs_restored == 1
        assert b"".join([chunk async for chunk in store.read(later_blob)]) == later_bytes
    finally:
        await store.close()


async def test_a_rewrite_of_a_backup_cut_short_by_a_crash_is_rolled_back_or_forward(
        client, new_client, app_server, config, clock):
    seeded = await seed_room(client, await new_client())
    root = config.effective_backup_dir
    path = await backup.create_backup(config, app_server.app[app_keys.blob_store], root, now=clock())
    # Cut short before the new manifest was whole: staged files that nothing refers to.
    (path / "database.sqlite.new").write_bytes(b"half a database")
    (path / "manifest.json.new.partial").write_text('{"format": ')
    backup.verify_backup(path)  # a rewrite in progress does not make the backup look damaged
    clock.advance(WEEK)
    await backup.expire_rooms_in_backup(path, now=clock())
    assert sorted(p.name for p in path.iterdir()) == ["blobs", "database.sqlite", "manifest.json"]
    manifest = backup.verify_backup(path)
    assert manifest["blobs"] == {} and manifest["next_expiry"] is None
    assert _traces(path, seeded.room_id.encode(), *seeded.sentinels()) == []


def test_backups_outlive_the_retention_only_when_the_operator_says_so():
    from server.config import ConfigError

    env = {"SEALROOM_ROOM_RETENTION_SECONDS": "3600", "SEALROOM_BACKUP_KEEP_SECONDS": "7200"}
    with pytest.raises(ConfigError, match="SEALROOM_BACKUP_KEEP_BEYOND_RETENTION=1"):
        Config.from_env(env)
    assert Config.from_env({**env, "SEALROOM_BACKUP_KEEP_BEYOND_RETENTION": "1"}).effective_backup_keep_seconds == 7200


# ---- time only moves forward ---------------------------------------------

def test_time_set_back_neither_goes_back_nor_stands_still():
    from server.clock import HighWater

    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    high_water = HighWater()
    assert high_water.now(start, monotonic=100.0) == start
    # The wall clock is set back three days; a minute passes on the monotonic clock.
    assert high_water.now(start - timedelta(days=3), monotonic=160.0) == start + timedelta(minutes=1)
    # So a room with a day left still expires a day later, not four days later.
    assert high_water.now(start - timedelta(days=3), monotonic=160.0 + 86400) == start + timedelta(days=1, minutes=1)
    assert high_water.now(start + timedelta(days=2), monotonic=160.0 + 86401) == start + timedelta(days=2)  # forward: taken
    restarted = HighWater(start + timedelta(days=2))  # the saved mark, after a restart with the clock still behind
    assert restarted.now(start - timedelta(days=3), monotonic=5.0) == start + timedelta(days=2)


async def test_clock_set_back_revives_no_room(client, new_client, app_server, clock):
    seeded = await seed_room(client, await new_client())
    room = f"/api/rooms/{seeded.room_id}"
    clock.advance(WEEK + timedelta(seconds=1))
    assert (await seeded.bob.client.get(room)).status == 404
    clock.advance(-timedelta(days=3))  # the clock is set back before any sweep ran
    assert (await seeded.bob.client.get(room)).status == 404
    assert (await (await seeded.bob.client.get("/api/rooms")).json())["rooms"] == []
    report = await jobs.sweep_now(app_server.app)
    assert report.rooms == [seeded.room_id]


async def test_the_high_water_mark_survives_a_restart(aiohttp_server, aiohttp_client, config):
    clock = Clock()
    first = create_app(config)
    first[app_keys.clock] = clock
    server = await aiohttp_server(first)
    seeded = await seed_room(await aiohttp_client(server), await aiohttp_client(server))
    clock.advance(WEEK + timedelta(seconds=1))
    await jobs.save_clock(first)
    await server.close()
    second = create_app(config)  # the real clock again: a week behind the mark
    server = await aiohttp_server(second)
    async with second[app_keys.sessionmaker]() as db:
        assert await db.scalar(select(func.count()).select_from(Room)) == 0  # swept at start
    with pytest.raises(BlobNotFound):
        await second[app_keys.blob_store].size(seeded.blob_id)


async def test_restore_on_a_machine_whose_clock_is_behind_brings_back_no_expired_room(
        client, new_client, app_server, tmp_path, config):
    seeded = await seed_room(client, await new_client())
    path = await backup.create_backup(config, app_server.app[app_keys.blob_store], tmp_path / "backups",
                                      now=clock_now() + WEEK + timedelta(seconds=1) - timedelta(seconds=5))
    # The backup was taken 5 s before the room expired; this machine's clock is a week behind.
    restored = replace(config, data_dir=tmp_path / "restored")
    store = make_blob_store(restored)
    try:
        report = await backup.restore_backup(restored, store, path, now=clock_now() - WEEK)
        assert report.rooms_restored == 1  # not expired yet at the backup's own time
        assert report.now >= clock_now() + WEEK - timedelta(minutes=1)
    finally:
        await store.close()
    with sqlite3.connect(restored.data_dir / "sealroom.db") as database:
        (mark,) = database.execute("SELECT high_water FROM server_clock").fetchone()
    # A server started on it goes on from the backup's time, not this machine's.
    assert datetime.fromisoformat(mark).replace(tzinfo=timezone.utc) >= clock_now() + WEEK - timedelta(minutes=1)
    assert seeded.room_id


# ---- the same by hand: purge-expired -------------------------------------

async def test_purge_expired_by_hand_removes_abandoned_uploads_crash_leftovers_and_expired_rooms_in_backups(
        client, new_client, app_server, config, monkeypatch, capsys):
    from server.admin import main
    from server.clock import save_high_water
    from tests.retention import start_upload_with_part

    seeded = await seed_room(client, await new_client())
    app = app_server.app
    store = app[app_keys.blob_store]
    long_ago = datetime.now(timezone.utc) - timedelta(hours=2)
    abandoned_part = await start_upload_with_part(app, seeded.room_id, seeded.alice.id, started=long_ago)
    leftover = store.tmp / f"{secrets.token_hex(16)}.dead.part"
    leftover.write_bytes(b"CRASH-LEFTOVER-CIPHERTEXT")
    os.utime(leftover, (long_ago.timestamp(), long_ago.timestamp()))
    path = await backup.create_backup(config, store, config.effective_backup_dir,
                                      now=datetime.now(timezone.utc))
    async with app[app_keys.sessionmaker]() as db, db.begin():
        # The server has seen a week pass (its mark), though this machine's clock says otherwise:
        # the CLI goes by the mark too, so for it the room has expired, in the database and the backup.
        await save_high_water(db, datetime.now(timezone.utc) + WEEK + timedelta(seconds=1))

    monkeypatch.setenv("SEALROOM_DATA_DIR", str(config.data_dir))
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["purge-expired"]) == 0
    out = capsys.readouterr().out
    assert "Deleted 1 expired room(s)" in out and "rewrote 1 backup(s)" in out
    with pytest.raises(BlobNotFound):
        await store.size(abandoned_part)
    assert not leftover.exists()
    # The running server's next sweep finds the room gone from the database and drops it from its index.
    app[app_keys.search].forget_delay = 0.1
    await jobs.save_clock(app)  # every 15 s: the server adopts the later mark
    await jobs.sweep_now(app)
    for _ in range(100):
        if not _traces(config.data_dir, seeded.room_id.encode(), *seeded.sentinels(), b"CRASH-LEFTOVER"):
            break
        await asyncio.sleep(0.05)
    assert _traces(config.data_dir, seeded.room_id.encode(), *seeded.sentinels(), b"CRASH-LEFTOVER") == []
    backup.verify_backup(path)
