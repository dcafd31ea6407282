"""What the admin CLI reads and changes: users, rooms and counts."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import Blob, Envelope, Member, Room, ServerProcess, User, UserSession
from .accounts import find_user
from ..i18n import _
from .errors import NotFound


@dataclass
class UserRow:
    user: User
    rooms: int


@dataclass
class RoomRow:
    room: Room
    members: int
    messages: int
    blobs: int
    blob_bytes: int


async def find_user_by_name_or_id(db: AsyncSession, name_or_id: str) -> User:
    user = await find_user(db, name_or_id) or await db.get(User, name_or_id)
    if user is None:
        raise NotFound(_("There is no user called “{username}”.", username=name_or_id))
    return user


async def list_users(db: AsyncSession) -> list[UserRow]:
    rooms = select(Member.user_id, func.count().label("rooms")).group_by(Member.user_id).subquery()
    result = await db.execute(
        select(User, func.coalesce(rooms.c.rooms, 0)).outerjoin(rooms, rooms.c.user_id == User.id)
        .order_by(User.username_key))
    return [UserRow(user, count) for user, count in result]


async def set_user_disabled(db: AsyncSession, name_or_id: str, disabled: bool) -> User:
    """Disable (or enable) an account; disabling also ends its sessions."""
    user = await find_user_by_name_or_id(db, name_or_id)
    user.disabled = disabled
    if disabled:
        await db.execute(update(UserSession).where(UserSession.user_id == user.id).values(revoked=True))
    return user


def _count_by_room(column, *, value=None):
    return (select(column.label("room_id"), (func.count() if value is None else func.sum(value)).label("n"))
            .group_by(column).subquery())


async def list_rooms(db: AsyncSession) -> list[RoomRow]:
    members = _count_by_room(Member.room_id)
    messages = _count_by_room(Envelope.room_id)
    blobs = _count_by_room(Blob.room_id)
    blob_bytes = _count_by_room(Blob.room_id, value=Blob.size)
    query = (select(Room, *(func.coalesce(sub.c.n, 0) for sub in (members, messages, blobs, blob_bytes)))
             .outerjoin(members, members.c.room_id == Room.id)
             .outerjoin(messages, messages.c.room_id == Room.id)
             .outerjoin(blobs, blobs.c.room_id == Room.id)
             .outerjoin(blob_bytes, blob_bytes.c.room_id == Room.id)
             .order_by(Room.expires_at))
    return [RoomRow(room, *counts) for room, *counts in await db.execute(query)]


async def existing_room_ids(db: AsyncSession, room_ids: list[str]) -> list[str]:
    found = set(await db.scalars(select(Room.id).where(Room.id.in_(room_ids))))
    missing = [room_id for room_id in room_ids if room_id not in found]
    if missing:
        raise NotFound(_("There is no room with id {ids}.", ids=", ".join(missing)))
    return room_ids


async def counts(db: AsyncSession, *, now: datetime) -> dict[str, int]:
    async def count(model, *where) -> int:
        return await db.scalar(select(func.count()).select_from(model).where(*where))

    return {
        "users": await count(User),
        "users_disabled": await count(User, User.disabled.is_(True)),
        "sessions_active": await count(UserSession, UserSession.revoked.is_(False)),
        "rooms": await count(Room, Room.expires_at > now),
        "rooms_expired_awaiting_sweep": await count(Room, Room.expires_at <= now),
        "messages": await count(Envelope),
        "blobs": await count(Blob),
        "blob_bytes": await db.scalar(select(func.coalesce(func.sum(Blob.size), 0))),
    }


PROCESS_STALE_AFTER = timedelta(seconds=60)


async def report_process(db: AsyncSession, process_id: str, connections: int, *, now: datetime) -> None:
    row = await db.get(ServerProcess, process_id)
    if row is None:
        db.add(ServerProcess(id=process_id, connections=connections, seen_at=now))
    else:
        row.connections, row.seen_at = connections, now
    await db.execute(delete(ServerProcess).where(ServerProcess.seen_at < now - 10 * PROCESS_STALE_AFTER))


async def forget_process(db: AsyncSession, process_id: str) -> None:
    await db.execute(delete(ServerProcess).where(ServerProcess.id == process_id))


async def live_connections(db: AsyncSession, *, now: datetime) -> tuple[int, int]:
    """``(server processes running, open WebSockets)`` as reported in the last minute."""
    processes, connections = (await db.execute(
        select(func.count(), func.coalesce(func.sum(ServerProcess.connections), 0)).where(
            ServerProcess.seen_at >= now - PROCESS_STALE_AFTER))).one()
    return int(processes), int(connections)
