"""Build the index from the database: at start-up if needed, and for ``sealroom-admin reindex``."""

import asyncio
import logging
import os
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Config
from server.models import Member, Room, User

from .errors import SearchIndexError
from .events import room_event, user_event
from .index import VERSION_FILE, SearchIndex, room_document, user_document, write_events

log = logging.getLogger("sealroom.search")


def index_dir(config: Config) -> Path:
    return config.data_dir / "search"


async def load_documents(db: AsyncSession, *, now: datetime) -> list[dict]:
    """One document per enabled user and per live room."""
    documents = []
    for user_id, username, display_name in await db.execute(
            select(User.id, User.username, User.display_name).where(User.disabled.is_(False))):
        documents.append(user_document(user_event(user_id, username, display_name)))
    members: dict[str, list[str]] = {}
    for room_id, user_id in await db.execute(
            select(Member.room_id, Member.user_id).join(Room, Room.id == Member.room_id).where(Room.expires_at > now)):
        members.setdefault(room_id, []).append(user_id)
    for room_id, name, expires_at in await db.execute(
            select(Room.id, Room.name, Room.expires_at).where(Room.expires_at > now)):
        documents.append(room_document(room_event(room_id, name, members.get(room_id, []), expires_at)))
    return documents


def replace_index(directory: Path, documents: list[dict]) -> SearchIndex:
    """Build a new index beside ``directory``, then swap it in.

    The old index stays whole until the new one is complete, so a crash
    mid-build leaves a usable (if stale) index or none, never a half one.
    """
    directory = Path(directory)
    staging = directory.with_name(f"{directory.name}.new-{uuid.uuid4().hex[:8]}")
    built = SearchIndex.create(staging, documents)
    built.close()
    retired = directory.with_name(f"{directory.name}.old-{uuid.uuid4().hex[:8]}")
    if directory.exists():
        os.replace(directory, retired)
    os.replace(staging, directory)
    shutil.rmtree(retired, ignore_errors=True)
    return SearchIndex.open(directory)


async def open_or_rebuild(directory: Path, sessionmaker, *, now: datetime) -> SearchIndex:
    """Open the index, or rebuild it from the database if it is missing or damaged."""
    try:
        return await asyncio.to_thread(SearchIndex.open, directory)
    except SearchIndexError as problem:
        log.warning("%s Rebuilding it from the database.", problem)
    async with sessionmaker() as db:
        documents = await load_documents(db, now=now)
    index = await asyncio.to_thread(replace_index, directory, documents)
    log.info("Search index rebuilt: %d documents.", len(documents))
    return index


async def rebuild_async(config: Config, *, now: datetime | None = None) -> int:
    """Rebuild ``DATA_DIR/search`` from the database; the number of documents.

    For ``sealroom-admin reindex``. Run it while the server is stopped: a
    running server keeps writing to the index it opened.
    """
    from server.db import make_engine, make_sessionmaker

    engine = make_engine(config.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            documents = await load_documents(db, now=now or datetime.now(timezone.utc))
    finally:
        await engine.dispose()
    index = await asyncio.to_thread(replace_index, index_dir(config), documents)
    index.close()
    return len(documents)


def apply_on_disk(directory: Path, batch: list[dict]) -> bool:
    """Write events straight into the index files, for a command-line tool on
    the embedded default (no bus). Whoosh's lock keeps it from clashing with a
    running server's writer; that server's memory copy learns of it at its next
    start, and its search handler already hides disabled and deleted accounts.
    ``False`` if there is no index there yet."""
    from whoosh import index as whoosh_index

    from .events import parse_event

    if not (Path(directory) / VERSION_FILE).exists():
        return False
    ix = whoosh_index.open_dir(str(directory))
    try:
        write_events(ix, [parse_event(event) for event in batch])
    finally:
        ix.close()
    return True


def rebuild(config: Config) -> int:
    """Blocking ``rebuild_async``, for a command-line entry point."""
    return asyncio.run(rebuild_async(config))
