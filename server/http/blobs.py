"""Attachment routes. Every one needs the session AND a fresh signature by
the user's private key over the request (pyclient/protocol/request_sig.py).

    POST   /api/rooms/{room}/uploads          {"size": N}  -> 201 {"upload", "part_size"}
    PUT    /api/uploads/{upload}/parts/{n}    bytes        -> 200 {"received"}
    POST   /api/uploads/{upload}/complete                  -> 201 {"blob", "size"}
    DELETE /api/uploads/{upload}                           -> 200 {"cancelled"}
    GET    /api/blobs/{blob}                               -> 200 ciphertext stream
"""

import asyncio

from aiohttp import web

from pyclient.protocol.attachment import blob_size

from .. import app_keys
from ..blobs import BlobNotFound, BlobTooLarge
from ..clock import wall_now
from ..domain import blobs, rooms
from ..domain.errors import Conflict, Invalid, NotFound, TooLarge
from ..i18n import _
from .common import ApiError, parse_json_object, transaction, utcnow
from .sessions import authenticate
from .throttle import limit

routes = web.RouteTableDef()


async def _read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(_("A request body may hold at most {limit} bytes.", limit=limit))
    body = bytearray()
    async for chunk in request.content.iter_chunked(256 * 1024):
        body += chunk
        if len(body) > limit:
            raise TooLarge(_("A request body may hold at most {limit} bytes.", limit=limit))
    return bytes(body)


async def _signed(request: web.Request, limit: int = 64 * 1024):
    """The signed-in user and the request body, once the signature checks out."""
    user = await authenticate(request)
    body = await _read_body(request, limit)
    async with transaction(request) as db:
        await blobs.check_request_signature(db, user, request.headers, method=request.method,
                                            path=request.path, body=body, now=wall_now(request.app))
    return user, body


async def _one(data: bytes):
    yield data


@routes.post("/api/rooms/{room_id:[0-9a-f]{32}}/uploads")
async def start_upload(request: web.Request) -> web.Response:
    user, body = await _signed(request)
    size = parse_json_object(body).get("size")
    config = request.app[app_keys.config]
    await limit(request, "upload_start", user.id, message=_("You are starting uploads too fast."))
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, request.match_info["room_id"], user.id, now=utcnow(request))
        await blobs.check_open_uploads(db, user, now=utcnow(request), max_open=config.max_open_uploads)
        upload = await blobs.start_upload(
            db, room, user, size, now=utcnow(request),
            max_bytes=blob_size(config.max_upload_bytes),
            quota_bytes=config.user_quota_bytes)
    return web.json_response({"upload": upload.id, "part_size": blobs.PART_SIZE}, status=201)


@routes.put("/api/uploads/{upload_id:[0-9a-f]{32}}/parts/{number:[0-9]{1,6}}")
async def put_part(request: web.Request) -> web.Response:
    user, body = await _signed(request, limit=blobs.PART_SIZE)
    number = int(request.match_info["number"])
    async with transaction(request) as db:
        upload = await blobs.get_upload(db, request.match_info["upload_id"], user, now=utcnow(request))
        await blobs.check_part(db, upload, number, len(body))
    store = request.app[app_keys.blob_store]
    part_blob = blobs.part_blob_id(upload, number)  # derived, so a crash mid-write still finds it
    # Not fsynced: a part lives only until complete, which writes the file and
    # fsyncs that, and a part a power cut took leaves the file short (refused there).
    await store.put(part_blob, _one(body), max_bytes=blobs.PART_SIZE, durable=False)
    try:
        async with transaction(request) as db:
            await blobs.add_part(db, upload, number, len(body), now=utcnow(request))
    except Conflict:  # the same part twice at once (both copies share this file) or the upload ended
        await asyncio.shield(_delete_unless_referenced(request, part_blob))
        raise
    except BaseException:  # the upload ended (expired, cancelled) meanwhile: keep no part it cannot reach
        await asyncio.shield(store.delete(part_blob))
        raise
    return web.json_response({"received": number})


@routes.post("/api/uploads/{upload_id:[0-9a-f]{32}}/complete")
async def complete_upload(request: web.Request) -> web.Response:
    user, _signature = await _signed(request)
    store = request.app[app_keys.blob_store]
    async with transaction(request) as db:
        upload = await blobs.get_upload(db, request.match_info["upload_id"], user, now=utcnow(request))
        parts = await blobs.parts(db, upload)
    if not blobs.parts_complete(upload, parts):
        async with transaction(request) as db:
            if not await blobs.upload_exists(db, upload.id):  # a concurrent cancel took the parts
                raise Conflict(_("This upload was already completed or cancelled."))
        raise Invalid(_("The upload is not complete: some parts are missing."))

    try:
        size = await store.concat(upload.blob_id, [part.blob_id for part in parts], max_bytes=upload.size)
        if size != upload.size:  # a part the store lost or cut short
            await store.delete(upload.blob_id)
            raise BlobNotFound(upload.blob_id)
    except (BlobNotFound, BlobTooLarge):
        async with transaction(request) as db:
            if not await blobs.upload_exists(db, upload.id):  # a concurrent complete took the parts
                raise Conflict(_("This upload was already completed or cancelled.")) from None
        raise ApiError("invalid", _("The upload's parts could not be assembled. Send the file again.")) from None
    try:
        async with transaction(request) as db:
            blob = await blobs.finish_upload(db, upload, size, now=utcnow(request))
    except Conflict:  # another complete won (its blob is this very file) or a cancel did
        await asyncio.shield(_delete_unless_referenced(request, upload.blob_id))
        raise
    except BaseException:  # the upload ended meanwhile: its parts and this blob go with it
        await asyncio.shield(store.delete(upload.blob_id))
        raise
    for part in parts:
        await store.delete(part.blob_id)
    return web.json_response({"blob": blob.id, "size": blob.size}, status=201)


@routes.delete("/api/uploads/{upload_id:[0-9a-f]{32}}")
async def cancel_upload(request: web.Request) -> web.Response:
    user, _signature = await _signed(request)
    async with transaction(request) as db:
        upload = await blobs.get_upload(db, request.match_info["upload_id"], user, now=utcnow(request))
        await blobs.end_upload(db, upload)  # a concurrent complete or cancel that won: Conflict
    for blob_id in blobs.upload_blob_ids(upload):
        await request.app[app_keys.blob_store].delete(blob_id)
    return web.json_response({"cancelled": upload.id})


@routes.get("/api/blobs/{blob_id:[0-9a-f]{32}}")
async def download(request: web.Request) -> web.StreamResponse:
    user, _signature = await _signed(request, limit=0)
    blob_id = request.match_info["blob_id"]
    async with transaction(request) as db:
        blob = await blobs.get_blob_for_member(db, blob_id, user.id, now=utcnow(request))
        expires_at = await blobs.blob_expiry(db, blob)
    store = request.app[app_keys.blob_store]
    chunks = store.read(blob.id)
    try:
        first = await anext(chunks, b"")
    except BlobNotFound:
        raise ApiError("not_found", _("This file's data is no longer stored.")) from None
    # Chunked, with no Content-Length from the database: if the stored bytes
    # were cut short, the client sees a clean end and reports the truncation.
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    await response.write(first)
    unchecked = len(first)
    async for chunk in chunks:
        # Expiry is checked on every chunk (the room's expiry is known), and the
        # database once a part's worth of bytes: a purged room, or a member
        # removed, ends the download too. A download never outlives its room.
        if utcnow(request) >= expires_at or (unchecked >= blobs.PART_SIZE and not await _still_readable(
                request, blob_id, user.id)):
            await chunks.aclose()
            _cut_off(request)
            return response
        if unchecked >= blobs.PART_SIZE:
            unchecked = 0
        await response.write(chunk)
        unchecked += len(chunk)
    await response.write_eof()
    return response


async def _delete_unless_referenced(request: web.Request, blob_id: str) -> None:
    """After a lost race: delete the file unless the winner's row names it."""
    async with transaction(request) as db:
        needed = await blobs.referenced_blob_ids(db, [blob_id])
    if blob_id not in needed:
        await request.app[app_keys.blob_store].delete(blob_id)


async def _still_readable(request: web.Request, blob_id: str, user_id: str) -> bool:
    async with transaction(request) as db:
        try:
            await blobs.get_blob_for_member(db, blob_id, user_id, now=utcnow(request))
        except NotFound:
            return False
    return True


def _cut_off(request: web.Request) -> None:
    """End a streamed response without its final chunk, so the client sees a
    broken transfer rather than a complete (short) file."""
    request.protocol.force_close()
    if request.transport is not None:
        request.transport.abort()
