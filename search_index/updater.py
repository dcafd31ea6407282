"""The single writer per process: events in a queue, applied by one task."""

import asyncio
import gc
import logging

from .events import EventError, parse_event, room_removed_event, user_removed_event
from .index import SearchIndex

log = logging.getLogger("sealroom.search")
MAX_BATCH = 500


class IndexUpdater:
    """Owns the only writer of one process's index.

    ``submit`` never blocks and never fails the caller (a request handler or
    a bus listener): the database is the truth, and a lost update is fixed by
    the next event for the same document or by a rebuild.
    """

    def __init__(self, index: SearchIndex | None = None) -> None:
        self.index = index
        self._queue: asyncio.Queue = asyncio.Queue()
        self._task: asyncio.Task | None = None
        self.ready = asyncio.Event()
        if index is not None:
            self.ready.set()

    def start(self, opening=None) -> None:
        """Start the writer. ``opening`` (an awaitable giving the index) runs
        first, in the background: a large rebuild never holds up serving;
        events submitted meanwhile wait in the queue."""
        self._task = asyncio.create_task(self._run(opening), name="search-index-writer")

    def submit(self, event: dict) -> None:
        try:
            self._queue.put_nowait(parse_event(event))
        except EventError as error:
            log.error("Search index event refused: %s", error)

    def remove_room(self, room_id: str) -> None:
        """Drop a room (expired or purged) from the index."""
        self.submit(room_removed_event(room_id))

    def remove_user(self, user_id: str) -> None:
        """Drop a user (disabled or deleted) from the index."""
        self.submit(user_removed_event(user_id))

    async def flush(self) -> None:
        """Wait until every event submitted so far is searchable."""
        await self._queue.join()

    async def _run(self, opening) -> None:
        if opening is not None:
            try:
                self.index = await opening
                # The index's memory copy is a million long-lived objects:
                # keep them out of the cyclic collector's full scans, which
                # would otherwise stall searches for tens of milliseconds.
                gc.freeze()
            except Exception:
                log.exception("The search index could not be opened or rebuilt; search stays off until a restart.")
                return
            self.ready.set()
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await asyncio.to_thread(self.index.apply, batch)
                self.index.refresh(batch)
            except Exception:
                log.exception("The search index could not apply %d updates; 'sealroom-admin reindex' repairs it.",
                              len(batch))
            finally:
                for _event in batch:
                    self._queue.task_done()

    async def close(self) -> None:
        """Apply what is queued, stop the task, close the index."""
        if self._task is not None:
            if self.ready.is_set():
                await self._queue.join()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.index is not None:
            self.index.close()
