"""Build the index from documents, beside the old one, and swap it in.

The documents come from the server (``server/reindex.py`` reads them from
the database): this package never imports ``server``."""

import asyncio
import logging
import os
import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from .errors import SearchIndexError
from .index import VERSION_FILE, SearchIndex, write_events

log = logging.getLogger("sealroom.search")


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


async def open_or_rebuild(directory: Path, load_documents: Callable[[], Awaitable[list[dict]]]) -> SearchIndex:
    """Open the index, or rebuild it from ``load_documents()`` (the server
    reads them from its database) if it is missing or damaged."""
    try:
        return await asyncio.to_thread(SearchIndex.open, directory)
    except SearchIndexError as problem:
        log.warning("%s Rebuilding it from the database.", problem)
    documents = await load_documents()
    index = await asyncio.to_thread(replace_index, directory, documents)
    log.info("Search index rebuilt: %d documents.", len(documents))
    return index


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
