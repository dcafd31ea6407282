"""The single writer per process: events in a queue, applied by one task."""

import asyncio
import gc
import logging

from .events import ROOM_REMOVED, EventError, parse_event, room_removed_event, user_removed_event
from .index import SearchIndex

log = logging.getLogger("sealroom.search")
MAX_BATCH = 500
# A removed room is unsearchable at once, but Whoosh keeps its bytes in the
# segment files until they are rewritten (``SearchIndex.forget_deleted``).
# Removals in this many seconds share one rewrite, which on a large index
# costs seconds of CPU; sweep interval + this + the rewrite stay inside the
# 60 s in which an expired room must leave every file.
FORGET_DELAY = 10.0
_FORGET = {"type": "forget"}  # internal queue marker, never from outside



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
        self._forget_timer: asyncio.TimerHandle | None = None
        self.forget_delay = FORGET_DELAY
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

    def remove_expired(self, now) -> int:
        """Drop every room whose expiry has passed; returns how many."""
        if not self.ready.is_set():
            return 0
        expired = self.index.expired_room_ids(now)
        for room_id in expired:
            self.remove_room(room_id)
        return len(expired)

    async def flush(self) -> None:
        """Wait until every event submitted so far is searchable."""
        await self._queue.join()

    def _schedule_forget(self) -> None:
        if self._forget_timer is None:
            self._forget_timer = asyncio.get_running_loop().call_later(
                self.forget_delay, self._queue.put_nowait, _FORGET)

    async def _forget(self) -> None:
        self._forget_timer = None
        try:
            await asyncio.to_thread(self.index.forget_deleted)
        except Exception:
            log.exception("The search index could not rewrite its segments; removed rooms may stay in its "
                          "files until 'sealroom-admin reindex'.")

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
        if self.index.has_deleted_documents():  # removals a crash left unrewritten
            self._queue.put_nowait(_FORGET)
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            events = [event for event in batch if event is not _FORGET]
            try:
                if events:
                    await asyncio.to_thread(self.index.apply, events)
                    self.index.refresh(events)
                    if any(event["type"] == ROOM_REMOVED for event in events):
                        self._schedule_forget()
            except Exception:
                log.exception("The search index could not apply %d updates; 'sealroom-admin reindex' repairs it.",
                              len(events))
            try:
                if len(events) < len(batch):
                    await self._forget()
            finally:
                for _event in batch:
                    self._queue.task_done()

    async def forget_now(self) -> None:
        """Rewrite the segments holding removed rooms now, not after the delay."""
        if self._forget_timer is not None:
            self._forget_timer.cancel()
            self._forget_timer = None
        self._queue.put_nowait(_FORGET)
        await self._queue.join()

    async def close(self) -> None:
        """Apply what is queued (and a pending rewrite), stop the task, close the index."""
        if self._task is not None:
            if self.ready.is_set():
                await self._queue.join()
                if self._forget_timer is not None:
                    await self.forget_now()
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self.index is not None:
            self.index.close()
