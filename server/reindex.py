"""The search index's documents from the database: at start-up if the index
is missing or damaged, and for ``sealroom-admin reindex``.

It lives in ``server``, not in ``search_index``: the index package knows
documents and events, never the server's models or configuration (an import
contract, tests/test_layers.py).
"""

import asyncio
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from search_index.events import room_event, user_event
from search_index.index import room_document, user_document
from search_index.rebuild import replace_index

from .config import Config
from .db import make_engine, make_sessionmaker
from .models import Member, Room, User


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


def documents_loader(sessionmaker, *, now: datetime):
    """For ``search_index.open_or_rebuild``: the documents, read when a rebuild needs them."""
    async def load() -> list[dict]:
        async with sessionmaker() as db:
            return await load_documents(db, now=now)
    return load


async def rebuild_async(config: Config, *, now: datetime | None = None) -> int:
    """Rebuild ``DATA_DIR/search`` from the database; the number of documents.

    For ``sealroom-admin reindex``. Run it while the server is stopped: a
    running server keeps writing to the index it opened.
    """
    engine = make_engine(config.effective_database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            documents = await load_documents(db, now=now or datetime.now(timezone.utc))
    finally:
        await engine.dispose()
    index = await asyncio.to_thread(replace_index, index_dir(config), documents)
    index.close()
    return len(documents)


def rebuild(config: Config) -> int:
    """Blocking ``rebuild_async``, for a command-line entry point."""
    return asyncio.run(rebuild_async(config))
