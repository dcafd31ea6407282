"""Backups: consistent snapshots while the server runs, checksums that catch
tampering, restores that work, and no restore that brings back an expired room."""

import asyncio
import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from server import app_keys, backup
from server.app import create_app
from server.blobs import make_blob_store
from server.blobs import BlobNotFound
from server.config import Config
from server.db import make_engine, migrate
from server.models import Upload
from tests.helpers import page_csrf
from tests.retention import WEEK, scan, seed_room, start_upload_with_part


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def _backup(app, config, destination, now=None):
    return await backup.create_backup(config, app[app_keys.blob_store], destination, now=now or _now())


async def _login(client, username: str) -> None:
    csrf = await page_csrf(client)
    response = await client.post("/api/login", json={"username": username, "auth_key": "A" * 43 + "="},
                                 headers={"X-CSRF-Token": csrf})
    assert response.status == 200, await response.text()


async def _restore(config: Config, source, now=None) -> backup.RestoreReport:
    store = make_blob_store(config)
    try:
        return await backup.restore_backup(config, store, source, now=now or _now())
    finally:
        await store.close()


async def test_backup_while_running_then_restore_gives_the_same_messages_and_blobs(
        client, new_client, app_server, tmp_path, aiohttp_server, aiohttp_client, config):
    seeded = await seed_room(client, await new_client())
    part = await start_upload_with_part(app_server.app, seeded.room_id, seeded.alice.id, started=_now())
    path = await _backup(app_server.app, config, tmp_path / "backups")
    manifest = backup.verify_backup(path)
    assert manifest["database"] == {"kind": "sqlite", "file": "database.sqlite"}
    assert not any(part in name for name in manifest["files"])  # an unfinished upload is not kept
    assert f"blobs/{seeded.blob_id[:2]}/{seeded.blob_id}" in manifest["files"]
    assert all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())

    restored = replace(config, data_dir=tmp_path / "restored")
    report = await _restore(restored, path)
    assert (report.rooms_restored, report.blobs_restored, report.rooms_expired) == (1, 1, [])

    server = await aiohttp_server(create_app(restored))
    bob = await aiohttp_client(server)
    await _login(bob, "bob")
    messages = (await (await bob.get(f"/api/rooms/{seeded.room_id}/messages")).json())["messages"]
    assert [message["envelope"] for message in messages] == [seeded.envelope]
    store = server.app[app_keys.blob_store]
    assert b"".join([chunk async for chunk in store.read(seeded.blob_id)]) == seeded.blob
    async with server.app[app_keys.sessionmaker]() as db:
        assert await db.scalar(select(func.count()).select_from(Upload)) == 0


async def test_backup_holds_only_ciphertext_and_metadata(client, new_client, app_server, tmp_path, config):
    seeded = await seed_room(client, await new_client())
    path = await _backup(app_server.app, config, tmp_path / "backups")
    database = sqlite3.connect(path / "database.sqlite")
    tables = {name for (name,) in database.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    body = database.execute("SELECT body FROM envelopes").fetchone()[0]
    database.close()
    assert {"users", "rooms", "members", "envelopes", "blobs"} <= tables
    assert '"ct"' in body and "hello" not in body  # the envelope, never the plaintext
    assert not (path / "secret_key").exists()  # the cookie key stays with the server
    assert seeded.blob_id


@pytest.mark.parametrize("damage", ["flip a byte", "truncate", "delete", "add a file", "edit the database"])
async def test_verify_detects_a_tampered_backup(client, new_client, app_server, tmp_path, config, damage):
    seeded = await seed_room(client, await new_client())
    path = await _backup(app_server.app, config, tmp_path / "backups")
    blob_file = path / "blobs" / seeded.blob_id[:2] / seeded.blob_id
    if damage == "flip a byte":
        data = bytearray(blob_file.read_bytes())
        data[100] ^= 1
        blob_file.write_bytes(bytes(data))
        expected = "SHA-256 does not match"
    elif damage == "truncate":
        blob_file.write_bytes(blob_file.read_bytes()[:-1])
        expected = "size"
    elif damage == "delete":
        blob_file.unlink()
        expected = "missing"
    elif damage == "add a file":
        (path / "blobs" / "extra").write_bytes(b"x")
        expected = "not listed in the manifest"
    else:
        database = sqlite3.connect(path / "database.sqlite")
        with database:
            database.execute("UPDATE users SET disabled = 1")
        database.close()
        expected = "database.sqlite: SHA-256 does not match"
    with pytest.raises(backup.BackupError, match=expected):
        backup.verify_backup(path)
    restored = replace(config, data_dir=tmp_path / "restored")
    with pytest.raises(backup.BackupError, match="failed verification"):
        await _restore(restored, path)
    assert not (restored.data_dir / "sealroom.db").exists()  # nothing half-restored


async def test_restore_refuses_a_data_directory_in_use(client, new_client, app_server, tmp_path, config):
    await seed_room(client, await new_client())
    path = await _backup(app_server.app, config, tmp_path / "backups")
    with pytest.raises(backup.BackupError, match="restore only into an empty data directory"):
        await _restore(config, path)


async def test_restore_never_resurrects_an_expired_room(client, new_client, app_server, tmp_path, config):
    seeded = await seed_room(client, await new_client())
    path = await _backup(app_server.app, config, tmp_path / "backups")
    restored = replace(config, data_dir=tmp_path / "restored")
    report = await _restore(restored, path, now=_now() + WEEK + timedelta(seconds=1))
    assert report.rooms_expired == [seeded.room_id] and report.rooms_restored == 0
    store = make_blob_store(restored)
    with pytest.raises(BlobNotFound):
        await store.size(seeded.blob_id)
    await store.close()
    with sqlite3.connect(restored.data_dir / "sealroom.db") as database:
        assert database.execute("SELECT count(*) FROM rooms").fetchone() == (0,)
        assert database.execute("SELECT count(*) FROM envelopes").fetchone() == (0,)


async def test_backup_taken_after_expiry_leaves_the_expired_room_out(client, new_client, app_server, tmp_path, config):
    seeded = await seed_room(client, await new_client())
    path = await _backup(app_server.app, config, tmp_path / "backups", now=_now() + WEEK)
    manifest = backup.verify_backup(path)
    assert [name for name in manifest["files"] if name.startswith("blobs/")] == []
    for needle in seeded.sentinels():
        assert scan(path, needle) == []


async def test_prune_keeps_backups_only_as_long_as_allowed(tmp_path):
    root = tmp_path / "backups"
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    config = Config(data_dir=tmp_path / "data")
    config.data_dir.mkdir()
    engine = make_engine(config.effective_database_url)
    await migrate(engine)
    await engine.dispose()
    store = make_blob_store(config)
    old = await backup.create_backup(config, store, root, now=start)
    new = await backup.create_backup(config, store, root, now=start + timedelta(days=2))
    (root / f"{backup.PARTIAL_PREFIX}crashed").mkdir()
    removed = backup.prune_backups(root, now=start + WEEK, keep=WEEK)
    assert removed == [old]
    assert sorted(root.iterdir()) == [root / f"{backup.PARTIAL_PREFIX}crashed", new]


async def test_scheduled_backups_run_inside_the_server(aiohttp_server, aiohttp_client, config, tmp_path):
    config = replace(config, backup_interval_seconds=1, backup_dir=tmp_path / "scheduled")
    server = await aiohttp_server(create_app(config))
    await seed_room(await aiohttp_client(server), await aiohttp_client(server))
    for _ in range(100):  # bounded: one backup a second
        found = sorted((tmp_path / "scheduled").glob(f"{backup.NAME_PREFIX}*")) if config.backup_dir.exists() else []
        if found:
            break
        await asyncio.sleep(0.1)
    assert found, "no scheduled backup was written"
    backup.verify_backup(found[0])
