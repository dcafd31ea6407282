"""Deleting an account, and who must hear of it: shared by ``DELETE /api/me``
and ``sealroom-admin users delete``, so both do exactly the same.

``publish`` and ``publish_event`` are the bus's (frames to users' sockets,
events to every process's search index); the admin CLI passes the Redis bus
when the servers are scaled out, or nothing on the embedded default.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from search_index import room_event, room_removed_event
from search_index.events import user_removed_event

from .blobs import BlobStore
from .domain import accounts, rooms
from .jobs import purge_rooms
from .models import Room

Publish = Callable[[list[str], dict], Awaitable[None]]


def room_summary(room: Room) -> dict:
    return {"id": room.id, "name": room.name, "created_at": room.created_at.isoformat(),
            "expires_at": room.expires_at.isoformat()}


async def delete_account(sessionmaker: async_sessionmaker, store: BlobStore, user_id: str, *, now: datetime,
                         hold: timedelta, publish: Publish | None = None,
                         publish_event: Callable[[dict], Awaitable[None]] | None = None) -> accounts.DeletedAccount:
    async with sessionmaker() as db, db.begin():
        user = await accounts.get_user(db, user_id)
        gone = await accounts.delete_account(db, user, now=now, hold=hold)
        left = []  # (room, the members who stay)
        for room_id in gone.room_ids:
            room = await db.get(Room, room_id)
            if room is not None:
                left.append((room, await rooms.room_members(db, room_id)))
    for blob_id in gone.part_blob_ids:
        await store.delete(blob_id)
    # A room nobody is left in can never be read again: it goes the way of an expired one.
    empty = [room.id for room, members in left if not members]
    await purge_rooms(sessionmaker, store, empty, notify=publish,
                      frame=lambda room_id: {"type": "room_removed", "room": room_id, "reason": "deleted"})
    if publish is not None:
        for session_id in gone.session_ids:
            await publish([gone.user_id], {"type": "session_ended", "session": session_id,
                                           "reason": accounts.ACCOUNT_DELETED})
        for room, members in left:
            if members:
                await publish([m.id for m in members], {
                    "type": "room", "room": room_summary(room),
                    "change": {"kind": "account_deleted", "user": gone.user_id, "username": gone.username}})
    if publish_event is not None:
        await publish_event(user_removed_event(gone.user_id))
        for room, members in left:
            await publish_event(room_event(room.id, room.name, [m.id for m in members], room.expires_at)
                                if members else room_removed_event(room.id))
    return gone
