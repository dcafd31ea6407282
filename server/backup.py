"""Backups: a consistent snapshot of the database and blobs, with checksums.

A backup is a directory ``sealroom-backup-YYYYMMDDTHHMMSSZ/``::

    manifest.json        format, time, database kind, SHA-256 and size of every file
    database.sqlite      SQLite: a copy made with SQLite's online backup API
    database.sql         PostgreSQL: a plain pg_dump
    blobs/ab/ab12...     every blob the database references (ciphertext)

It holds only what the server holds: ciphertext, public keys, encrypted key
backups, password hashes and metadata. It is written under a temporary name
and renamed when complete, so a half-written backup is never mistaken for one.
Rooms that had expired when the SQLite snapshot was taken are deleted from
the copy before it is sealed; a restore sweeps expired rooms again at once,
so no backup ever brings an expired room back. Uploads still in progress
are left out: their parts are not copied and their rows are dropped.

The manifest's checksums catch corruption and truncation. They are not a
signature: whoever can rewrite the backup can rewrite the manifest too.
"""

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, inspect, select
from sqlalchemy.engine import make_url

from .blobs import BlobNotFound, BlobStore
from .clock import server_now
from .config import Config
from .db import make_engine, make_sessionmaker, migrate
from .domain import blobs, expiry
from .models import Room

FORMAT = "sealroom-backup/1"
MANIFEST = "manifest.json"
NAME_PREFIX = "sealroom-backup-"
NAME_TIME = "%Y%m%dT%H%M%SZ"
PARTIAL_PREFIX = ".partial-"
READ_CHUNK = 1024 * 1024
PRUNE_BATCH = 500


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class RestoreReport:
    rooms_restored: int = 0
    rooms_expired: list[str] = field(default_factory=list)
    blobs_restored: int = 0
    now: datetime | None = None  # the time expiry was judged by


def _backup_time(manifest: dict) -> datetime:
    try:
        created = datetime.fromisoformat(manifest["created_at"])
    except (KeyError, TypeError, ValueError):
        raise BackupError("The backup's manifest has no valid creation time.") from None
    if created.tzinfo is None:
        raise BackupError("The backup's creation time has no time zone.")
    return created


def database_kind(config: Config) -> str:
    kind = make_url(config.effective_database_url).get_backend_name()
    if kind not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups support SQLite and PostgreSQL databases, not {kind}.")
    return kind


def sqlite_path(config: Config) -> Path:
    return Path(make_url(config.effective_database_url).database)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _blob_path(root: Path, blob_id: str) -> Path:
    return root / "blobs" / blob_id[:2] / blob_id


# ---- making a backup -----------------------------------------------------

def _sqlite_snapshot(source: Path, target: Path) -> None:
    """SQLite's online backup API: consistent even while the server writes."""
    if not source.exists():
        raise BackupError(f"There is no database at {source}: nothing to back up.")
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _postgres_env_args(url) -> tuple[dict, list[str]]:
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    args = ["--host", url.host or "127.0.0.1", "--port", str(url.port or 5432),
            "--username", url.username or "postgres", "--dbname", url.database]
    return env, args


async def _run(command: list[str], env: dict, what: str) -> None:
    process = await asyncio.create_subprocess_exec(
        *command, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    _, stderr = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{what} failed: {stderr.decode(errors='replace').strip()}")


async def _prune_expired_in_copy(database: Path, now: datetime) -> expiry.LiveContents:
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            while room_ids := await expiry.expired_room_ids(db, now=now, limit=PRUNE_BATCH):
                await expiry.delete_rooms(db, room_ids)
            await expiry.delete_uploads(db)  # unfinished uploads: their parts are not backed up
            contents = await expiry.live_contents(db, now=now)
    finally:
        await engine.dispose()
    await asyncio.to_thread(_make_self_contained, database)
    return contents


def _make_self_contained(database: Path) -> None:
    """One file, no WAL beside it, and no free pages holding deleted rows."""
    connection = sqlite3.connect(database)
    try:
        connection.execute("PRAGMA journal_mode=DELETE")
        connection.execute("VACUUM")
    finally:
        connection.close()


async def _live_contents(config: Config, now: datetime) -> expiry.LiveContents:
    engine = make_engine(config.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return await expiry.live_contents(db, now=now)
    finally:
        await engine.dispose()


async def _still_referenced(config: Config, blob_ids: list[str]) -> set[str]:
    """Which of these blobs the live database still has rows for (the others were swept meanwhile)."""
    if not blob_ids:
        return set()
    engine = make_engine(config.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            return await blobs.referenced_blob_ids(db, blob_ids)
    finally:
        await engine.dispose()


async def _copy_blob(store: BlobStore, blob_id: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle = await asyncio.to_thread(open, target, "wb")
    try:
        async for chunk in store.read(blob_id):
            await asyncio.to_thread(handle.write, chunk)
    finally:
        handle.close()


def _seal(root: Path, manifest: dict) -> None:
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            files[path.relative_to(root).as_posix()] = {"size": path.stat().st_size, "sha256": _sha256_file(path)}
    manifest["files"] = files
    (root / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")


async def create_backup(config: Config, store: BlobStore, destination: Path, *, now: datetime) -> Path:
    """Write a new backup directory under ``destination`` and return its path."""
    kind = database_kind(config)
    destination.mkdir(parents=True, exist_ok=True)
    final = destination / f"{NAME_PREFIX}{now.astimezone(timezone.utc).strftime(NAME_TIME)}"
    if final.exists():
        raise BackupError(f"{final} already exists.")
    work = Path(tempfile.mkdtemp(prefix=PARTIAL_PREFIX, dir=destination))
    try:
        if kind == "sqlite":
            database_file = "database.sqlite"
            await asyncio.to_thread(_sqlite_snapshot, sqlite_path(config), work / database_file)
            contents = await _prune_expired_in_copy(work / database_file, now)
        else:
            database_file = "database.sql"
            url = make_url(config.effective_database_url)
            env, args = _postgres_env_args(url)
            await _run(["pg_dump", "--no-owner", "--no-privileges", "--format=plain",
                        "--file", str(work / database_file), *args], env, "pg_dump")
            contents = await _live_contents(config, now)
        blob_sizes = contents.blob_sizes
        not_found, problems = [], []
        for blob_id, expected in blob_sizes.items():
            target = _blob_path(work, blob_id)
            try:
                await _copy_blob(store, blob_id, target)
            except BlobNotFound:
                target.unlink(missing_ok=True)
                not_found.append(blob_id)
                continue
            if target.stat().st_size != expected:
                problems.append(f"blob {blob_id}: the store holds {target.stat().st_size} bytes, "
                                f"the database recorded {expected}")
        # A blob gone because its room was swept since the snapshot is fine (the
        # restore sweeps that room too); one the database still lists is lost.
        lost = await _still_referenced(config, not_found)
        problems += [f"blob {blob_id}: missing from the store ({blob_sizes[blob_id]} bytes recorded)"
                     for blob_id in not_found if blob_id in lost]
        if problems:
            raise BackupError("The backup was not written: the blob store does not match the database.\n  "
                              + "\n  ".join(problems) + "\nRestore these blobs into the store, or delete "
                              "their rooms with 'sealroom-admin rooms purge', then back up again.")
        missing = [blob_id for blob_id in not_found if blob_id not in lost]
        manifest = {"format": FORMAT, "created_at": now.isoformat(), "database": {"kind": kind, "file": database_file},
                    "room_retention_seconds": config.room_retention_seconds, "missing_blobs": missing,
                    "blobs": {blob_id: size for blob_id, size in blob_sizes.items() if blob_id not in not_found},
                    **_expiry_fields(contents, exclude=set(not_found))}
        await asyncio.to_thread(_seal, work, manifest)
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return final


def _expiry_fields(contents: expiry.LiveContents, exclude: set[str] = frozenset()) -> dict:
    """When the backup's rooms and blobs expire (epoch seconds), so that they
    are deleted from the backup too, without opening its database each time."""
    return {"next_expiry": contents.next_expiry.timestamp() if contents.next_expiry else None,
            "blob_expiry": {blob_id: moment.timestamp() for blob_id, moment in contents.blob_expiry.items()
                            if blob_id not in exclude}}


# ---- expiry inside backups -----------------------------------------------

REWRITE_SUFFIX = ".new"
PARTIAL_SUFFIX = ".new.partial"


def _finish_rewrite(root: Path) -> None:
    """Roll an interrupted ``expire_rooms_in_backup`` forward (or back, if
    its new manifest was never written)."""
    manifest_new = root / (MANIFEST + REWRITE_SUFFIX)
    (root / (MANIFEST + PARTIAL_SUFFIX)).unlink(missing_ok=True)  # cut short before it was complete
    staged = [path for path in root.glob(f"database.*{REWRITE_SUFFIX}")]
    if not manifest_new.exists():
        for path in staged:
            path.unlink()
        return
    for path in staged:
        os.replace(path, path.with_name(path.name[:-len(REWRITE_SUFFIX)]))
    os.replace(manifest_new, root / MANIFEST)
    listed = read_manifest(root)["files"]
    for path in sorted((root / "blobs").rglob("*")) if (root / "blobs").is_dir() else ():
        if path.is_file() and path.relative_to(root).as_posix() not in listed:
            path.unlink()


async def expire_rooms_in_backup(root: Path, *, now: datetime) -> float | None:
    """Delete from a backup what has expired since it was taken; returns when
    the next room in it expires (epoch seconds), or None.

    SQLite: the rooms go from its database copy (rewritten with VACUUM, so no
    free page keeps them) and their blobs from the directory; the manifest is
    re-sealed for the files that changed. PostgreSQL: the blobs go; the rows
    stay in database.sql (a dump cannot be edited safely) until the backup is
    pruned, and a restore deletes them at once. Crash-safe: new files are
    staged, then renamed, and ``_finish_rewrite`` completes a cut-short run.
    """
    root = Path(root)
    await asyncio.to_thread(_finish_rewrite, root)
    manifest = read_manifest(root)
    next_expiry = manifest.get("next_expiry")
    if next_expiry is None or next_expiry > now.timestamp():
        return next_expiry
    files, database_file = dict(manifest["files"]), manifest["database"]["file"]
    blob_expiry = {blob_id: moment for blob_id, moment in (manifest.get("blob_expiry") or {}).items()}
    if manifest["database"].get("kind") == "sqlite":
        staged = root / (database_file + REWRITE_SUFFIX)
        await asyncio.to_thread(shutil.copyfile, root / database_file, staged)
        contents = await _prune_expired_in_copy(staged, now)
        files[database_file] = {"size": staged.stat().st_size, "sha256": await asyncio.to_thread(_sha256_file, staged)}
        fields = _expiry_fields(contents)
    else:
        live = {blob_id: moment for blob_id, moment in blob_expiry.items() if moment > now.timestamp()}
        fields = {"next_expiry": min(live.values(), default=None), "blob_expiry": live}
    keep = set(fields["blob_expiry"])
    for blob_id in manifest.get("blobs") or {}:
        if blob_id not in keep:
            files.pop(_blob_path(Path(), blob_id).as_posix(), None)
    manifest.update(files=files, blobs={i: size for i, size in (manifest.get("blobs") or {}).items() if i in keep},
                    expired_at=now.isoformat(), **fields)
    await asyncio.to_thread(_write_whole, root / (MANIFEST + PARTIAL_SUFFIX), root / (MANIFEST + REWRITE_SUFFIX),
                            json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    await asyncio.to_thread(_finish_rewrite, root)
    return manifest["next_expiry"]


def _write_whole(partial: Path, final: Path, text: str) -> None:
    """``final`` appears complete or not at all."""
    with open(partial, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, final)


def backup_dirs(root: Path) -> list[Path]:
    """The finished backups under ``root``."""
    if not root.is_dir():
        return []
    return sorted(path for path in root.iterdir() if path.is_dir() and path.name.startswith(NAME_PREFIX))


# ---- checking a backup ---------------------------------------------------

def read_manifest(root: Path) -> dict:
    path = root / MANIFEST
    if not path.is_file():
        raise BackupError(f"{root} is not a SealRoom backup: it has no {MANIFEST}.")
    try:
        manifest = json.loads(path.read_text())
    except ValueError:
        raise BackupError(f"{path} is damaged: it is not valid JSON.") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a backup this version understands (expected format {FORMAT}).")
    if not isinstance(manifest.get("files"), dict) or not isinstance(manifest.get("database"), dict):
        raise BackupError(f"{path} is damaged: the file list is missing.")
    return manifest


def verify_backup(root: Path) -> dict:
    """Check every file against the manifest; return the manifest or raise ``BackupError``."""
    root = Path(root)
    manifest = read_manifest(root)
    problems = []
    listed = manifest["files"]
    for name, expected in sorted(listed.items()):
        path = root / name
        if ".." in Path(name).parts or Path(name).is_absolute():
            problems.append(f"{name}: not a path inside the backup")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != expected.get("size"):
            problems.append(f"{name}: size {path.stat().st_size}, expected {expected.get('size')}")
        elif _sha256_file(path) != expected.get("sha256"):
            problems.append(f"{name}: SHA-256 does not match")
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        rewriting = name.endswith((REWRITE_SUFFIX, PARTIAL_SUFFIX))  # expire_rooms_in_backup at work
        if path.is_file() and name != MANIFEST and name not in listed and not rewriting:
            problems.append(f"{name}: not listed in the manifest")
    if manifest["database"].get("file") not in listed:
        problems.append("the database file is not listed in the manifest")
    problems += _check_blobs(root, manifest)
    if problems:
        raise BackupError(f"The backup at {root} failed verification:\n  " + "\n  ".join(problems))
    return manifest


def _recorded_blob_sizes(root: Path, manifest: dict) -> dict[str, int]:
    """The blobs the backed-up database lists, with their sizes: from the SQLite
    copy itself when there is one, else from the manifest."""
    recorded = dict(manifest.get("blobs") or {})
    name = str(manifest["database"].get("file"))
    database = root / name
    if manifest["database"].get("kind") == "sqlite" and ".." not in Path(name).parts and database.is_file():
        try:
            connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
            try:
                recorded.update(connection.execute("SELECT id, size FROM blobs").fetchall())
            finally:
                connection.close()
        except sqlite3.Error as error:
            raise BackupError(f"{database} cannot be read as a database ({error}).") from None
    return recorded


def _check_blobs(root: Path, manifest: dict) -> list[str]:
    """Every blob the database lists is in the backup with its recorded size,
    unless the manifest lists it as deleted while the backup ran."""
    problems = []
    swept = set(manifest.get("missing_blobs") or ())
    for blob_id, size in sorted(_recorded_blob_sizes(root, manifest).items()):
        if blob_id in swept:
            continue
        name = _blob_path(Path(), blob_id).as_posix()
        path = root / name
        if not path.is_file():
            problems.append(f"{name}: missing (the database lists this blob, {size} bytes)")
        elif path.stat().st_size != size:
            problems.append(f"{name}: {path.stat().st_size} bytes, the database recorded {size}")
    return problems


# ---- restoring -----------------------------------------------------------

async def _database_is_empty(config: Config) -> bool:
    engine = make_engine(config.effective_database_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    return "rooms" not in tables and "users" not in tables


async def _store_is_empty(store: BlobStore) -> bool:
    async for _ in store.list_ids():
        return False
    return True


async def _file_chunks(path: Path):
    with open(path, "rb") as handle:
        while chunk := await asyncio.to_thread(handle.read, READ_CHUNK):
            yield chunk


async def restore_backup(config: Config, store: BlobStore, root: Path, *, now: datetime) -> RestoreReport:
    """Restore into an empty database and blob store.

    The database goes first; rooms that expired since the backup was taken
    are deleted from it at once, and only the blobs of the rooms that remain
    are put into the store, so an expired room's ciphertext never comes back,
    not even for a moment.
    """
    root = Path(root)
    manifest = verify_backup(root)
    taken = _backup_time(manifest)
    kind = database_kind(config)
    if manifest["database"].get("kind") != kind:
        raise BackupError(f"This backup holds a {manifest['database'].get('kind')} database, "
                          f"but the server is configured for {kind}.")
    if kind == "sqlite":
        target = sqlite_path(config)
        if target.exists():
            raise BackupError(f"{target} already exists: restore only into an empty data directory.")
    elif not await _database_is_empty(config):
        raise BackupError("The configured PostgreSQL database already has SealRoom tables: "
                          "restore only into an empty database.")
    if not await _store_is_empty(store):
        raise BackupError("The blob store already holds blobs: restore only into an empty one.")

    database_file = root / manifest["database"]["file"]
    if kind == "sqlite":
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".restoring")
        await asyncio.to_thread(shutil.copyfile, database_file, partial)
        os.replace(partial, target)
    else:
        env, args = _postgres_env_args(make_url(config.effective_database_url))
        await _run(["psql", "--quiet", "--set", "ON_ERROR_STOP=1", "--file", str(database_file), *args],
                   env, "psql")

    report = RestoreReport()
    engine = make_engine(config.effective_database_url)
    try:
        await migrate(engine)  # brings a backup from an older version up to date
        async with make_sessionmaker(engine)() as db, db.begin():
            # A machine whose clock is behind must not bring back rooms that had
            # expired: the backup's own time, and the latest time the backed-up
            # server had seen, count as well (server/clock.py).
            now = await server_now(db, max(now, taken))
            report.now = now
            await expiry.delete_uploads(db)  # uploads in progress cannot go on: their parts were not saved
            while room_ids := await expiry.expired_room_ids(db, now=now, limit=PRUNE_BATCH):
                await expiry.delete_rooms(db, room_ids)
                report.rooms_expired.extend(room_ids)
            report.rooms_restored = await db.scalar(select(func.count()).select_from(Room))
            live_blobs = await expiry.live_blob_ids(db, now=now)
    finally:
        await engine.dispose()

    for blob_id in live_blobs:
        name = _blob_path(Path(), blob_id).as_posix()
        if name in manifest["files"]:  # a blob deleted while the backup ran is listed as missing
            await store.put(blob_id, _file_chunks(root / name), max_bytes=manifest["files"][name]["size"])
            report.blobs_restored += 1
    return report


# ---- scheduled backups ---------------------------------------------------

def prune_backups(root: Path, *, now: datetime, keep: timedelta) -> list[Path]:
    """Delete backups older than ``keep``, and partial ones a crash left."""
    removed = []
    if not root.is_dir():
        return removed
    for path in sorted(root.iterdir()):
        if not path.is_dir():
            continue
        if path.name.startswith(PARTIAL_PREFIX):
            created = datetime.fromtimestamp(path.stat().st_mtime, now.tzinfo)
            too_old = now - created > timedelta(days=1)
        elif path.name.startswith(NAME_PREFIX):
            try:  # the name holds the time, so pruning never reads large manifests
                created = datetime.strptime(path.name[len(NAME_PREFIX):], NAME_TIME).replace(tzinfo=timezone.utc)
            except ValueError:
                continue  # not ours to judge: leave it for a person to look at
            too_old = now - created >= keep
        else:
            continue
        if too_old:
            shutil.rmtree(path)
            removed.append(path)
    return removed
