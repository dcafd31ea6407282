"""Attachment routes. Every one needs the session AND a fresh signature by
the user's private key over the request (pyclient/protocol/request_sig.py).

    POST   /api/rooms/{room}/uploads          {"size": N}  -> 201 {"upload", "part_size"}
    PUT    /api/uploads/{upload}/parts/{n}    bytes        -> 200 {"received"}
    POST   /api/uploads/{upload}/complete                  -> 201 {"blob", "size"}
    DELETE /api/uploads/{upload}                           -> 200 {"cancelled"}
    GET    /api/blobs/{blob}                               -> 200 ciphertext stream
"""

import json

from aiohttp import web

from pyclient.protocol.attachment import blob_size

from .. import app_keys
from ..blobs import BlobNotFound, BlobTooLarge
from ..domain import blobs, rooms
from ..domain.errors import Invalid, TooLarge
from .common import ApiError, transaction, utcnow
from .sessions import authenticate
from .throttle import limit

routes = web.RouteTableDef()


async def _read_body(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"A request body may hold at most {limit} bytes.")
    body = bytearray()
    async for chunk in request.content.iter_chunked(256 * 1024):
        body += chunk
        if len(body) > limit:
            raise TooLarge(f"A request body may hold at most {limit} bytes.")
    return bytes(body)


async def _signed(request: web.Request, limit: int = 64 * 1024):
    """The signed-in user and the request body, once the signature checks out."""
    user = await authenticate(request)
    body = await _read_body(request, limit)
    async with transaction(request) as db:
        await blobs.check_request_signature(db, user, request.headers, method=request.method,
                                            path=request.path, body=body, now=utcnow(request))
    return user, body


async def _one(data: bytes):
    yield data


@routes.post("/api/rooms/{room_id}/uploads")
async def start_upload(request: web.Request) -> web.Response:
    user, body = await _signed(request)
    try:
        size = json.loads(body).get("size")
    except (ValueError, AttributeError):
        raise Invalid("The request body must be a JSON object with a size.") from None
    config = request.app[app_keys.config]
    await limit(request, "upload_start", user.id, message="You are starting uploads too fast.")
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, request.match_info["room_id"], user.id, now=utcnow(request))
        await blobs.check_open_uploads(db, user, now=utcnow(request), max_open=config.max_open_uploads)
        upload = await blobs.start_upload(
            db, room, user, size, now=utcnow(request),
            max_bytes=blob_size(config.max_upload_bytes),
            quota_bytes=config.user_quota_bytes)
    return web.json_response({"upload": upload.id, "part_size": blobs.PART_SIZE}, status=201)


@routes.put("/api/uploads/{upload_id}/parts/{number:\\d{1,6}}")
async def put_part(request: web.Request) -> web.Response:
    user, body = await _signed(request, limit=blobs.PART_SIZE)
    number = int(request.match_info["number"])
    async with transaction(request) as db:
        upload = await blobs.get_upload(db, request.match_info["upload_id"], user, now=utcnow(request))
        await blobs.check_next_part(db, upload, number, len(body))
    part_blob = blobs.new_blob_id()
    await request.app[app_keys.blob_store].put(part_blob, _one(body), max_bytes=blobs.PART_SIZE)
    async with transaction(request) as db:
        blobs.add_part(db, upload, number, part_blob, len(body))
    return web.json_response({"received": number})


@routes.post("/api/uploads/{upload_id}/complete")
async def complete_upload(request: web.Request) -> web.Response:
    user, _ = await _signed(request)
    store = request.app[app_keys.blob_store]
    async with transaction(request) as db:
        upload = await blobs.get_upload(db, request.match_info["upload_id"], user, now=utcnow(request))
        parts = await blobs.parts(db, upload)
    if sum(part.size for part in parts) != upload.size:
        raise Invalid("The upload is not complete: some parts are missing.")

    async def assembled():
        for part in parts:
            async for chunk in store.read(part.blob_id):
                yield chunk

    blob_id = blobs.new_blob_id()
    try:
        size = await store.put(blob_id, assembled(), max_bytes=upload.size)
    except (BlobNotFound, BlobTooLarge):
        raise ApiError("invalid", "The upload's parts could not be assembled. Send the file again.") from None
    async with transaction(request) as db:
        blob = await blobs.finish_upload(db, upload, blob_id, size, now=utcnow(request))
    for part in parts:
        await store.delete(part.blob_id)
    return web.json_response({"blob": blob.id, "size": blob.size}, status=201)


@routes.delete("/api/uploads/{upload_id}")
async def cancel_upload(request: web.Request) -> web.Response:
    user, _ = await _signed(request)
    async with transaction(request) as db:
        upload = await blobs.get_upload(db, request.match_info["upload_id"], user, now=utcnow(request))
        parts = await blobs.parts(db, upload)
        await db.delete(upload)
    for part in parts:
        await request.app[app_keys.blob_store].delete(part.blob_id)
    return web.json_response({"cancelled": upload.id})


@routes.get("/api/blobs/{blob_id}")
async def download(request: web.Request) -> web.StreamResponse:
    user, _ = await _signed(request, limit=0)
    async with transaction(request) as db:
        blob = await blobs.get_blob_for_member(db, request.match_info["blob_id"], user.id, now=utcnow(request))
    store = request.app[app_keys.blob_store]
    chunks = store.read(blob.id)
    try:
        first = await anext(chunks, b"")
    except BlobNotFound:
        raise ApiError("not_found", "This file's data is no longer stored.") from None
    # Chunked, with no Content-Length from the database: if the stored bytes
    # were cut short, the client sees a clean end and reports the truncation.
    response = web.StreamResponse(headers={"Content-Type": "application/octet-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    await response.write(first)
    async for chunk in chunks:
        await response.write(chunk)
    await response.write_eof()
    return response
