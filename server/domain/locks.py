"""Serialising a check and the write it guards, on every engine.

A check such as "is there room in the quota?" followed by an insert is a
race: two requests both pass the check, then both write. Writing first to
the row that owns the limit (the user for a quota, the room for its member
cap) takes that row's write lock for the rest of the transaction:
PostgreSQL makes the second request wait on the row, SQLite on its single
writer lock, and the second one's check then sees the first one's write.
"""

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_row(db: AsyncSession, model, row_id: str) -> None:
    """Hold ``model``'s row ``row_id`` until the transaction ends (a no-op UPDATE)."""
    await db.execute(update(model).where(model.id == row_id).values(id=model.id)
                     .execution_options(synchronize_session=False))
