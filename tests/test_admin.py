"""``sealroom-admin`` against the same configuration as a running server:
SQLite or PostgreSQL, local or S3 blob storage."""

import asyncio
import secrets
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text, update

from server import app_keys
from server.admin import main
from server.app import create_app
from server.blobs import BlobNotFound
from server.config import Config
from server.models import Room
from tests.helpers import page_csrf, register
from tests.retention import WEEK, seed_room, start_upload_with_part

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def admin(capsys, monkeypatch, config):
    """``await admin("users", "list")`` -> (exit code, stdout, stderr), in the
    server's environment. The CLI runs its own event loop, so in a thread."""
    monkeypatch.setenv("SEALROOM_DATA_DIR", str(config.data_dir))

    async def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = await asyncio.to_thread(main, list(argv))
        out, err = capsys.readouterr()
        return code, out, err
    return run


async def _login_status(client, username: str) -> int:
    csrf = await page_csrf(client)
    response = await client.post("/api/login", json={"username": username, "auth_key": "A" * 43 + "="},
                                 headers={"X-CSRF-Token": csrf})
    return response.status


async def test_users_list_disable_enable_delete(client, new_client, admin):
    bob_client = await new_client()
    seeded = await seed_room(client, bob_client)
    code, out, _ = await admin("users", "list")
    assert code == 0
    assert "alice" in out and "bob" in out and "2 user(s)" in out

    code, out, _ = await admin("users", "disable", "bob")
    assert code == 0 and "bob is disabled" in out
    assert (await bob_client.get("/api/me")).status == 401  # sessions ended at once
    assert await _login_status(await new_client(), "bob") == 401
    assert "disabled" in (await admin("users", "list"))[1]

    code, out, _ = await admin("users", "enable", seeded.bob.id)  # by id works too
    assert code == 0 and "bob is enabled" in out
    assert await _login_status(await new_client(), "bob") == 200

    code, _, err = await admin("users", "delete", "bob")
    assert code == 1 and "--yes" in err
    code, out, _ = await admin("users", "delete", "bob", "--yes")
    assert code == 0 and "bob was deleted" in out
    assert "bob" not in (await admin("users", "list"))[1]
    # Alice's room and message survive; Bob is no longer a member.
    room = (await (await client.get(f"/api/rooms/{seeded.room_id}")).json())["room"]
    assert [member["username"] for member in room["members"]] == ["alice"]


async def test_unknown_user_is_a_clear_error(client, admin):
    code, out, err = await admin("users", "disable", "ghost")
    assert code == 1 and out == ""
    assert err.strip() == "sealroom-admin: There is no user called “ghost”."


async def test_rooms_list_and_purge(client, new_client, admin, app_server):
    seeded = await seed_room(client, await new_client())
    code, out, _ = await admin("rooms", "list")
    assert code == 0
    line = next(line for line in out.splitlines() if seeded.room_id in line)
    assert "Plans" in line and "1 (" in line

    code, _, err = await admin("rooms", "purge", seeded.room_id)
    assert code == 1 and "cannot be undone" in err
    code, _, err = await admin("rooms", "purge", "f" * 32, "--yes")
    assert code == 1 and "There is no room with id" in err
    code, out, _ = await admin("rooms", "purge", seeded.room_id, "--yes")
    assert code == 0 and "Deleted 1 room(s) and 1 blob(s)" in out
    assert (await client.get(f"/api/rooms/{seeded.room_id}")).status == 404
    with pytest.raises(BlobNotFound):
        await app_server.app[app_keys.blob_store].size(seeded.blob_id)


async def test_purge_expired_and_stats(client, new_client, admin, app_server):
    seeded = await seed_room(client, await new_client())
    code, out, _ = await admin("stats")
    assert code == 0
    stats = dict(line.rsplit(None, 1) for line in out.splitlines()[1:] if line.split()[-1].isdigit())
    assert stats["users"] == "2" and stats["rooms"] == "1" and stats["messages"] == "1"
    assert stats["blobs in store"] == "1"

    app = app_server.app
    async with app[app_keys.sessionmaker]() as db, db.begin():
        await db.execute(update(Room).values(expires_at=datetime.now(timezone.utc) - WEEK))  # long expired
    code, out, _ = await admin("purge-expired")
    assert code == 0 and "Deleted 1 expired room(s), 1 of their blob(s)" in out
    with pytest.raises(BlobNotFound):
        await app[app_keys.blob_store].size(seeded.blob_id)


async def test_backup_verify_and_restore_through_the_cli(client, new_client, admin, tmp_path, monkeypatch):
    await seed_room(client, await new_client())
    code, out, _ = await admin("backup", "--output", str(tmp_path / "backups"))
    assert code == 0 and "Backup written to" in out
    [path] = (tmp_path / "backups").iterdir()
    code, out, _ = await admin("backup", "--verify", str(path))
    assert code == 0 and "is intact" in out

    blob = next(p for p in (path / "blobs").rglob("*") if p.is_file())
    blob.write_bytes(b"tampered" + blob.read_bytes()[8:])
    code, out, err = await admin("backup", "--verify", str(path))
    assert code == 1 and "SHA-256 does not match" in err and blob.name in err

    code, _, err = await admin("restore", str(path))
    assert code == 1 and "failed verification" in err

    code, _, err = await admin("restore", str(tmp_path / "nowhere"))
    assert code == 1 and "not a SealRoom backup" in err


async def test_configuration_errors_exit_2(admin, monkeypatch):
    monkeypatch.setenv("SEALROOM_BLOB_STORE", "ftp://old-server/blobs")
    code, _, err = await admin("stats")
    assert code == 2 and "not a supported blob store" in err


async def test_reindex_rebuilds_the_search_index_from_the_database(client, new_client, admin):
    await seed_room(client, await new_client())
    code, out, err = await admin("reindex")
    assert code == 0, err
    assert "The search index was rebuilt (3 documents)" in out  # two people and one room


def test_python_dash_m_server_admin_runs(tmp_path):
    result = subprocess.run([sys.executable, "-m", "server.admin", "stats"], cwd=REPO, capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "SEALROOM_DATA_DIR": str(tmp_path / "data")}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "users" in result.stdout and "database size" in result.stdout


# ---- S3 storage ------------------------------------------------------------

async def test_backup_and_restore_with_s3_storage(s3_bucket, moto_endpoint, monkeypatch, tmp_path,
                                                  aiohttp_server, aiohttp_client, admin):
    monkeypatch.setenv("SEALROOM_BLOB_STORE", f"s3://{s3_bucket}/live")
    monkeypatch.setenv("SEALROOM_S3_ENDPOINT_URL", moto_endpoint)
    config = Config.from_env()
    server = await aiohttp_server(create_app(config))
    seeded = await seed_room(await aiohttp_client(server), await aiohttp_client(server))
    stats = (await admin("stats"))[1]
    assert any(line.split()[-1] == "1" for line in stats.splitlines() if line.startswith("blobs in store"))

    code, out, _ = await admin("backup", "--output", str(tmp_path / "backups"))
    assert code == 0, out
    [path] = (tmp_path / "backups").iterdir()

    monkeypatch.setenv("SEALROOM_BLOB_STORE", f"s3://{s3_bucket}/restored")
    monkeypatch.setenv("SEALROOM_DATA_DIR", str(tmp_path / "restored"))
    code, out, err = await admin("restore", str(path))
    assert code == 0, err
    assert "Restored 1 room(s) and 1 blob(s)" in out
    restored = await aiohttp_server(create_app(Config.from_env()))
    store = restored.app[app_keys.blob_store]
    assert b"".join([chunk async for chunk in store.read(seeded.blob_id)]) == seeded.blob


# ---- PostgreSQL ------------------------------------------------------------

@pytest.fixture
async def postgres_url():
    """A database of its own on the local PostgreSQL server, dropped afterwards."""
    databases = [f"sealroom_test_{secrets.token_hex(4)}" for _ in range(2)]
    try:
        admin_connection = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/test", timeout=5)
    except (OSError, asyncpg.PostgresError) as error:
        pytest.skip(f"PostgreSQL is not running on 127.0.0.1:5432 ({error})")
    try:
        for name in databases:
            await admin_connection.execute(f'CREATE DATABASE "{name}"')
        yield [f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}" for name in databases]
    finally:
        for name in databases:
            await admin_connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin_connection.close()


async def test_admin_backup_and_restore_on_postgresql(postgres_url, monkeypatch, tmp_path, config,
                                                      aiohttp_server, aiohttp_client, admin):
    live, empty = postgres_url
    monkeypatch.setenv("SEALROOM_DATABASE_URL", live)
    server = await aiohttp_server(create_app(replace(config, database_url=live)))
    seeded = await seed_room(await aiohttp_client(server), await aiohttp_client(server))
    code, out, _ = await admin("users", "list")
    assert code == 0 and "2 user(s)" in out
    code, out, err = await admin("backup", "--output", str(tmp_path / "backups"))
    assert code == 0, err
    [path] = (tmp_path / "backups").iterdir()
    assert (path / "database.sql").exists()

    code, _, err = await admin("restore", str(path))
    assert code == 1 and "already has SealRoom tables" in err

    monkeypatch.setenv("SEALROOM_DATABASE_URL", empty)
    monkeypatch.setenv("SEALROOM_DATA_DIR", str(tmp_path / "restored"))
    code, out, err = await admin("restore", str(path))
    assert code == 0, err
    restored = await aiohttp_server(create_app(replace(config, database_url=empty, data_dir=tmp_path / "restored")))
    async with restored.app[app_keys.engine].connect() as connection:
        assert await connection.scalar(text("SELECT count(*) FROM envelopes")) == 1
    store = restored.app[app_keys.blob_store]
    assert await store.size(seeded.blob_id) == len(seeded.blob)

    await start_upload_with_part(restored.app, seeded.room_id, seeded.alice.id, started=datetime.now(timezone.utc))
    async with restored.app[app_keys.sessionmaker]() as db, db.begin():
        await db.execute(update(Room).values(expires_at=datetime.now(timezone.utc) - WEEK))
    code, out, err = await admin("purge-expired")
    assert code == 0, err
    assert "Deleted 1 expired room(s), 2 of their blob(s)" in out
    async with restored.app[app_keys.engine].connect() as connection:
        for table in ("rooms", "envelopes", "members", "blobs", "uploads", "upload_parts"):
            assert await connection.scalar(text(f"SELECT count(*) FROM {table}")) == 0, table


async def test_stats_counts_open_connections_across_processes(client, admin, app_server):
    from server.jobs import report_presence

    await register(client, "alice")
    ws = await client.ws_connect("/ws")
    await ws.receive()
    await report_presence(app_server.app, "test-process")
    stats = (await admin("stats"))[1]
    rows = {line.rsplit(None, 1)[0].strip(): line.split()[-1] for line in stats.splitlines()[1:]}
    assert rows["open connections"] == "1"
    assert rows["server processes running"] == "2"  # the app's own reporter, and this one
    await ws.close()
