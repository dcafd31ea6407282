"""The domain alone, as the mailbox server tests it: in-memory SQLite, no
sockets, no aiohttp, and ``now`` passed in, so time is the test's to choose."""

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from server.domain import accounts, rooms
from server.domain.errors import Conflict, Invalid, NotFound
from server.models import Base
from tests.helpers import fixed_keypair

START = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
WEEK = timedelta(days=7)


@pytest.fixture
async def db():
    engine = create_async_engine("sqlite+aiosqlite:///:memory:")
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    async with async_sessionmaker(engine, expire_on_commit=False)() as session:
        yield session
    await engine.dispose()


async def person(db, username: str, key_index: int = 0):
    user = await accounts.create_user(db, username=username, password_hash="not a real hash", now=START)
    user.public_key = fixed_keypair(key_index)[1]
    await db.flush()
    return user


async def test_a_room_is_reachable_until_the_instant_it_expires(db):
    alice, bob = await person(db, "alice"), await person(db, "bob", 1)
    room = await rooms.create_room(db, creator=alice, name="Plans", member_names=["bob"], now=START,
                                   retention=WEEK, max_members=10)
    just_before = START + WEEK - timedelta(microseconds=1)
    assert (await rooms.get_room_for_member(db, room.id, bob.id, now=just_before)).id == room.id
    with pytest.raises(NotFound):
        await rooms.get_room_for_member(db, room.id, bob.id, now=START + WEEK)
    assert await rooms.list_rooms(db, alice.id, now=START + WEEK) == []


async def test_a_non_member_cannot_tell_a_room_exists(db):
    alice, mallory = await person(db, "alice"), await person(db, "mallory", 1)
    room = await rooms.create_room(db, creator=alice, name="Plans", member_names=[], now=START, retention=WEEK,
                                   max_members=10)
    with pytest.raises(NotFound) as member_missing:
        await rooms.get_room_for_member(db, room.id, mallory.id, now=START)
    with pytest.raises(NotFound) as room_missing:
        await rooms.get_room_for_member(db, "0" * 32, mallory.id, now=START)
    assert str(member_missing.value) == str(room_missing.value)


async def test_the_member_cap_and_duplicates_are_refused_clearly(db):
    alice, bob, carol = await person(db, "alice"), await person(db, "bob", 1), await person(db, "carol", 2)
    room = await rooms.create_room(db, creator=alice, name="Pair", member_names=["bob"], now=START, retention=WEEK,
                                   max_members=2)
    with pytest.raises(Conflict, match="bob is already in this room"):
        await rooms.add_member(db, room, "bob", now=START, max_members=2)
    with pytest.raises(Invalid, match="at most 2 members"):
        await rooms.add_member(db, room, carol.username, now=START, max_members=2)


async def test_a_taken_or_look_alike_username_is_refused(db):
    await person(db, "alice")
    with pytest.raises(Conflict, match="taken"):
        await accounts.create_user(db, username="Alice", password_hash="x", now=START)
    with pytest.raises(Conflict, match="looks too much like"):
        await accounts.create_user(db, username="\u0430lice", password_hash="x", now=START)  # Cyrillic а
