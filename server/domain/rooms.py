"""Rooms, members and envelopes, with expiry checked on every read and write."""

import hashlib
import json
import secrets
import unicodedata
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from pyclient.errors import ProtocolError
from pyclient.protocol.envelope import encode_envelope, parse_envelope
from pyclient.protocol.keys import fingerprint

from ..models import Envelope, Invite, Member, Room, Upload, UploadPart, User
from .accounts import find_user, new_id, username_key
from .blobs import upload_blob_ids
from .locks import lock_row
from ..i18n import Message, _
from .errors import Conflict, Forbidden, Invalid, NotFound, StaleMembers

MAX_ROOM_NAME = 100
HISTORY_PAGE = 200


# Bidirectional embeddings, overrides and isolates: U+202E makes "gpj.exe" read "exe.jpg".
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Characters that show nothing by themselves: format characters (zero-width
# space, joiners...), combining marks and whitespace.
_INVISIBLE_CATEGORIES = {"Cf", "Mn", "Me", "Zs", "Zl", "Zp"}


def validate_room_name(name) -> str:
    if not isinstance(name, str) or not name.strip():
        raise Invalid(_("Give the room a name."))
    for char in name:
        category = unicodedata.category(char)
        if category == "Cs":
            raise Invalid(_("The room name is not valid Unicode text (it holds a lone surrogate)."))
        if category == "Cc" and not char.isspace():
            raise Invalid(_("Room names cannot hold control characters."))
        if char in BIDI_CONTROLS:
            raise Invalid(_("Room names cannot hold text-direction overrides: they can disguise a name."))
    name = " ".join(name.split())
    if all(unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in name):
        raise Invalid(_("Give the room a name with at least one visible character."))
    if len(name) > MAX_ROOM_NAME:
        raise Invalid(_("Room names are at most {limit} characters.", limit=MAX_ROOM_NAME))
    return name


async def create_room(db: AsyncSession, *, creator: User, name: str, member_names: list[str],
                      now: datetime, retention: timedelta, max_members: int) -> Room:
    if creator.public_key is None:
        raise Invalid(_("Create your key before you create a room."))
    name = validate_room_name(name)
    if not isinstance(member_names, list) or not all(isinstance(n, str) for n in member_names):
        raise Invalid(_("Members must be a list of usernames."))
    # Cheap checks first: a body may name thousands of members, and only the
    # distinct names other than the creator's own cost a lookup.
    wanted: dict[str, str] = {}
    for username in member_names:
        wanted.setdefault(username_key(username), username)
    wanted.pop(creator.username_key, None)
    if len(wanted) + 1 > max_members:
        raise Invalid(_("A room holds at most {limit} members.", limit=max_members))
    found = {user.username_key: user for user in await db.scalars(
        select(User).where(User.username_key.in_(list(wanted))))} if wanted else {}
    users = {creator.id: creator}
    for key, username in wanted.items():
        user = _check_candidate(found.get(key), username)
        users[user.id] = user
    room = Room(id=new_id(), name=name, created_by=creator.id, created_at=now, expires_at=now + retention)
    db.add(room)
    for user_id in users:
        db.add(Member(room_id=room.id, user_id=user_id, joined_at=now))
    await db.flush()
    return room


async def _member_candidate(db: AsyncSession, username: str) -> User:
    return _check_candidate(await find_user(db, username) if isinstance(username, str) else None, username)


def _check_candidate(user: User | None, username) -> User:
    if user is None or user.disabled:
        if not isinstance(username, str):
            raise NotFound(_("There is no user by that name."))
        shown = repr(username[:40])[1:-1]  # control and text-direction characters escaped, not obeyed
        raise NotFound(_("There is no user called “{username}”.", username=shown))
    if user.public_key is None:
        raise Invalid(_("{username} has not created a key yet; ask them to sign in once first.", username=user.username))
    return user


# One refusal for a room that is missing, expired, or not the caller's: nobody learns which rooms exist.
NOT_A_MEMBER = _("This room does not exist, has expired, or you are not a member.")


async def get_room_for_member(db: AsyncSession, room_id: str, user_id: str, *, now: datetime) -> Room:
    """The room if it exists, has not expired, and ``user_id`` is in it.

    Every refusal looks the same, so nobody learns which rooms exist.
    """
    room = await db.scalar(
        select(Room).join(Member, Member.room_id == Room.id).where(
            Room.id == room_id, Member.user_id == user_id, Room.expires_at > now))
    if room is None:
        raise NotFound(NOT_A_MEMBER)
    return room


async def add_member(db: AsyncSession, room: Room, username: str, *, now: datetime, max_members: int) -> User:
    user = await _member_candidate(db, username)
    if await db.get(Member, (room.id, user.id)):
        raise Conflict(_("{username} is already in this room.", username=user.username))
    await _join(db, room, user, now=now, max_members=max_members)
    return user


async def _join(db: AsyncSession, room: Room, user: User, *, now: datetime, max_members: int) -> None:
    await lock_row(db, Room, room.id)  # two joins at once must not both pass the cap
    count = await db.scalar(select(func.count()).select_from(Member).where(Member.room_id == room.id))
    if count >= max_members:
        raise Invalid(_("A room holds at most {limit} members.", limit=max_members))
    username = user.username  # a failed flush expires the loaded rows
    db.add(Member(room_id=room.id, user_id=user.id, joined_at=now))
    try:
        await db.flush()
    except IntegrityError:  # the same member added twice at once: the primary key decides
        raise Conflict(_("{username} is already in this room.", username=username)) from None


async def list_rooms(db: AsyncSession, user_id: str, *, now: datetime) -> list[Room]:
    result = await db.scalars(
        select(Room).join(Member, Member.room_id == Room.id).where(
            Member.user_id == user_id, Room.expires_at > now).order_by(Room.created_at.desc()))
    return list(result)


async def last_message_times(db: AsyncSession, room_ids: list[str]) -> dict[str, datetime]:
    """When the newest message of each room was stored (rooms without messages are left out): the room list's order."""
    if not room_ids:
        return {}
    newest = select(func.max(Envelope.seq)).where(Envelope.room_id.in_(room_ids)).group_by(Envelope.room_id)
    result = await db.execute(select(Envelope.room_id, Envelope.created_at).where(Envelope.seq.in_(newest)))
    return {room_id: when for room_id, when in result}


async def room_members(db: AsyncSession, room_id: str) -> list[User]:
    result = await db.scalars(
        select(User).join(Member, Member.user_id == User.id).where(Member.room_id == room_id).order_by(User.username_key))
    return list(result)


class Recipient(NamedTuple):
    """A member as the send path needs one."""

    id: str
    public_key: bytes | None


class SendingRoom(NamedTuple):
    """A room as the send path needs it."""

    id: str
    expires_at: datetime


_sender = aliased(Member)
# Built once, with bound parameters: building and keying a statement costs more
# than running it (SQLAlchemy caches the compiled SQL by that key).
_ROOM_FOR_SENDING = (
    select(Room.id, Room.expires_at, User.id.label("member"), User.public_key)
    .join(Member, Member.room_id == Room.id).join(User, User.id == Member.user_id)
    .where(Room.id == bindparam("room"), Room.expires_at > bindparam("now"),
           select(_sender.user_id).where(_sender.room_id == bindparam("room"),
                                         _sender.user_id == bindparam("user")).exists())
    .with_for_update(of=Room))


async def room_for_sending(db: AsyncSession, room_id: str, user_id: str, *,
                           now: datetime) -> tuple[SendingRoom, list[Recipient]]:
    """``get_room_for_member`` and every member's id and public key, in one
    query: the send path's only read. The room's row is locked until the
    transaction ends (PostgreSQL; SQLite has one writer anyway), so that
    messages in one room commit in the order of their sequence numbers and a
    client that has seen one has every earlier one in history."""
    rows = (await db.execute(_ROOM_FOR_SENDING, {"room": room_id, "user": user_id, "now": now})).all()
    if not rows:
        raise NotFound(NOT_A_MEMBER)
    return SendingRoom(rows[0].id, rows[0].expires_at), [Recipient(row.member, row.public_key) for row in rows]


# A Core insert on the table, not the unit of work: the row is written and its
# sequence number read back in one statement.
_INSERT_ENVELOPE = insert(Envelope.__table__).returning(Envelope.__table__.c.seq)


async def store_envelope(db: AsyncSession, room: SendingRoom, sender: User, envelope_obj, *, now: datetime,
                         members: list[Recipient]) -> Envelope:
    """Check an envelope's structure and addressing, then store it opaque.

    The server cannot check the signature's meaning for the members (it
    could forge keys anyway); it checks what it can: shape, room, sender, and
    that every current member, with their current key, gets a wrapped key.
    """
    try:
        envelope = parse_envelope(envelope_obj)
    except ProtocolError as error:
        raise Invalid(_("The message was refused: {reason}.", reason=error.message)) from None
    if envelope.room != room.id or envelope.sender != sender.id:
        raise Invalid(_("The message names another room or sender."))
    expected = {user.id: fingerprint(user.public_key) for user in members if user.public_key}
    addressed = {key.to: key.kfp for key in envelope.keys}
    if addressed != expected:
        raise StaleMembers(_("The room's members or keys changed. Reload the room and send again."))
    row = Envelope(room_id=room.id, message_id=envelope.id, sender_id=sender.id,
                   body=json.dumps(encode_envelope(envelope), separators=(",", ":")), created_at=now)
    try:
        row.seq = (await db.execute(_INSERT_ENVELOPE, {
            "room_id": row.room_id, "message_id": row.message_id, "sender_id": row.sender_id, "body": row.body,
            "created_at": row.created_at})).scalar_one()
    except IntegrityError:
        raise Conflict(_("A message with this id was already sent.")) from None
    return row


MAX_SEQUENCE = 2**63 - 1  # a BIGINT; past it the database driver overflows


def parse_sequence(text: str | None, field: str) -> int | None:
    """A message sequence number from a query string: ASCII digits only
    (``str.isdigit`` also accepts ``²``), within a database integer."""
    if text is None or text == "":
        return None
    if not (text.isascii() and text.isdigit() and len(text) <= 19 and int(text) <= MAX_SEQUENCE):
        raise Invalid(_("{field} must be a message sequence number.", field=field))
    return int(text)


async def history(db: AsyncSession, room: Room, *, before: int | None = None,
                  after: int | None = None) -> list[Envelope]:
    """A page of messages, oldest first: the latest ones (before ``before``), or,
    with ``after``, the first ones after it: a client catching up from the last
    message it saw pages forward with ``after`` and neither loses nor repeats any."""
    query = select(Envelope).where(Envelope.room_id == room.id)
    if after is not None:
        return list(await db.scalars(query.where(Envelope.seq > after).order_by(Envelope.seq).limit(HISTORY_PAGE)))
    if before is not None:
        query = query.where(Envelope.seq < before)
    result = await db.scalars(query.order_by(Envelope.seq.desc()).limit(HISTORY_PAGE))
    return list(reversed(list(result)))


INVITE_LIFETIME = timedelta(hours=48)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_invite(db: AsyncSession, room: Room, creator: User, *, now: datetime) -> tuple[str, datetime]:
    """A fresh share-link token, valid 48 hours and never past the room's expiry."""
    token = secrets.token_urlsafe(24)
    expires_at = min(now + INVITE_LIFETIME, room.expires_at)
    db.add(Invite(token_hash=_token_hash(token), room_id=room.id, created_by=creator.id, expires_at=expires_at))
    await db.flush()
    return token, expires_at


async def accept_invite(db: AsyncSession, token, user: User, *, now: datetime, max_members: int) -> Room:
    if not isinstance(token, str) or len(token) > 64:
        raise NotFound(_("This invite link is not valid."))
    invite = await db.get(Invite, _token_hash(token))
    room = await db.get(Room, invite.room_id) if invite else None
    if invite is None or room is None or invite.expires_at <= now or room.expires_at <= now:
        raise NotFound(_("This invite link is not valid or has expired. Ask for a new one."))
    if user.public_key is None:
        raise Invalid(_("Create your key before you join a room."))
    if await db.get(Member, (room.id, user.id)) is None:
        await _join(db, room, user, now=now, max_members=max_members)
    return room


async def rename_room(db: AsyncSession, room: Room, name) -> Room:
    room.name = validate_room_name(name)
    await db.flush()
    return room


# ---- leaving, removing, deleting ---------------------------------------------------

def is_creator(room: Room, user: User) -> bool:
    return room.created_by is not None and room.created_by == user.id


def require_creator(room: Room, user: User, refusal: Message) -> None:
    if not is_creator(room, user):
        raise Forbidden(refusal)


async def _drop_member(db: AsyncSession, room: Room, user_id: str) -> list[str]:
    """Remove the membership and the member's uploads in progress in this
    room; returns every store id those uploads may have written
    (``blobs.upload_blob_ids``), for the caller to delete. From
    now on every path answers this user as it answers a non-member (404),
    and new messages are no longer wrapped to them (``store_envelope``
    accepts only the current members)."""
    uploads = select(Upload.id).where(Upload.room_id == room.id, Upload.user_id == user_id)
    part_blobs = [blob_id for upload in await db.scalars(select(Upload).where(Upload.id.in_(uploads)))
                  for blob_id in upload_blob_ids(upload)]
    await db.execute(delete(UploadPart).where(UploadPart.upload_id.in_(uploads)))
    await db.execute(delete(Upload).where(Upload.room_id == room.id, Upload.user_id == user_id))
    await db.execute(delete(Member).where(Member.room_id == room.id, Member.user_id == user_id))
    return part_blobs


async def leave_room(db: AsyncSession, room: Room, user: User) -> list[str]:
    return await _drop_member(db, room, user.id)


async def remove_member(db: AsyncSession, room: Room, actor: User, user_id) -> tuple[User, list[str]]:
    """The creator removes a member. The room's share links are revoked too:
    otherwise the removed member could come back through one they kept."""
    require_creator(room, actor, _("Only the person who created this room can remove members."))
    if user_id == actor.id:
        raise Invalid(_("To leave the room yourself, leave it; the room stays for the others."))
    member = await db.get(Member, (room.id, user_id)) if isinstance(user_id, str) else None
    if member is None:
        raise NotFound(_("That person is not a member of this room."))
    user = await db.get(User, user_id)
    part_blobs = await _drop_member(db, room, user_id)
    await db.execute(delete(Invite).where(Invite.room_id == room.id))
    return user, part_blobs
