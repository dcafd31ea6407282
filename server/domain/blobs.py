"""Attachments: uploads in parts, blobs, quotas and request signatures.

A blob is ciphertext the server cannot read. Its id is random, so it names
neither room nor sender. A Blob row exists only once the store holds the
whole blob: an interrupted upload leaves parts (temporary blobs) that the
orphan sweep removes, never a half blob anyone can fetch.
"""

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pyclient.crypto.pure import PureBackend
from pyclient.errors import ParseError
from pyclient.protocol import request_sig

from ..models import Blob, Member, RequestNonce, Room, Upload, UploadPart, User
from .accounts import new_id
from .errors import AuthFailed, Invalid, NotFound, TooLarge, TooMany

PART_SIZE = 8 * 1024 * 1024 + 8 * 32  # eight encrypted 1 MiB chunks with their MACs
SIGNATURE_PAST_SECONDS = 60
SIGNATURE_FUTURE_SECONDS = 30
_verifier = PureBackend()


async def check_request_signature(db: AsyncSession, user: User, headers, *, method: str, path: str,
                                  body: bytes, now: datetime) -> None:
    """Proof of the private key: a fresh, single-use signature over this request."""
    try:
        params, digest, signature = request_sig.parse_headers(headers)
    except ParseError as error:
        raise AuthFailed(f"This request needs a signature by your private key: {error.message}.") from None
    if params.keyid != user.id or user.public_key is None:
        raise AuthFailed("The request was signed for another account.")
    age = now.timestamp() - params.created
    if not -SIGNATURE_FUTURE_SECONDS <= age <= SIGNATURE_PAST_SECONDS:
        raise AuthFailed("The request signature is outside its time window. Check your device's clock.")
    if digest != request_sig.content_digest(body):
        raise AuthFailed("The request body does not match its signed digest.")
    base = request_sig.signature_base(method, path, digest, params)
    if not await _verifier.verify(user.public_key, base, signature):
        raise AuthFailed("The request signature does not verify with your public key.")
    await db.execute(delete(RequestNonce).where(RequestNonce.expires_at < now))
    db.add(RequestNonce(nonce=params.nonce, expires_at=now + timedelta(seconds=2 * SIGNATURE_PAST_SECONDS)))
    try:
        await db.flush()
    except IntegrityError:
        raise AuthFailed("This request signature was already used: replays are refused.") from None


async def storage_used(db: AsyncSession, user_id: str) -> int:
    blobs = await db.scalar(select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.uploader_id == user_id))
    pending = await db.scalar(select(func.coalesce(func.sum(Upload.size), 0)).where(Upload.user_id == user_id))
    return int(blobs) + int(pending)


async def start_upload(db: AsyncSession, room: Room, user: User, size, *, now: datetime, max_bytes: int,
                       quota_bytes: int) -> Upload:
    if type(size) is not int or size < 1:
        raise Invalid("Say how many bytes the upload holds.")
    if size > max_bytes:
        raise TooLarge(f"This file is too large: the limit is {max_bytes // (1024 * 1024)} MiB.")
    if await storage_used(db, user.id) + size > quota_bytes:
        raise TooLarge("This upload would exceed your storage quota. Files disappear with their rooms "
                       "after 7 days, which frees space.")
    upload = Upload(id=new_id(), room_id=room.id, user_id=user.id, size=size, created_at=now)
    db.add(upload)
    await db.flush()
    return upload


OPEN_UPLOAD_AGE = timedelta(hours=1)  # an upload untouched for longer no longer counts as in progress


async def check_open_uploads(db: AsyncSession, user: User, *, now: datetime, max_open: int) -> None:
    """A cap on uploads in progress at once, so one user cannot hold the store's parts busy."""
    count = await db.scalar(select(func.count()).select_from(Upload).where(
        Upload.user_id == user.id, Upload.created_at > now - OPEN_UPLOAD_AGE))
    if count >= max_open:
        raise TooMany(f"You have {max_open} uploads in progress, the most allowed at once. "
                      "Wait for one to finish, or cancel one, and try again.")


async def get_upload(db: AsyncSession, upload_id: str, user: User, *, now: datetime) -> Upload:
    upload = await db.scalar(
        select(Upload).join(Room, Room.id == Upload.room_id).where(
            Upload.id == upload_id, Upload.user_id == user.id, Room.expires_at > now))
    if upload is None:
        raise NotFound("This upload does not exist, has ended, or its room has expired.")
    return upload


async def parts(db: AsyncSession, upload: Upload) -> list[UploadPart]:
    return list(await db.scalars(
        select(UploadPart).where(UploadPart.upload_id == upload.id).order_by(UploadPart.number)))


async def check_next_part(db: AsyncSession, upload: Upload, number: int, size: int) -> None:
    existing = await parts(db, upload)
    if number != len(existing):
        raise Invalid(f"Expected part {len(existing)}, got part {number}.")
    if sum(part.size for part in existing) + size > upload.size:
        raise TooLarge("The parts are larger than the size announced for this upload.")


def add_part(db: AsyncSession, upload: Upload, number: int, blob_id: str, size: int) -> None:
    db.add(UploadPart(upload_id=upload.id, number=number, blob_id=blob_id, size=size))


async def finish_upload(db: AsyncSession, upload: Upload, blob_id: str, size: int, *, now: datetime) -> Blob:
    blob = Blob(id=blob_id, room_id=upload.room_id, uploader_id=upload.user_id, size=size, created_at=now)
    db.add(blob)
    await db.delete(upload)
    await db.flush()
    return blob


async def get_blob_for_member(db: AsyncSession, blob_id: str, user_id: str, *, now: datetime) -> Blob:
    """The blob if the user is a member of its unexpired room; one answer for every refusal."""
    blob = await db.scalar(
        select(Blob).join(Room, Room.id == Blob.room_id).join(Member, Member.room_id == Room.id).where(
            Blob.id == blob_id, Member.user_id == user_id, Room.expires_at > now))
    if blob is None:
        raise NotFound("This file does not exist, has expired, or is not in one of your rooms.")
    return blob


def new_blob_id() -> str:
    return secrets.token_hex(16)


async def drop_stale_uploads(db: AsyncSession, *, now: datetime, older_than: timedelta) -> list[str]:
    """Forget uploads abandoned for ``older_than`` (a crash, a closed tab);
    returns their part blob ids for the caller to delete from the store."""
    stale = list(await db.scalars(select(Upload.id).where(Upload.created_at < now - older_than)))
    if not stale:
        return []
    part_ids = list(await db.scalars(select(UploadPart.blob_id).where(UploadPart.upload_id.in_(stale))))
    await db.execute(delete(UploadPart).where(UploadPart.upload_id.in_(stale)))
    await db.execute(delete(Upload).where(Upload.id.in_(stale)))
    return part_ids


async def referenced_blob_ids(db: AsyncSession, blob_ids: list[str]) -> set[str]:
    """Which of these store ids a Blob row or a live upload part still needs."""
    blobs = await db.scalars(select(Blob.id).where(Blob.id.in_(blob_ids)))
    parts = await db.scalars(select(UploadPart.blob_id).where(UploadPart.blob_id.in_(blob_ids)))
    return set(blobs) | set(parts)
