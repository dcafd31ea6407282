"""Background jobs: the expiry sweeper, the orphan sweep and scheduled backups.

The functions at the top take their dependencies as arguments, so the admin
CLI runs the very same code; the ``*_ctx`` functions at the bottom run them
inside the server as ``cleanup_ctx`` tasks.
"""

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import async_sessionmaker

from search_index import room_removed_event

from . import app_keys, backup
from .blobs import BlobStore
from .clock import HighWater, app_now, load_high_water, save_high_water
from .db import truncate_wal
from .domain import admin, blobs, expiry

log = logging.getLogger("sealroom.jobs")

SWEEP_BATCH = 100  # rooms per transaction, so one sweep never holds the database for long
ORPHAN_BATCH = 500
ORPHAN_SWEEP_EVERY = 3600.0  # seconds between orphan sweeps inside the server
BACKUP_PRUNE_EVERY = 3600.0
CLOCK_SAVE_EVERY = 15.0  # seconds between saves of the clock's high-water mark

Notify = Callable[[list[str], dict], Awaitable[None]]


@dataclass
class PurgeReport:
    rooms: list[str] = field(default_factory=list)
    blobs_deleted: int = 0


def expired_frame(room_id: str) -> dict:
    return {"type": "room_expired", "room": room_id}


async def purge_rooms(sessionmaker: async_sessionmaker, store: BlobStore, room_ids: list[str], *,
                      notify: Notify | None = None, frame: Callable[[str], dict] = expired_frame) -> PurgeReport:
    """Delete rooms with their envelopes, members and blobs.

    Blobs go first, rows last: if the process dies half-way, the rows are
    still there to say which blobs the next sweep must delete.
    """
    report = PurgeReport()
    if not room_ids:
        return report
    async with sessionmaker() as db, db.begin():
        contents = await expiry.room_contents(db, room_ids)
    for room in contents:
        for blob_id in room.blob_ids:
            await store.delete(blob_id)
            report.blobs_deleted += 1
        for blob_id in room.leftover_ids:
            await store.delete(blob_id)
    async with sessionmaker() as db, db.begin():
        await expiry.delete_rooms(db, room_ids)
    report.rooms.extend(room_ids)
    if notify is not None:
        for room in contents:
            await notify(room.member_ids, frame(room.room_id))
    return report


async def sweep_expired(sessionmaker: async_sessionmaker, store: BlobStore, *, now: datetime,
                        notify: Notify | None = None, batch_size: int = SWEEP_BATCH) -> PurgeReport:
    """Delete every room whose ``expires_at`` has passed, one batch at a time."""
    total = PurgeReport()
    while True:
        async with sessionmaker() as db, db.begin():
            room_ids = await expiry.expired_room_ids(db, now=now, limit=batch_size)
        if not room_ids:
            return total
        report = await purge_rooms(sessionmaker, store, room_ids, notify=notify)
        total.rooms.extend(report.rooms)
        total.blobs_deleted += report.blobs_deleted
        await asyncio.sleep(0)  # let requests in between batches


async def drop_abandoned_uploads(sessionmaker: async_sessionmaker, store: BlobStore, *, now: datetime) -> int:
    """Forget uploads with no part for ``blobs.UPLOAD_IDLE``, and delete every
    part they stored and whatever a crash left of them. Returns how many store
    ids were deleted (possible parts that never existed included). Cheap (one
    indexed query), so every sweep runs it."""
    async with sessionmaker() as db, db.begin():
        blob_ids = await blobs.drop_abandoned_uploads(db, now=now)
    for blob_id in blob_ids:  # if this is cut short, the orphan sweep finds the rest
        await store.delete(blob_id)
    return len(blob_ids)


async def sweep_orphans(sessionmaker: async_sessionmaker, store: BlobStore, *, now: datetime,
                        grace: timedelta) -> int:
    """Drop abandoned uploads, then delete blobs that nothing references and
    that are older than ``grace``, and temporary files as old.

    The grace period covers a write in flight: a blob is stored before the
    row that references it. Returns how many blobs were deleted.
    """
    await drop_abandoned_uploads(sessionmaker, store, now=now)
    deleted = 0

    cutoff = now - grace
    candidates: list[str] = []

    async def flush() -> int:
        async with sessionmaker() as db, db.begin():
            referenced = await blobs.referenced_blob_ids(db, candidates)
        orphans = [blob_id for blob_id in candidates if blob_id not in referenced]
        for blob_id in orphans:
            await store.delete(blob_id)
        candidates.clear()
        return len(orphans)

    async for info in store.list_blobs():
        if info.modified < cutoff:
            candidates.append(info.id)
        if len(candidates) >= ORPHAN_BATCH:
            deleted += await flush()
    if candidates:
        deleted += await flush()
    await store.clean_partials(older_than=grace.total_seconds())
    return deleted


# ---- inside the server ---------------------------------------------------

async def delete_rooms_now(app: web.Application, room_ids: list[str], *, reason: str) -> PurgeReport:
    """A room deleted before its expiry (by its creator, or once its last member
    left) goes the way of an expired one: blobs, rows, search entries, WAL."""
    report = await purge_rooms(app[app_keys.sessionmaker], app[app_keys.blob_store], room_ids,
                               notify=app[app_keys.bus].publish,
                               frame=lambda room_id: {"type": "room_removed", "room": room_id, "reason": reason})
    for room_id in report.rooms:
        await app[app_keys.bus].publish_event(room_removed_event(room_id))
    if report.rooms:
        await truncate_wal(app[app_keys.engine])
    return report


async def sweep_now(app: web.Application) -> PurgeReport:
    """One expiry sweep, telling connected members and the search index which rooms are gone;
    then the uploads abandoned since the last one."""
    report = await sweep_expired(app[app_keys.sessionmaker], app[app_keys.blob_store], now=app_now(app),
                                 notify=app[app_keys.bus].publish)
    await drop_abandoned_uploads(app[app_keys.sessionmaker], app[app_keys.blob_store], now=app_now(app))
    # Rooms whose rows someone else deleted (another process's sweep, purge-expired) leave this index too.
    app[app_keys.search].remove_expired(app_now(app))
    if report.rooms:
        for room_id in report.rooms:  # every process drops it from its own search index
            await app[app_keys.bus].publish_event(room_removed_event(room_id))
        await truncate_wal(app[app_keys.engine])
        app[app_keys.metrics].rooms_expired.inc(len(report.rooms))
        log.info("deleted %d expired room(s) and %d blob(s)", len(report.rooms), report.blobs_deleted)
    return report


async def orphan_sweep_now(app: web.Application) -> int:
    config = app[app_keys.config]
    deleted = await sweep_orphans(app[app_keys.sessionmaker], app[app_keys.blob_store], now=app_now(app),
                                  grace=timedelta(seconds=config.orphan_grace_seconds))
    if deleted:
        log.info("deleted %d orphan blob(s)", deleted)
    return deleted


async def _every(seconds: float, job: Callable[[], Awaitable], name: str, *, first_at_once: bool = False) -> None:
    while True:
        if not first_at_once:
            await asyncio.sleep(seconds)
        first_at_once = False
        try:
            await job()
        except Exception:  # a failed run must not stop the schedule; the next one retries
            log.exception("%s failed; it will run again in %s s", name, seconds)


def _counted(app: web.Application, metric: str, job: Callable[[], Awaitable]) -> Callable[[], Awaitable]:
    """The job, with each run counted in /metrics by result (ok or failed)."""
    async def run():
        counter = getattr(app[app_keys.metrics], metric)
        try:
            result = await job()
        except Exception:
            counter.labels("failed").inc()
            raise
        counter.labels("ok").inc()
        return result
    return run


@contextlib.asynccontextmanager
async def _background(*tasks: asyncio.Task):
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def sweeper_ctx(app: web.Application):
    """Expiry sweeper. Its first sweep runs before the server takes requests,
    so rooms that expired while it was down (or in a restored backup), and
    abandoned uploads, are deleted at once; the first orphan sweep (what a
    crash left behind) starts at the same time."""
    try:
        await sweep_now(app)
    except Exception:  # expiry is still enforced on every read; the next sweep retries
        log.exception("the start-up expiry sweep failed")
    interval = app[app_keys.config].sweep_interval_seconds
    sweeper = asyncio.create_task(_every(interval, _counted(app, "sweeps", lambda: sweep_now(app)), "expiry sweep"))
    # The orphan sweep lists the whole store (long on a big S3 bucket): at once,
    # but in the background, then every hour.
    orphans = asyncio.create_task(_every(ORPHAN_SWEEP_EVERY, lambda: orphan_sweep_now(app), "orphan sweep",
                                         first_at_once=True))
    async with _background(sweeper, orphans):
        yield


async def save_clock(app: web.Application) -> None:
    """Persist this process's high-water mark and adopt a later one another process saved."""
    async with app[app_keys.sessionmaker]() as db, db.begin():
        stored = await save_high_water(db, app_now(app))
    if stored > app_now(app):  # another process has seen a later time
        app[app_keys.high_water].now(stored, time.monotonic())


async def clock_ctx(app: web.Application):
    """Time that never goes back (server/clock.py): the mark is loaded before
    anything reads the time, and saved every few seconds and at shutdown."""
    async with app[app_keys.sessionmaker]() as db:
        app[app_keys.high_water] = HighWater(await load_high_water(db))
    await save_clock(app)
    saver = asyncio.create_task(_every(CLOCK_SAVE_EVERY, lambda: save_clock(app), "clock save"))
    async with _background(saver):
        yield
    try:
        await save_clock(app)
    except SQLAlchemyError:  # saved a few seconds ago anyway
        log.warning("could not save the clock's high-water mark at shutdown")


PRESENCE_EVERY = 15  # seconds


async def report_presence(app: web.Application, process_id: str) -> None:
    async with app[app_keys.sessionmaker]() as db, db.begin():
        await admin.report_process(db, process_id, len(app[app_keys.websockets]), now=app_now(app))


async def presence_ctx(app: web.Application):
    """Each process reports its open connections, for ``sealroom-admin stats``."""
    process_id = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"
    await report_presence(app, process_id)
    reporter = asyncio.create_task(_every(PRESENCE_EVERY, lambda: report_presence(app, process_id), "presence"))
    async with _background(reporter):
        yield
    try:
        async with app[app_keys.sessionmaker]() as db, db.begin():
            await admin.forget_process(db, process_id)
    except SQLAlchemyError:  # the row goes stale within a minute anyway
        log.warning("could not remove this process from server_processes at shutdown")


async def expire_in_backups(root, *, now: datetime, next_expiry: dict) -> int:
    """Delete expired rooms from every backup under ``root`` (see
    ``backup.expire_rooms_in_backup``). ``next_expiry`` caches each backup's
    next expiry between calls, so a sweep with nothing due opens no manifest.
    Returns how many backups were rewritten."""
    rewritten = 0
    present = set()
    for path in await asyncio.to_thread(backup.backup_dirs, root):
        present.add(path)
        due = next_expiry.get(path, 0.0)
        if due is None or due > now.timestamp():
            continue
        try:
            before = path / backup.MANIFEST
            stamp = before.stat().st_mtime_ns
            next_expiry[path] = await backup.expire_rooms_in_backup(path, now=now)
            rewritten += before.stat().st_mtime_ns != stamp
        except (backup.BackupError, OSError) as error:  # a damaged backup must not stop the others
            log.error("could not delete expired rooms from the backup %s: %s", path, error)
            next_expiry[path] = now.timestamp() + ORPHAN_SWEEP_EVERY  # try again later, not every sweep
    for gone in set(next_expiry) - present:
        del next_expiry[gone]
    return rewritten


async def backup_ctx(app: web.Application):
    """Scheduled backups into the backup directory. Rooms that expire are
    deleted from the backups there at every sweep, like everywhere else;
    backups older than the keep time are deleted every hour (or every
    interval, if shorter)."""
    config = app[app_keys.config]
    root, keep = config.effective_backup_dir, timedelta(seconds=config.effective_backup_keep_seconds)
    next_expiry: dict = {}

    async def expire() -> None:
        if await expire_in_backups(root, now=app_now(app), next_expiry=next_expiry):
            log.info("deleted expired rooms from backups in %s", root)

    await expire()
    expiring = asyncio.create_task(_every(config.sweep_interval_seconds, expire, "expiry in backups"))
    if not config.backup_interval_seconds:
        async with _background(expiring):
            yield
        return

    async def make_backup() -> None:
        path = await backup.create_backup(config, app[app_keys.blob_store], root, now=app_now(app))
        app[app_keys.metrics].last_backup.set_to_current_time()
        log.info("backup written to %s", path)

    async def prune() -> None:
        for old in await asyncio.to_thread(backup.prune_backups, root, now=app_now(app), keep=keep):
            log.info("backup %s was older than %s and was deleted", old, keep)

    await prune()
    async with _background(
            expiring,
            asyncio.create_task(_every(config.backup_interval_seconds, _counted(app, "backups", make_backup),
                                       "scheduled backup")),
            asyncio.create_task(_every(min(config.backup_interval_seconds, BACKUP_PRUNE_EVERY), prune, "backup pruning"))):
        yield
