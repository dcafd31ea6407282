"""Sending an attachment, shared by the page and the CLI (docs/protocol.md §6, §7).

The file is encrypted chunk by chunk and uploaded in signed parts, the next
part encrypted while the previous one uploads; the reference that goes into
the message is signed last. The caller supplies the I/O: reading a chunk of
the file, and a way to make a signed JSON request (``SignedUploads``).
"""

import asyncio
import json
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

from .protocol.attachment import (
    CHUNK_SIZE,
    MAC_SIZE,
    ChunkEncryptor,
    FileRef,
    blob_size,
    chunk_count,
    file_signature_input,
    normalize_mime,
)


class Uploads(Protocol):
    """The upload requests, each signed by the sender's private key (§7)."""

    async def start(self, room_id: str, size: int) -> tuple[str, int]: ...  # (upload id, part size)
    async def put(self, upload_id: str, number: int, body: bytes) -> None: ...
    async def complete(self, upload_id: str) -> str: ...  # the blob id
    async def cancel(self, upload_id: str) -> None: ...   # best effort: the server sweeps leftovers


class SignedUploads:
    """The upload API over the caller's ``signed_json(method, path, body=b"") -> dict``."""

    def __init__(self, signed_json: Callable[..., Awaitable[dict]]):
        self._signed_json = signed_json

    async def start(self, room_id: str, size: int) -> tuple[str, int]:
        started = await self._signed_json("POST", f"/api/rooms/{room_id}/uploads", json.dumps({"size": size}).encode())
        return started["upload"], started["part_size"]

    async def put(self, upload_id: str, number: int, body: bytes) -> None:
        await self._signed_json("PUT", f"/api/uploads/{upload_id}/parts/{number}", body)

    async def complete(self, upload_id: str) -> str:
        return (await self._signed_json("POST", f"/api/uploads/{upload_id}/complete"))["blob"]

    async def cancel(self, upload_id: str) -> None:
        await self._signed_json("DELETE", f"/api/uploads/{upload_id}")


async def upload_file(backend, uploads: Uploads, read_chunk: Callable[[int, int], Awaitable[bytes]], *,
                      size: int, key: bytes, iv: bytes, room_id: str, sender_id: str, message_id: str,
                      signing_key: bytes, name: str, mime: str,
                      progress: Callable[[int], None] = lambda done: None,
                      before_chunk: Callable[[], None] = lambda: None,
                      encryptor_class: type[ChunkEncryptor] = ChunkEncryptor) -> FileRef:
    """Upload ``size`` bytes read by ``read_chunk(start, end)`` and return the signed reference.

    ``progress`` gets the blob bytes sent so far; ``before_chunk`` may raise to stop (a cancel button).
    On any failure the upload is cancelled on the server and the error goes on.
    ``encryptor_class`` may keep the bytes elsewhere (the page keeps them in JS
    memory): whatever ``read_chunk`` returns it encrypts, and its ``join`` makes
    the part body that ``uploads.put`` gets.
    """
    encryptor = encryptor_class(backend, key, iv, size)
    upload_id, part_size = await uploads.start(room_id, blob_size(size))
    pieces, part_bytes, number, done = [], 0, 0, 0
    # Parts being uploaded while the next is read and encrypted: one, or as many
    # as ``uploads.parts_at_once`` says (the server takes parts in any order).
    sending: deque[asyncio.Future] = deque()
    at_once = getattr(uploads, "parts_at_once", 1)

    async def put(number: int, body, length: int) -> int:
        await uploads.put(upload_id, number, body)
        return length

    try:
        for index in range(chunk_count(size)):
            before_chunk()
            start, end = index * CHUNK_SIZE, min(size, (index + 1) * CHUNK_SIZE)
            pieces.append(await encryptor.encrypt(await read_chunk(start, end)))
            part_bytes += end - start + MAC_SIZE
            if part_bytes >= part_size or index == encryptor.count - 1:
                while len(sending) >= at_once:
                    done += await sending.popleft()
                    progress(done)
                sending.append(asyncio.ensure_future(put(number, encryptor.join(pieces), part_bytes)))
                pieces, part_bytes, number = [], 0, number + 1
        while sending:
            done += await sending.popleft()
            progress(done)
        blob = await uploads.complete(upload_id)
    except BaseException:
        for future in sending:
            future.cancel()
        await asyncio.gather(*sending, return_exceptions=True)
        try:
            await uploads.cancel(upload_id)
        except Exception:
            pass  # the server's sweep removes an abandoned upload's parts
        raise
    digest = encryptor.digest.digest()
    signature = await backend.sign(signing_key, file_signature_input(room_id, sender_id, message_id, digest, size))
    return FileRef(blob, name[:255] or "file", normalize_mime(mime), size, key, iv, digest, signature)
