"""Attachments in the page: pick, encrypt in chunks, upload in signed parts;
download with a signed request, verify every chunk, the digest and the
sender's signature, and only then show or save the file."""

import asyncio
import os
import time

import js
from pyodide.ffi import to_js

from ..errors import ProtocolError
from ..media import blob_type, preview_kind
from ..protocol.attachment import CHUNK_SIZE, ChunkDecryptor, ChunkEncryptor, FileRef, blob_size, encode_file_ref, \
    safe_file_name
from ..protocol.request_sig import sign_request
from ..transfer import SignedUploads, upload_file
from .dom import by_id, clear, make, on, set_text, show, toast, tree
from .env import on_files
from .i18n import _
from .js_chunks import JsChunkDecryptor, JsChunkEncryptor, uses_js_buffers
from .net import ApiError

AUTO_LOAD_BYTES = 25 * 1024 * 1024


class Cancelled(Exception):
    pass


class FileReader:
    """Reads a File in blocks of several chunks, the next block while this one is
    encrypted: each read of a File in this worker has a fixed cost of its own."""

    BLOCK = 8 * CHUNK_SIZE

    def __init__(self, file):
        self.file, self.size = file, int(file.size)
        self.blocks: dict[int, asyncio.Future] = {}

    async def _read_block(self, block: int):
        start = block * self.BLOCK
        return js.Uint8Array.new(await self.file.slice(start, min(self.size, start + self.BLOCK)).arrayBuffer())

    def _want(self, block: int) -> None:
        if block * self.BLOCK < self.size and block not in self.blocks:
            self.blocks[block] = asyncio.ensure_future(self._read_block(block))

    async def read(self, start: int, end: int):
        """Bytes ``start`` to ``end`` (within one chunk) as a Uint8Array view."""
        block = start // self.BLOCK
        self.blocks.pop(block - 1, None)
        self._want(block)
        self._want(block + 1)
        data = await self.blocks[block]
        offset = start - block * self.BLOCK
        return data.subarray(offset, offset + end - start)

    def close(self) -> None:
        for future in self.blocks.values():
            future.cancel()
        self.blocks.clear()


class PageUploads(SignedUploads):
    """Upload requests whose parts stay in JS memory: WebCrypto hashes the part
    for its signed Content-Digest, and it goes out as a Blob. Two parts are on
    the wire at once (the server takes them in any order, docs/protocol.md §7)."""

    parts_at_once = 2

    async def put(self, upload_id: str, number: int, body) -> None:
        await self._signed_json("PUT", f"/api/uploads/{upload_id}/parts/{number}", js_body=body)


def human_size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024


class Attachments:
    def __init__(self, session, show_problem):
        """``show_problem(text or None)``: say under the composer why a file was refused."""
        self.session = session
        self._show_problem = show_problem
        self.pending = []          # JS File objects chosen but not yet sent
        self.received: dict[str, tuple[FileRef, dict]] = {}  # box key -> its reference and what verifies it
        self.batches = 0
        self.cancelled = False
        self.max_bytes = 100 * 1024 * 1024

    # ---- choosing files -------------------------------------------------

    def bind(self) -> None:
        # Chosen, dropped and pasted files arrive from web/static/shell.js as
        # File objects of this thread: reading them never crosses to the page.
        on_files(self.add)
        on("upload-cancel", "click", self.on_cancel)
        # One listener for every "Download and verify": a box is clickable the moment it appears.
        on("messages", "click", self.on_open_click)

    async def on_cancel(self, _event) -> None:
        self.cancelled = True

    def add(self, files: list) -> None:
        """Refuse empty and oversize files now, before any byte is uploaded."""
        problems = []
        for file in files:
            name = safe_file_name(file.name)
            if file.size == 0:
                problems.append(_("“{name}” is empty, so there is nothing to send.", name=name))
            elif file.size > self.max_bytes:
                problems.append(_("“{name}” is {size}; the limit is {limit}.", name=name, size=human_size(file.size),
                                                  limit=human_size(self.max_bytes)))
            elif len(self.pending) >= 10:
                problems.append(_("A message can carry at most 10 files."))
            else:
                self.pending.append(file)
        self._show_problem(" ".join(problems) or None)
        self.render_pending()
        self.batches += 1  # files reach this worker after the page's event: say when each batch is in
        by_id("pending-files").dataset.batches = str(self.batches)

    def render_pending(self) -> None:
        listing = by_id("pending-files")
        clear(listing)
        for index, file in enumerate(self.pending):
            item = make("li", cls="pending-file")
            item.appendChild(make("span", f"{safe_file_name(file.name)} ({human_size(file.size)})", "pending-name"))
            remove = make("button", "✕", "link", type="button", aria_label=_("Remove this file"))
            on(remove, "click", self._remover(index))
            item.appendChild(remove)
            listing.appendChild(item)

    def _remover(self, index: int):
        async def remove(_event):
            del self.pending[index]
            self.render_pending()
        return remove

    # ---- sending ----------------------------------------------------------

    async def sign(self, method: str, path: str, body: bytes = b"", *, body_sha256: bytes | None = None) -> dict:
        """The signature headers for a request (for a body known by its SHA-256, ``body_sha256``)."""
        session = self.session
        return await sign_request(session.backend, session.private_key, method=method, path=path, body=body,
                                  body_sha256=body_sha256, keyid=session.me["id"], created=int(js.Date.now() / 1000),
                                  random_bytes=os.urandom)

    async def signed(self, method: str, path: str, body: bytes = b"", *, js_body=None):
        """A request signed by the user's key. ``js_body``: a body in JS memory
        (a Uint8Array), hashed by WebCrypto and sent as a Blob without entering Python."""
        if js_body is None:
            headers = await self.sign(method, path, body)
            return await self.session.api.fetch(method, path, body if body else None, headers)
        sha256 = js.Uint8Array.new(await self.session.backend.sha256_js(js_body)).to_bytes()
        headers = await self.sign(method, path, body_sha256=sha256)
        return await self.session.api.fetch(method, path, js_body, headers)

    async def signed_json(self, method: str, path: str, body: bytes = b"", **kwargs) -> dict:
        return await self.session.api.json(await self.signed(method, path, body, **kwargs))

    def progress(self, done: int, total: int, label: str) -> None:
        bar = by_id("upload-progress")
        bar.max = max(total, 1)
        bar.value = done
        set_text("upload-status", label)

    async def upload_all(self, room_id: str, message_id: str) -> list[dict]:
        """Encrypt and upload every pending file; return their signed references."""
        self.cancelled = False
        total = sum(blob_size(file.size) for file in self.pending) or 1
        sent = 0
        refs = []
        show("upload-panel")
        try:
            for file in self.pending:
                ref = await self.upload_one(room_id, message_id, file, lambda n, base=sent: self.progress(
                    base + n, total, _("Encrypting and uploading {name}…", name=safe_file_name(file.name))))
                sent += blob_size(file.size)
                refs.append(encode_file_ref(ref))
        finally:
            show("upload-panel", False)
        return refs

    async def upload_one(self, room_id: str, message_id: str, file, report) -> FileRef:
        session = self.session
        reader = FileReader(file)
        # With WebCrypto the file's bytes stay in JS memory on their way to the request body.
        in_js = uses_js_buffers(session.backend)

        async def read_chunk(start: int, end: int):
            data = await reader.read(start, end)
            return data if in_js else data.to_bytes()

        def before_chunk() -> None:
            if self.cancelled:
                raise Cancelled()

        try:
            return await upload_file(session.backend, (PageUploads if in_js else SignedUploads)(self.signed_json),
                                     read_chunk, size=int(file.size), key=os.urandom(32), iv=os.urandom(16),
                                     room_id=room_id, sender_id=session.me["id"], message_id=message_id,
                                     signing_key=session.private_key, name=file.name, mime=file.type,
                                     progress=report, before_chunk=before_chunk,
                                     encryptor_class=JsChunkEncryptor if in_js else ChunkEncryptor)
        finally:
            reader.close()

    # ---- receiving ----------------------------------------------------------

    def boxes(self, refs: list[FileRef], *, room: str, sender: dict, message_id: str,
              sender_key: bytes) -> tuple[list, list[str]]:
        """The attachment boxes of a message as DOM trees, and the keys of those that open by themselves.

        ``sender_key`` is the key that verified the message: the file must be signed by it too.
        """
        context = {"room": room, "sender": sender, "message_id": message_id, "sender_key": sender_key}
        trees, autoload = [], []
        for index, ref in enumerate(refs):
            key = f"{message_id}:{index}"
            self.received[key] = (ref, context)
            name = safe_file_name(ref.name)
            trees.append(tree("div", tree("div", f"{name} · {human_size(ref.size)}", cls="attachment-name"),
                              tree("div", _("Encrypted file: not opened yet."), cls="attachment-status"),
                              tree("button", _("Download and verify"), cls="attachment-open", type="button"),
                              cls="attachment", data_state="pending", data_name=name, data_key=key))
            if preview_kind(ref.mime) and ref.size <= AUTO_LOAD_BYTES:
                autoload.append(key)
        return trees, autoload

    def open_by_key(self, container, key: str) -> None:
        ref, context = self.received[key]
        asyncio.ensure_future(self.open(container.querySelector(f'[data-key="{key}"]'), ref, asked=False, **context))

    async def on_open_click(self, event) -> None:
        button = event.target.closest(".attachment-open")
        if button is not None:
            box = button.closest(".attachment")
            ref, context = self.received[box.getAttribute("data-key")]
            await self.open(box, ref, **context)

    async def open(self, box, ref: FileRef, *, room: str, sender: dict, message_id: str, sender_key: bytes,
                   asked: bool = True) -> None:
        """Download, verify and show one file. ``asked``: the person pressed "Download and verify",
        so success is announced too (a picture that opens by itself is not); a refusal always is."""
        if box.getAttribute("data-state") in ("loading", "verified"):
            return
        box.setAttribute("data-state", "loading")
        status = box.querySelector(".attachment-status")
        status.textContent = _("Downloading and verifying…")
        try:
            parts = await self.download(ref, room=room, sender=sender, message_id=message_id, sender_key=sender_key,
                                        on_progress=lambda n: setattr(status, "textContent",
                                                                      _("Verifying… {percent}%", percent=100 * n // max(ref.size, 1))))
        except ProtocolError as error:
            box.setAttribute("data-state", "refused")
            box.setAttribute("data-failed", error.kind)
            status.textContent = _("⚠ Refused: this file failed the {check} check ({reason}). It was not saved or shown.",
                                   check=error.kind.replace("_", " "), reason=error.message)
            toast(_("⚠ “{name}” failed verification and was not opened.", name=safe_file_name(ref.name)), seconds=8)
            return
        except ApiError as error:
            box.setAttribute("data-state", "error")
            status.textContent = _("Could not download: {reason}", reason=error.message)
            if asked:
                toast(_("Could not download “{name}”: {reason}", name=safe_file_name(ref.name), reason=error.message))
            return
        kind = preview_kind(ref.mime)
        blob = js.Blob.new(to_js(parts), to_js({"type": blob_type(ref.mime)}, dict_converter=js.Object.fromEntries))
        url = js.URL.createObjectURL(blob)
        box.setAttribute("data-state", "verified")
        status.textContent = _("✓ Verified from {name}", name=sender["username"])
        if asked:
            toast(_("“{file}” downloaded and verified from {name}.", file=safe_file_name(ref.name),
                    name=sender["username"]))
        button = box.querySelector(".attachment-open")
        button.remove()
        if kind == "image":
            box.appendChild(make("img", cls="preview", src=url, alt=safe_file_name(ref.name)))
        elif kind == "video":
            box.appendChild(make("video", cls="preview", src=url, controls=""))
        elif kind == "audio":
            box.appendChild(make("audio", cls="preview", src=url, controls=""))
        box.appendChild(make("a", _("Save"), "attachment-save", href=url, download=safe_file_name(ref.name)))

    async def download(self, ref: FileRef, *, room: str, sender: dict, message_id: str, sender_key: bytes,
                       on_progress) -> list:
        """The plaintext as Blob parts, returned only if every check passed."""
        response = await self.signed("GET", f"/api/blobs/{ref.blob}")
        if not response.ok:
            await self.session.api.json(response)  # raises ApiError with the server's message
        backend = self.session.backend
        in_js = uses_js_buffers(backend)  # with WebCrypto the bytes stay in JS memory, stream to Blob
        decryptor = (JsChunkDecryptor if in_js else ChunkDecryptor)(backend, ref)
        reader = response.body.getReader()
        # Verified chunks move into a Blob every few chunks: the browser keeps
        # Blob bytes outside the JS heap, so memory stays bounded by a few chunks.
        held, parts, done, last = js.Blob.new(), [], 0, time.monotonic()
        while True:
            try:
                result = await reader.read()
            except Exception:
                raise ApiError(0, "network", _("The download was interrupted. Try again.")) from None
            if result.done:
                break
            for chunk in await decryptor.feed(result.value if in_js else result.value.to_bytes()):
                plaintext = chunk.unverified_plaintext
                parts.append(plaintext if in_js else to_js(plaintext))  # held in a Blob, shown only after finish()
                done += chunk.size
            if len(parts) >= 8:
                held, parts = js.Blob.new(to_js([held, *parts])), []
            if time.monotonic() - last > 0.1:
                on_progress(done)
                last = time.monotonic()
        await decryptor.finish(room=room, sender=sender["id"], message_id=message_id,
                               sender_public_key=sender_key)
        return [held, *parts]
