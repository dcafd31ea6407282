"""Attachments: uploads in parts, blobs, quotas and request signatures.

A blob is ciphertext the server cannot read. Its id is random, so it names
neither room nor sender. A Blob row exists only once the store holds the
whole blob: an interrupted upload leaves parts (temporary blobs) that the
orphan sweep removes, never a half blob anyone can fetch.
"""

import hashlib
import math
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from pyclient.crypto.pure import PureBackend
from pyclient.errors import ParseError
from pyclient.protocol import request_sig

from ..models import Blob, Member, RequestNonce, Room, Upload, UploadPart, User
from .accounts import new_id
from ..i18n import _, ngettext
from .errors import AuthFailed, Conflict, Invalid, NotFound, TooLarge, TooMany
from .locks import lock_row

PART_SIZE = 8 * 1024 * 1024 + 8 * 32  # eight encrypted 1 MiB chunks with their MACs
UPLOAD_IDLE = timedelta(hours=1)  # an upload with no part for this long is abandoned
PART_ID_LABEL = b"sealroom/v1/upload-part-id"
SIGNATURE_PAST_SECONDS = 60
SIGNATURE_FUTURE_SECONDS = 30
_verifier = PureBackend()


async def check_request_signature(db: AsyncSession, user: User, headers, *, method: str, path: str,
                                  body: bytes, now: datetime) -> None:
    """Proof of the private key: a fresh, single-use signature over this request."""
    if not path.isascii():  # SealRoom's paths are ASCII; the signature base is too
        raise AuthFailed(_("This request's path cannot be signed: it is not ASCII."))
    try:
        params, digest, signature = request_sig.parse_headers(headers)
    except ParseError as error:
        raise AuthFailed(_("This request needs a signature by your private key: {reason}.", reason=error.message)) from None
    if params.keyid != user.id or user.public_key is None:
        raise AuthFailed(_("The request was signed for another account."))
    age = now.timestamp() - params.created
    if not -SIGNATURE_FUTURE_SECONDS <= age <= SIGNATURE_PAST_SECONDS:
        raise AuthFailed(_("The request signature is outside its time window. Check your device's clock."))
    if digest != request_sig.content_digest(body):
        raise AuthFailed(_("The request body does not match its signed digest."))
    base = request_sig.signature_base(method, path, digest, params)
    if not await _verifier.verify(user.public_key, base, signature):
        raise AuthFailed(_("The request signature does not verify with your public key."))
    await db.execute(delete(RequestNonce).where(RequestNonce.expires_at < now))
    db.add(RequestNonce(nonce=params.nonce, expires_at=now + timedelta(seconds=2 * SIGNATURE_PAST_SECONDS)))
    try:
        await db.flush()
    except IntegrityError:
        raise AuthFailed(_("This request signature was already used: replays are refused.")) from None


async def storage_used(db: AsyncSession, user_id: str, *, now: datetime) -> int:
    """Stored blobs plus uploads in progress; an abandoned upload no longer counts."""
    blobs = await db.scalar(select(func.coalesce(func.sum(Blob.size), 0)).where(Blob.uploader_id == user_id))
    pending = await db.scalar(select(func.coalesce(func.sum(Upload.size), 0)).where(
        Upload.user_id == user_id, Upload.touched_at > now - UPLOAD_IDLE))
    return int(blobs) + int(pending)


def part_blob_id(upload: Upload, number: int) -> str:
    """Where part ``number`` is stored. Derived from the upload, so that a part
    cut short by a crash (no row yet) is still found and deleted with its upload."""
    return hashlib.sha256(PART_ID_LABEL + f"|{upload.id}|{number}".encode()).hexdigest()[:32]


def upload_blob_ids(upload: Upload) -> list[str]:
    """Every store id an upload may have written: each possible part, and the blob being assembled."""
    return [part_blob_id(upload, number) for number in range(part_count(upload))] + [upload.blob_id]


async def start_upload(db: AsyncSession, room: Room, user: User, size, *, now: datetime, max_bytes: int,
                       quota_bytes: int) -> Upload:
    if type(size) is not int or size < 1:
        raise Invalid(_("Say how many bytes the upload holds."))
    if size > max_bytes:
        raise TooLarge(_("This file is too large: the limit is {limit} MiB.", limit=max_bytes // (1024 * 1024)))
    await lock_row(db, User, user.id)  # concurrent reservations are counted one after another
    if await storage_used(db, user.id, now=now) + size > quota_bytes:
        raise TooLarge(_("This upload would exceed your storage quota. Files disappear with their rooms "
                       "after 7 days, which frees space."))
    upload = Upload(id=new_id(), room_id=room.id, user_id=user.id, size=size, created_at=now,
                    blob_id=new_blob_id(), touched_at=now)
    db.add(upload)
    await db.flush()
    return upload


async def check_open_uploads(db: AsyncSession, user: User, *, now: datetime, max_open: int) -> None:
    """A cap on uploads in progress at once, so one user cannot hold the store's parts busy."""
    count = await db.scalar(select(func.count()).select_from(Upload).where(
        Upload.user_id == user.id, Upload.touched_at > now - UPLOAD_IDLE))  # an abandoned one no longer counts
    if count >= max_open:
        raise TooMany(ngettext("You have {count} upload in progress, the most allowed at once. "
                               "Wait for it to finish, or cancel it, and try again.",
                               "You have {count} uploads in progress, the most allowed at once. "
                               "Wait for one to finish, or cancel one, and try again.", max_open))


async def get_upload(db: AsyncSession, upload_id: str, user: User, *, now: datetime) -> Upload:
    upload = await db.scalar(  # the uploader must still be a member: one who left or was removed gets 404
        select(Upload).join(Room, Room.id == Upload.room_id)
        .join(Member, (Member.room_id == Upload.room_id) & (Member.user_id == Upload.user_id)).where(
            Upload.id == upload_id, Upload.user_id == user.id, Room.expires_at > now,
            Upload.touched_at > now - UPLOAD_IDLE))
    if upload is None:
        raise NotFound(_("This upload does not exist, has ended, or its room has expired."))
    return upload


async def parts(db: AsyncSession, upload: Upload) -> list[UploadPart]:
    return list(await db.scalars(
        select(UploadPart).where(UploadPart.upload_id == upload.id).order_by(UploadPart.number)))


def part_count(upload: Upload) -> int:
    """How many parts the upload's size allows (the last may be short)."""
    return math.ceil(upload.size / PART_SIZE)


async def check_part(db: AsyncSession, upload: Upload, number: int, size: int) -> None:
    """Parts may arrive in any order (a client sends two at once): each number
    at most once (``add_part`` decides a race), each within its own share of the
    size announced, so parts stored at once never add up to more than that."""
    if number >= part_count(upload):
        raise Invalid(_("This upload has no part {number}.", number=number))
    existing = await parts(db, upload)
    if any(part.number == number for part in existing):
        raise Conflict(_("Part {number} of this upload was already received.", number=number))
    if size > min(PART_SIZE, upload.size - number * PART_SIZE) or \
            sum(part.size for part in existing) + size > upload.size:
        raise TooLarge(_("The parts are larger than the size announced for this upload."))


def parts_complete(upload: Upload, received: list[UploadPart]) -> bool:
    """Parts 0, 1, 2… with none missing, holding the size announced."""
    return [part.number for part in received] == list(range(len(received))) and \
        sum(part.size for part in received) == upload.size


async def add_part(db: AsyncSession, upload: Upload, number: int, size: int, *, now: datetime) -> None:
    """Record a stored part (at ``part_blob_id(upload, number)``). ``Conflict``
    if this part number arrived twice at once, or the upload ended meanwhile:
    the caller tells the two apart with ``upload_exists``."""
    db.add(UploadPart(upload_id=upload.id, number=number, blob_id=part_blob_id(upload, number), size=size))
    try:  # the primary key (upload, number) decides between two copies of one part
        await db.flush()
    except IntegrityError:
        raise Conflict(_("Part {number} of this upload was already received.", number=number)) from None
    touched = await db.execute(update(Upload).where(Upload.id == upload.id).values(touched_at=now))
    if touched.rowcount != 1:
        raise Conflict(_("This upload was already completed or cancelled."))


async def finish_upload(db: AsyncSession, upload: Upload, size: int, *, now: datetime) -> Blob:
    """Turn the upload into a blob (at ``upload.blob_id``), once: of concurrent
    ``complete`` calls the first to delete the upload row wins; the others get
    ``Conflict``."""
    await end_upload(db, upload)
    blob = Blob(id=upload.blob_id, room_id=upload.room_id, uploader_id=upload.user_id, size=size, created_at=now)
    db.add(blob)
    await db.flush()
    return blob


async def end_upload(db: AsyncSession, upload: Upload) -> None:
    """Delete the upload row (its parts' rows go with it), or ``Conflict`` if a
    concurrent complete or cancel already did: the row's delete decides."""
    ended = await db.execute(delete(Upload).where(Upload.id == upload.id))
    if ended.rowcount != 1:
        raise Conflict(_("This upload was already completed or cancelled."))


async def upload_exists(db: AsyncSession, upload_id: str) -> bool:
    return await db.get(Upload, upload_id) is not None


async def blob_exists(db: AsyncSession, blob_id: str) -> bool:
    return await db.get(Blob, blob_id) is not None


async def get_blob_for_member(db: AsyncSession, blob_id: str, user_id: str, *, now: datetime) -> Blob:
    """The blob if the user is a member of its unexpired room; one answer for every refusal."""
    blob = await db.scalar(
        select(Blob).join(Room, Room.id == Blob.room_id).join(Member, Member.room_id == Room.id).where(
            Blob.id == blob_id, Member.user_id == user_id, Room.expires_at > now))
    if blob is None:
        raise NotFound(_("This file does not exist, has expired, or is not in one of your rooms."))
    return blob


async def blob_expiry(db: AsyncSession, blob: Blob) -> datetime:
    """When the blob's room expires, and the blob with it."""
    return await db.scalar(select(Room.expires_at).where(Room.id == blob.room_id))


def new_blob_id() -> str:
    return secrets.token_hex(16)


async def drop_abandoned_uploads(db: AsyncSession, *, now: datetime, idle: timedelta = UPLOAD_IDLE) -> list[str]:
    """Forget uploads with no part for ``idle`` (a crash, a closed tab);
    returns every store id they may have written, for the caller to delete."""
    stale = list(await db.scalars(select(Upload).where(Upload.touched_at <= now - idle)))
    if not stale:
        return []
    ids = [upload.id for upload in stale]
    await db.execute(delete(UploadPart).where(UploadPart.upload_id.in_(ids)))
    await db.execute(delete(Upload).where(Upload.id.in_(ids)))
    return [blob_id for upload in stale for blob_id in upload_blob_ids(upload)]


async def referenced_blob_ids(db: AsyncSession, blob_ids: list[str]) -> set[str]:
    """Which of these store ids a Blob row or a live upload part still needs."""
    blobs = await db.scalars(select(Blob.id).where(Blob.id.in_(blob_ids)))
    parts = await db.scalars(select(UploadPart.blob_id).where(UploadPart.blob_id.in_(blob_ids)))
    return set(blobs) | set(parts)
