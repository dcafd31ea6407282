"""Expiry and purging: the rows of rooms that are gone.

A room is unreachable from ``expires_at`` on (every read checks it); these
functions then delete what is left. They only touch the database: the caller
deletes the blobs from the store (``server.jobs``), because the store is I/O
the database transaction must not wait on.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Blob, Envelope, Invite, Member, Room, Upload, UploadPart
from .blobs import upload_blob_ids


@dataclass
class RoomContents:
    """What deleting a room removes: who to tell, and which blobs to delete."""

    room_id: str
    member_ids: list[str] = field(default_factory=list)
    blob_ids: list[str] = field(default_factory=list)
    # Ids an upload in progress may have written with no row to say so (a
    # part or an assembly cut short by a crash): deleted too, not counted.
    leftover_ids: list[str] = field(default_factory=list)


async def expired_room_ids(db: AsyncSession, *, now: datetime, limit: int) -> list[str]:
    result = await db.scalars(
        select(Room.id).where(Room.expires_at <= now).order_by(Room.expires_at).limit(limit))
    return list(result)


async def room_contents(db: AsyncSession, room_ids: list[str]) -> list[RoomContents]:
    contents = {room_id: RoomContents(room_id) for room_id in room_ids}
    for room_id, user_id in await db.execute(
            select(Member.room_id, Member.user_id).where(Member.room_id.in_(room_ids))):
        contents[room_id].member_ids.append(user_id)
    for room_id, blob_id in await db.execute(select(Blob.room_id, Blob.id).where(Blob.room_id.in_(room_ids))):
        contents[room_id].blob_ids.append(blob_id)
    for room_id, blob_id in await db.execute(  # parts of uploads still in progress
            select(Upload.room_id, UploadPart.blob_id).join(UploadPart, UploadPart.upload_id == Upload.id)
            .where(Upload.room_id.in_(room_ids))):
        contents[room_id].blob_ids.append(blob_id)
    for upload in await db.scalars(select(Upload).where(Upload.room_id.in_(room_ids))):
        known = set(contents[upload.room_id].blob_ids)
        contents[upload.room_id].leftover_ids.extend(i for i in upload_blob_ids(upload) if i not in known)
    return list(contents.values())


async def delete_rooms(db: AsyncSession, room_ids: list[str]) -> None:
    """Delete the rooms and every row in them.

    Explicit deletes rather than ``ON DELETE CASCADE`` alone, so that the
    result does not depend on SQLite's ``foreign_keys`` pragma being on.
    """
    uploads = select(Upload.id).where(Upload.room_id.in_(room_ids))
    await db.execute(delete(UploadPart).where(UploadPart.upload_id.in_(uploads)))
    for model in (Upload, Envelope, Blob, Invite, Member):
        await db.execute(delete(model).where(model.room_id.in_(room_ids)))
    await db.execute(delete(Room).where(Room.id.in_(room_ids)))


async def delete_uploads(db: AsyncSession) -> None:
    """Delete every upload in progress (a restored backup holds none of their parts)."""
    await db.execute(delete(UploadPart))
    await db.execute(delete(Upload))



async def live_blob_ids(db: AsyncSession, *, now: datetime) -> list[str]:
    """Every blob of a room that has not expired."""
    result = await db.scalars(
        select(Blob.id).join(Room, Room.id == Blob.room_id).where(Room.expires_at > now).order_by(Blob.id))
    return list(result)


@dataclass
class LiveContents:
    """What a backup holds of the rooms still alive: each blob's recorded size
    and expiry, and when the next room expires (``None``: no room left)."""

    blob_sizes: dict[str, int] = field(default_factory=dict)
    blob_expiry: dict[str, datetime] = field(default_factory=dict)
    next_expiry: datetime | None = None


async def live_contents(db: AsyncSession, *, now: datetime) -> LiveContents:
    contents = LiveContents()
    for blob_id, size, expires_at in await db.execute(
            select(Blob.id, Blob.size, Room.expires_at).join(Room, Room.id == Blob.room_id)
            .where(Room.expires_at > now).order_by(Blob.id)):
        contents.blob_sizes[blob_id] = size
        contents.blob_expiry[blob_id] = expires_at
    contents.next_expiry = await db.scalar(
        select(Room.expires_at).where(Room.expires_at > now).order_by(Room.expires_at).limit(1))
    return contents
