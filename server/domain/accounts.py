"""Accounts, public keys and login sessions."""

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pyclient.crypto.pure import PureBackend
from pyclient.errors import ParseError
from pyclient.protocol import key_proof
from pyclient.protocol.keys import fingerprint, parse_public_key

from ..models import (Blob, Envelope, HeldUsername, Identity, Invite, Member, Room, Upload, UploadPart, User,
                      UserKey, UserSession)
from ..i18n import _, ngettext
from . import identity
from .errors import AuthFailed, Conflict, Forbidden, Invalid, NotFound

USERNAME_RE = re.compile(r"[\w.\-]{3,32}")
MAX_KEY_BACKUP_BYTES = 16 * 1024
MAX_EARLIER_KEYS = 31  # a key file holds at most 32 key pairs (protocol 4.2)
_verifier = PureBackend()
_password_hasher = PasswordHasher()  # argon2id with the library's RFC 9106 low-memory profile
# Checked when the username is unknown, so a failed login takes the same time either way.
DUMMY_HASH = _password_hasher.hash("sealroom-no-such-user")


def new_id() -> str:
    return secrets.token_hex(16)


def username_key(username: str) -> str:
    return unicodedata.normalize("NFC", username).strip().lower()


def validate_username(username) -> str:
    if not isinstance(username, str):
        raise Invalid(_("Username must be text."))
    username = unicodedata.normalize("NFC", username).strip()
    if not USERNAME_RE.fullmatch(username):
        raise Invalid(_("Username must be 3 to 32 letters, digits, dots, dashes or underscores."))
    problem = identity.look_alike_problem(username)
    if problem:
        raise Invalid(problem)
    return username


MAX_DISPLAY_NAME = 64
# Invisible although not format (Cf) characters: fillers and blanks that render as nothing.
_INVISIBLE = {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u034f", "\u17b4", "\u17b5",
              *map(chr, range(0x180b, 0x1810)), *map(chr, range(0xfe00, 0xfe10))}
_REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}  # control, format (bidi, zero-width), unassigned


def validate_display_name(display_name) -> str | None:
    """The display name as stored (NFC, single spaces), ``None`` for none.

    Refused: bidi controls and zero-width characters (Unicode format, Cf),
    control characters, invisible fillers, spaces other than U+0020, and
    stacks of combining marks, so a name cannot pretend to be someone else's
    or render as nothing.
    """
    if display_name is None:
        return None
    if not isinstance(display_name, str):
        raise Invalid(_("Display name must be text."))
    display_name = " ".join(unicodedata.normalize("NFC", display_name).split(" ")).strip(" ")
    display_name = " ".join(part for part in display_name.split(" ") if part)
    if not display_name:
        return None
    if len(display_name) > MAX_DISPLAY_NAME:
        raise Invalid(_("Display name must be at most {limit} characters.", limit=MAX_DISPLAY_NAME))
    marks = 0
    for char in display_name:
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES or char in _INVISIBLE or (category == "Zs" and char != " "):
            raise Invalid(_("Display name cannot contain invisible, control or text-direction characters "
                            "({character}).", character=f"U+{ord(char):04X} {unicodedata.name(char, 'unnamed')}"))
        marks = marks + 1 if category.startswith("M") else 0
        if marks > 2:
            raise Invalid(_("Display name has too many accents stacked on one letter."))
    if unicodedata.category(display_name[0]).startswith("M"):
        raise Invalid(_("Display name cannot start with an accent."))
    return display_name


def validate_auth_key(auth_key) -> str:
    if not isinstance(auth_key, str) or not 16 <= len(auth_key) <= 256:
        raise Invalid(_("The login credential is missing or malformed."))
    return auth_key


def hash_auth_key(auth_key: str) -> str:
    """CPU-heavy (argon2id): callers run it in an executor."""
    return _password_hasher.hash(auth_key)


def check_auth_key(password_hash: str, auth_key: str) -> bool:
    try:
        return _password_hasher.verify(password_hash, auth_key)
    except (VerificationError, InvalidHashError):
        return False


async def create_user(db: AsyncSession, *, username: str, password_hash: str, now: datetime,
                      display_name: str | None = None) -> User:
    key, look = username_key(username), identity.skeleton(username)
    if await db.scalar(select(User.id).where(User.username_key == key)) or await _held(db, key, now):
        raise Conflict(_("The username “{username}” is taken. Choose another.", username=username))
    similar = await db.scalar(select(User.username).where(User.username_skeleton == look).limit(1))
    if similar is not None:
        raise Conflict(_("The username “{username}” looks too much like “{similar}”, which is taken. Choose another.",
                          username=username, similar=similar))
    user = User(id=new_id(), username=username, username_key=key, username_skeleton=look,
                password_hash=password_hash, created_at=now, display_name=display_name)
    db.add(user)
    try:
        await db.flush()
    except IntegrityError:  # the same name registered at the same moment: the unique key decides
        raise Conflict(_("The username “{username}” is taken. Choose another.", username=username)) from None
    return user


async def find_user(db: AsyncSession, username: str) -> User | None:
    return await db.scalar(select(User).where(User.username_key == username_key(username)))


async def get_user(db: AsyncSession, user_id: str) -> User:
    user = await db.get(User, user_id)
    if user is None:
        raise NotFound(_("No such user."))
    return user


async def check_key_proof(user_id: str, public_key: bytes, *, challenge: bytes | None, proof: bytes | None) -> None:
    """The page holds the private key: it signed this account's fresh challenge
    with it (protocol 4.4). Without this, anyone could register another
    person's public key as their own."""
    if challenge is None:
        raise Invalid(_("Ask for a key challenge first: it is missing or has expired."))
    if proof is None:
        raise Invalid(_("A new key needs its proof of possession: a signature over the key challenge."))
    try:
        ok = await key_proof.verify_key_proof(_verifier, public_key, user_id=user_id, challenge=challenge, proof=proof)
    except ParseError:
        ok = False
    if not ok:
        raise Forbidden(_("The key proof does not verify: this is not the private key of this public key."))


async def set_public_key(db: AsyncSession, user: User, *, public_key: bytes, key_backup: bytes | None,
                         challenge: bytes | None, proof: bytes | None) -> bytes:
    try:
        parse_public_key(public_key)
    except ParseError as error:
        raise Invalid(_("The public key was refused: {reason}.", reason=error.message)) from None
    if user.public_key != public_key:  # sending the registered key again changes nothing
        await check_key_proof(user.id, public_key, challenge=challenge, proof=proof)
    if key_backup is not None and len(key_backup) > MAX_KEY_BACKUP_BYTES:
        raise Invalid(_("The key backup is too large."))
    if user.public_key is not None and user.public_key != public_key:
        raise Conflict(_("This account already has a key. Rotate it instead of replacing it."))
    user.public_key = public_key
    if key_backup is not None:
        user.key_backup = key_backup
    return fingerprint(public_key)


def _check_backup(key_backup: bytes | None) -> None:
    if key_backup is not None and len(key_backup) > MAX_KEY_BACKUP_BYTES:
        raise Invalid(_("The key backup is too large."))


async def earlier_keys(db: AsyncSession, user_id: str) -> list[UserKey]:
    result = await db.execute(select(UserKey).where(UserKey.user_id == user_id).order_by(UserKey.id.desc()))
    return list(result.scalars())


async def earlier_public_keys(db: AsyncSession, user_ids: list[str]) -> dict[str, list[bytes]]:
    """Each user's earlier public keys, newest first (to verify old messages)."""
    result = await db.execute(select(UserKey.user_id, UserKey.public_key)
                              .where(UserKey.user_id.in_(user_ids)).order_by(UserKey.id.desc()))
    found: dict[str, list[bytes]] = {user_id: [] for user_id in user_ids}
    for user_id, public_key in result:
        found[user_id].append(public_key)
    return found


async def set_key_backup(db: AsyncSession, user: User, key_backup: bytes | None) -> None:
    """Turn the server-side backup on (a sealed blob) or off (``None``: every
    sealed key of this user is deleted from the server, earlier ones too)."""
    if user.public_key is None:
        raise Conflict(_("This account has no key yet."))
    _check_backup(key_backup)
    user.key_backup = key_backup
    if key_backup is None:
        await db.execute(update(UserKey).where(UserKey.user_id == user.id).values(key_backup=None))


async def rotate_key(db: AsyncSession, user: User, *, public_key: bytes, key_backup: bytes | None,
                     now: datetime, challenge: bytes | None, proof: bytes | None) -> None:
    """Replace the key; the old public key (and its sealed backup) is kept so
    that old messages still verify and stay readable on a new device."""
    try:
        parse_public_key(public_key)
    except ParseError as error:
        raise Invalid(_("The new public key was refused: {reason}.", reason=error.message)) from None
    _check_backup(key_backup)
    if user.public_key is None:
        raise Conflict(_("This account has no key to rotate yet."))
    if public_key == user.public_key:
        raise Invalid(_("The new key is the current key."))
    await check_key_proof(user.id, public_key, challenge=challenge, proof=proof)
    if len(await earlier_keys(db, user.id)) >= MAX_EARLIER_KEYS:
        raise Conflict(ngettext("This account has rotated its key {count} time, the most SealRoom keeps.",
                                "This account has rotated its key {count} times, the most SealRoom keeps.",
                                MAX_EARLIER_KEYS))
    # The old sealed key moves along with its public key; it stays opaque.
    db.add(UserKey(user_id=user.id, public_key=user.public_key,
                   key_backup=user.key_backup if key_backup is not None else None, retired_at=now))
    user.public_key = public_key
    user.key_backup = key_backup


async def start_session(db: AsyncSession, user: User, *, now: datetime, user_agent: str) -> UserSession:
    session = UserSession(id=secrets.token_urlsafe(32), user_id=user.id, created_at=now,
                          last_seen_at=now, user_agent=user_agent[:255])
    db.add(session)
    await db.flush()
    return session


async def resolve_session(db: AsyncSession, session_id: str, *, now: datetime, idle: timedelta,
                          absolute: timedelta) -> tuple[UserSession, User] | None:
    """The live session and its user, or None if revoked, idle or too old."""
    row = await db.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id).where(UserSession.id == session_id))
    found = row.first()
    if found is None:
        return None
    session, user = found
    if session.revoked or user.disabled or now - session.last_seen_at > idle or now - session.created_at > absolute:
        return None
    if now - session.last_seen_at > timedelta(minutes=1):
        session.last_seen_at = now
    return session, user


async def revoke_session(db: AsyncSession, user_id: str, session_id: str) -> None:
    result = await db.execute(update(UserSession).where(
        UserSession.id == session_id, UserSession.user_id == user_id).values(revoked=True))
    if result.rowcount == 0:
        raise NotFound(_("No such session."))


async def list_sessions(db: AsyncSession, user_id: str) -> list[UserSession]:
    result = await db.scalars(select(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked.is_(False)).order_by(UserSession.created_at))
    return list(result)


def login_failed() -> AuthFailed:
    return AuthFailed(_("Wrong username or password."))


# ---- account life: change password, delete account -------------------------------

PASSWORD_CHANGED, ACCOUNT_DELETED, SIGNED_OUT = "password_changed", "account_deleted", "signed_out"
END_REASONS = {
    PASSWORD_CHANGED: _("You were signed out because the account's password was changed. Sign in with the new one."),
    ACCOUNT_DELETED: _("This account was deleted."),
}


async def _held(db: AsyncSession, key: str, now: datetime) -> bool:
    """A deleted account's name stays taken for the room lifetime, so that
    nobody can pose under it in rooms that still hold its messages."""
    held = await db.get(HeldUsername, key)
    return held is not None and held.free_at > now


async def end_sessions(db: AsyncSession, user_id: str, *, keep: str | None, reason: str) -> list[str]:
    """End every live session of the user but ``keep``; returns their ids."""
    ids = list(await db.scalars(select(UserSession.id).where(
        UserSession.user_id == user_id, UserSession.revoked.is_(False), UserSession.id != (keep or ""))))
    if ids:
        await db.execute(update(UserSession).where(UserSession.id.in_(ids)).values(revoked=True, ended_reason=reason))
    return ids


async def get_session_row(db: AsyncSession, session_id: str) -> UserSession:
    session = await db.get(UserSession, session_id)
    if session is None:
        raise NotFound(_("No such session."))
    return session


async def session_end_reason(db: AsyncSession, session_id: str) -> str | None:
    return await db.scalar(select(UserSession.ended_reason).where(UserSession.id == session_id))


async def change_password(db: AsyncSession, user: User, *, password_hash: str, key_backup: bytes | None,
                          earlier_backups: dict[bytes, bytes], keep_session: str) -> list[str]:
    """Replace the auth key's hash and every sealed key the server holds, all
    at once; returns the other sessions, now ended.

    Each sealed key must come re-sealed under the new password: one left under
    the old password would still open with it.
    """
    if (user.key_backup is None) != (key_backup is None):
        raise Invalid(_("Send the key backup re-sealed under the new password (or null if the backup is off)."))
    _check_backup(key_backup)
    sealed = {row.public_key: row for row in await earlier_keys(db, user.id) if row.key_backup is not None}
    if set(earlier_backups) != set(sealed):
        raise Invalid(_("Re-seal every earlier key the server backs up, and only those, under the new password."))
    for public_key, row in sealed.items():
        _check_backup(earlier_backups[public_key])
        row.key_backup = earlier_backups[public_key]
    user.password_hash = password_hash
    user.key_backup = key_backup
    return await end_sessions(db, user.id, keep=keep_session, reason=PASSWORD_CHANGED)


@dataclass
class DeletedAccount:
    user_id: str
    username: str
    session_ids: list[str]
    room_ids: list[str]         # rooms the user was a member of
    part_blob_ids: list[str]    # every store id of uploads in progress (blobs.upload_blob_ids): the caller deletes them


async def delete_account(db: AsyncSession, user: User, *, now: datetime, hold: timedelta) -> DeletedAccount:
    """Delete the user, their keys, key backups, sessions, memberships and
    uploads in progress. Messages and files they sent stay in their rooms
    until the rooms expire; the name stays held for ``hold`` (the room lifetime).

    Explicit statements rather than ``ON DELETE`` alone, so the result does
    not depend on SQLite's ``foreign_keys`` pragma.
    """
    from .blobs import upload_blob_ids  # blobs imports this module

    gone = DeletedAccount(
        user.id, user.username,
        list(await db.scalars(select(UserSession.id).where(UserSession.user_id == user.id,
                                                           UserSession.revoked.is_(False)))),
        list(await db.scalars(select(Member.room_id).where(Member.user_id == user.id))),
        [blob_id for upload in await db.scalars(select(Upload).where(Upload.user_id == user.id))
         for blob_id in upload_blob_ids(upload)])
    uploads = select(Upload.id).where(Upload.user_id == user.id)
    await db.execute(delete(UploadPart).where(UploadPart.upload_id.in_(uploads)))
    for model in (Upload, UserSession, UserKey, Member, Identity):
        await db.execute(delete(model).where(model.user_id == user.id))
    await db.execute(update(Envelope).where(Envelope.sender_id == user.id).values(sender_id=None))
    await db.execute(update(Blob).where(Blob.uploader_id == user.id).values(uploader_id=None))
    await db.execute(update(Room).where(Room.created_by == user.id).values(created_by=None))
    await db.execute(update(Invite).where(Invite.created_by == user.id).values(created_by=None))
    await db.execute(delete(HeldUsername).where(HeldUsername.free_at <= now))
    await db.merge(HeldUsername(username_key=user.username_key, free_at=now + hold))
    await db.execute(delete(User).where(User.id == user.id))
    return gone
