"""``sealroom-admin``: manage a SealRoom server from its own machine.

It reads the same ``SEALROOM_*`` environment as the server, so it works on
the same database (SQLite or PostgreSQL) and blob store (local or S3). It is
safe to run while the server runs.

    sealroom-admin users list | disable NAME | enable NAME | delete NAME --yes
    sealroom-admin rooms list | purge ROOM_ID... --yes
    sealroom-admin purge-expired
    sealroom-admin backup [--output DIR]      sealroom-admin backup --verify BACKUP_DIR
    sealroom-admin restore BACKUP_DIR
    sealroom-admin reindex
    sealroom-admin stats
"""

import argparse
import asyncio
import contextlib
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError
from search_index import room_removed_event, user_event, user_removed_event
from search_index.rebuild import apply_on_disk
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from . import backup, jobs, lifecycle
from .blobs import make_blob_store
from .blobs.base import BlobNotFound
from .bus import RedisBus
from .clock import server_now
from .config import Config, ConfigError
from .db import make_engine, make_sessionmaker, migrate, truncate_wal
from .domain import admin
from .domain.errors import DomainError
from .reindex import index_dir
from .reindex import rebuild_async as rebuild_search_index


class AdminError(Exception):
    pass


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    for unit in ("KiB", "MiB", "GiB"):
        count /= 1024
        if count < 1024 or unit == "GiB":
            break
    return f"{count:.1f} {unit}"


def _table(headers: list[str], rows: list[list]) -> str:
    cells = [headers, *[[str(cell) for cell in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in cells)


class Context:
    """The configured database and blob store, opened for one command."""

    def __init__(self, config: Config):
        self.config = config
        self.engine = None
        self.sessionmaker = None
        self.store = None

    async def open(self, *, migrate_schema: bool = True) -> None:
        self.store = make_blob_store(self.config)  # first: it creates the data directory
        self.engine = make_engine(self.config.effective_database_url)
        self.sessionmaker = make_sessionmaker(self.engine)
        if migrate_schema:
            await migrate(self.engine)

    async def now(self) -> datetime:
        """The server's time: never earlier than the latest it has seen (server/clock.py)."""
        async with self.sessionmaker() as db, db.begin():
            return await server_now(db, _now())

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.dispose()
        if self.store is not None:
            await self.store.close()


# ---- commands ------------------------------------------------------------

async def users_list(ctx: Context, args) -> None:
    async with ctx.sessionmaker() as db:
        rows = await admin.list_users(db)
    print(_table(["USERNAME", "ID", "CREATED", "STATUS", "KEY", "ROOMS"], [
        [row.user.username, row.user.id, _when(row.user.created_at), "disabled" if row.user.disabled else "active",
         "yes" if row.user.public_key else "no", row.rooms] for row in rows]))
    print(f"{len(rows)} user(s)")


async def _tell_search_index(config: Config, event: dict) -> None:
    """Scaled out, through the bus to every server's index; on the embedded
    default, into the index files (the server hides such accounts at once)."""
    async with running_servers(config) as bus:
        if bus is not None:
            await bus.publish_event(event)
            return
    await asyncio.to_thread(apply_on_disk, index_dir(config), [event])


async def users_set_disabled(ctx: Context, args) -> None:
    disabled = args.action == "disable"
    async with ctx.sessionmaker() as db, db.begin():
        user = await admin.set_user_disabled(db, args.name, disabled)
    await _tell_search_index(ctx.config, user_removed_event(user.id) if disabled
                             else user_event(user.id, user.username, user.display_name))
    print(f"{user.username} is {'disabled: their sessions were ended' if disabled else 'enabled'}.")


async def users_delete(ctx: Context, args) -> None:
    _require_yes(args, f"delete the account {args.name!r}")
    async with ctx.sessionmaker() as db:
        user = await admin.find_user_by_name_or_id(db, args.name)
    now = await ctx.now()
    on_disk: list[dict] = []  # the embedded default: the search events go into the index files

    async def into_index_files(event: dict) -> None:
        on_disk.append(event)

    async with running_servers(ctx.config) as bus:  # the same path as DELETE /api/me
        gone = await lifecycle.delete_account(
            ctx.sessionmaker, ctx.store, user.id, now=now,
            hold=timedelta(seconds=ctx.config.room_retention_seconds),
            publish=bus.publish if bus else None, publish_event=bus.publish_event if bus else into_index_files)
    if on_disk:
        await asyncio.to_thread(apply_on_disk, index_dir(ctx.config), on_disk)
    print(f"{gone.username} was deleted, with their keys, key backups, sessions and memberships. Their messages "
          f"stay until their rooms expire; the name is free again after {_when(now + timedelta(seconds=ctx.config.room_retention_seconds))}.")


async def rooms_list(ctx: Context, args) -> None:
    now = await ctx.now()
    async with ctx.sessionmaker() as db:
        rows = await admin.list_rooms(db)
    print(_table(["ID", "NAME", "MEMBERS", "MESSAGES", "BLOBS", "CREATED", "EXPIRES"], [
        [row.room.id, row.room.name, row.members, row.messages, f"{row.blobs} ({_size(row.blob_bytes)})",
         _when(row.room.created_at), "EXPIRED" if row.room.expires_at <= now else _when(row.room.expires_at)]
        for row in rows]))
    print(f"{len(rows)} room(s)")


@contextlib.asynccontextmanager
async def running_servers(config: Config):
    """Scaled out, the CLI tells the running servers through Redis which rooms
    it deleted: their members' pages drop them and every search index forgets
    them. (On the embedded default, run ``reindex`` with the server stopped.)"""
    if not config.redis_url:
        yield None
        return
    bus = RedisBus(config.redis_url)
    try:
        yield bus
    finally:
        await bus.close()


async def _purge(ctx: Context, purge) -> jobs.PurgeReport:
    async with running_servers(ctx.config) as bus:
        report = await purge(bus.publish if bus else None)
        for room_id in report.rooms if bus else ():
            await bus.publish_event(room_removed_event(room_id))
    await truncate_wal(ctx.engine)
    return report


async def rooms_purge(ctx: Context, args) -> None:
    _require_yes(args, f"delete {len(args.room_ids)} room(s) and everything in them")
    async with ctx.sessionmaker() as db:
        room_ids = await admin.existing_room_ids(db, args.room_ids)
    report = await _purge(ctx, lambda notify: jobs.purge_rooms(ctx.sessionmaker, ctx.store, room_ids, notify=notify))
    print(f"Deleted {len(report.rooms)} room(s) and {report.blobs_deleted} blob(s).")


async def purge_expired(ctx: Context, args) -> None:
    now = await ctx.now()
    report = await _purge(ctx, lambda notify: jobs.sweep_expired(ctx.sessionmaker, ctx.store, now=now,
                                                                 notify=notify))
    orphans = await jobs.sweep_orphans(ctx.sessionmaker, ctx.store, now=now,
                                       grace=timedelta(seconds=ctx.config.orphan_grace_seconds))
    backups = await jobs.expire_in_backups(ctx.config.effective_backup_dir, now=now, next_expiry={})
    print(f"Deleted {len(report.rooms)} expired room(s), {report.blobs_deleted} of their blob(s), "
          f"and {orphans} orphan blob(s); rewrote {backups} backup(s) in {ctx.config.effective_backup_dir}.")


async def backup_command(ctx: Context, args) -> None:
    if args.verify:
        manifest = backup.verify_backup(args.verify)
        blobs = sum(1 for name in manifest["files"] if name.startswith("blobs/"))
        print(f"The backup at {args.verify} is intact: {len(manifest['files'])} file(s) match their "
              f"SHA-256 checksums, and all {blobs} blob(s) the database lists are there with their recorded "
              f"sizes; taken {manifest['created_at']}.")
        return
    destination = Path(args.output).resolve() if args.output else ctx.config.effective_backup_dir
    path = await backup.create_backup(ctx.config, ctx.store, destination, now=await ctx.now())
    manifest = backup.read_manifest(path)
    total = sum(entry["size"] for entry in manifest["files"].values())
    print(f"Backup written to {path} ({len(manifest['files'])} file(s), {_size(total)}).")


async def restore_command(ctx: Context, args) -> None:
    report = await backup.restore_backup(ctx.config, ctx.store, Path(args.backup_dir), now=_now())
    print(f"Restored {report.rooms_restored} room(s) and {report.blobs_restored} blob(s) into "
          f"{ctx.config.data_dir}. {len(report.rooms_expired)} room(s) had expired and were deleted.")


async def reindex(ctx: Context, args) -> None:
    documents = await rebuild_search_index(ctx.config)
    print(f"The search index was rebuilt ({documents} documents).")


async def stats(ctx: Context, args) -> None:
    async with ctx.sessionmaker() as db:
        counts = await admin.counts(db, now=_now())
        processes, connections = await admin.live_connections(db, now=_now())
    stored_blobs = stored_bytes = 0
    async for info in ctx.store.list_blobs():
        stored_blobs += 1
        stored_bytes += info.size
    database_bytes = await _database_size(ctx)
    rows = [[name.replace("_", " "), value] for name, value in counts.items() if name != "blob_bytes"]
    rows += [["blob bytes (database)", _size(counts["blob_bytes"])],
             ["blobs in store", stored_blobs], ["blob store size", _size(stored_bytes)],
             ["database size", _size(database_bytes)],
             ["server processes running", processes], ["open connections", connections]]
    print(_table(["WHAT", "COUNT"], rows))


async def _database_size(ctx: Context) -> int:
    url = make_url(ctx.config.effective_database_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    async with ctx.engine.connect() as connection:
        return await connection.scalar(text("SELECT pg_database_size(current_database())"))


def _require_yes(args, what: str) -> None:
    if not args.yes:
        raise AdminError(f"This would {what}. It cannot be undone: run it again with --yes.")


# ---- command line --------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sealroom-admin", description="Manage a SealRoom server.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    users = commands.add_parser("users", help="list, disable, enable or delete accounts")
    user_actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    user_actions.add_parser("list", help="every account").set_defaults(run=users_list)
    for action, text_ in (("disable", "stop an account signing in and end its sessions"),
                          ("enable", "let a disabled account sign in again")):
        sub = user_actions.add_parser(action, help=text_)
        sub.add_argument("name", help="username or user id")
        sub.set_defaults(run=users_set_disabled)
    sub = user_actions.add_parser("delete", help="delete an account")
    sub.add_argument("name", help="username or user id")
    sub.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    sub.set_defaults(run=users_delete)

    rooms = commands.add_parser("rooms", help="list or purge rooms")
    room_actions = rooms.add_subparsers(dest="action", required=True, metavar="ACTION")
    room_actions.add_parser("list", help="every room with its counts and expiry").set_defaults(run=rooms_list)
    sub = room_actions.add_parser("purge", help="delete rooms now, with their messages and blobs")
    sub.add_argument("room_ids", nargs="+", metavar="ROOM_ID")
    sub.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")
    sub.set_defaults(run=rooms_purge)

    commands.add_parser("purge-expired", help="delete expired rooms and orphan blobs now").set_defaults(
        run=purge_expired)

    sub = commands.add_parser("backup", help="back up the database and blobs, or --verify a backup")
    sub.add_argument("--output", metavar="DIR", help="where to write it (default: SEALROOM_BACKUP_DIR)")
    sub.add_argument("--verify", metavar="BACKUP_DIR", type=Path, help="check a backup's checksums instead")
    sub.set_defaults(run=backup_command)

    sub = commands.add_parser("restore", help="restore a backup into an empty data directory")
    sub.add_argument("backup_dir", metavar="BACKUP_DIR")
    sub.set_defaults(run=restore_command)

    commands.add_parser("reindex", help="rebuild the search index (with the server stopped)").set_defaults(run=reindex)
    commands.add_parser("stats", help="counts and storage used").set_defaults(run=stats)
    return parser


async def _run(config: Config, args) -> None:
    ctx = Context(config)
    try:
        # A restore must find the database untouched; verifying needs no database at all.
        if args.run is backup_command and args.verify:
            await args.run(ctx, args)
            return
        await ctx.open(migrate_schema=args.run is not restore_command)
        await args.run(ctx, args)
    finally:
        await ctx.close()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = Config.from_env()
        asyncio.run(_run(config, args))
    except ConfigError as error:
        print(f"sealroom-admin: configuration error: {error}", file=sys.stderr)
        return 2
    except (AdminError, backup.BackupError, DomainError, BlobNotFound) as error:
        print(f"sealroom-admin: {getattr(error, 'message', error)}", file=sys.stderr)
        return 1
    except (OSError, SQLAlchemyError, BotoCoreError, ClientError) as error:
        print(f"sealroom-admin: the database or blob store could not be used: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    with contextlib.suppress(BrokenPipeError):
        sys.exit(main())
