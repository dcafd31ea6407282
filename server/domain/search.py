"""Who a user may find by prefix or typo: the people they share a live room with."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from ..models import Member, Room, User


async def co_member_ids(db: AsyncSession, user_id: str, *, now: datetime) -> set[str]:
    mine, theirs = aliased(Member), aliased(Member)
    result = await db.scalars(
        select(theirs.user_id).distinct()
        .join(mine, mine.room_id == theirs.room_id)
        .join(Room, Room.id == mine.room_id)
        .where(mine.user_id == user_id, Room.expires_at > now))
    return set(result)


async def active_user_ids(db: AsyncSession, user_ids: list[str]) -> set[str]:
    """Those of ``user_ids`` whose accounts exist and are enabled."""
    return set(await db.scalars(select(User.id).where(User.id.in_(user_ids), User.disabled.is_(False))))
