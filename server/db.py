"""Database engine lifecycle and Alembic migrations."""

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def make_engine(url: str) -> AsyncEngine:
    engine = create_async_engine(url)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL syncs the log at checkpoints, not at every commit: a commit
            # is in the WAL file before it returns, so a crash of the process loses nothing,
            # and only a power cut or an OS crash can roll back the last few (SQLite's advice
            # for WAL). FULL cost a 16 ms fsync a message on the test machine, held under the
            # single writer lock: about 60 messages a second for the whole server.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA secure_delete=ON")  # deleted rooms leave no ciphertext behind
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()
    return engine


def _upgrade(connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


MIGRATION_LOCK = 0x5EA1_500D  # PostgreSQL advisory lock: processes starting together migrate one at a time


async def migrate(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        await connection.run_sync(_upgrade)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


async def truncate_wal(engine: AsyncEngine) -> None:
    """SQLite: copy the write-ahead log into the database and empty it.

    Until then the WAL file can still hold pages of rows that were just
    deleted; secure_delete zeroes them in the database file only.
    Best effort: a reader holding an old snapshot makes it a partial
    checkpoint, and the next sweep tries again.
    """
    if engine.dialect.name == "sqlite":
        async with engine.connect() as connection:
            await connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
