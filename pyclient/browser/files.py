"""Attachments in the page: pick, encrypt in chunks, upload in signed parts;
download with a signed request, verify every chunk, the digest and the
sender's signature, and only then show or save the file."""

import asyncio
import json
import os
import time

import js
from pyodide.ffi import to_js

from ..errors import ProtocolError
from ..media import blob_type, preview_kind
from ..protocol.attachment import (
    CHUNK_SIZE,
    ChunkDecryptor,
    ChunkEncryptor,
    FileRef,
    blob_size,
    chunk_count,
    encode_file_ref,
    file_signature_input,
    normalize_mime,
    safe_file_name,
)
from ..protocol.request_sig import sign_request
from .dom import by_id, clear, make, on, set_text, show
from .env import on_files
from .i18n import _
from .net import ApiError

AUTO_LOAD_BYTES = 25 * 1024 * 1024


class Cancelled(Exception):
    pass


def human_size(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024


class Attachments:
    def __init__(self, app):
        self.app = app
        self.pending = []          # JS File objects chosen but not yet sent
        self.batches = 0
        self.cancelled = False
        self.max_bytes = 100 * 1024 * 1024

    # ---- choosing files -------------------------------------------------

    def bind(self) -> None:
        # Chosen, dropped and pasted files arrive from web/static/shell.js as
        # File objects of this thread: reading them never crosses to the page.
        on_files(self.add)
        on(by_id("upload-cancel"), "click", self.on_cancel)

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
        self.app.composer_error(" ".join(problems) or None)
        self.render_pending()
        self.batches += 1  # files reach this worker after the page's event: say when each batch is in
        by_id("pending-files").dataset.batches = str(self.batches)

    def render_pending(self) -> None:
        listing = by_id("pending-files")
        clear(listing)
        for index, file in enumerate(self.pending):
            item = make("li", f"{safe_file_name(file.name)} ({human_size(file.size)})", "pending-file")
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

    async def signed(self, method: str, path: str, body: bytes = b""):
        app = self.app
        headers = await sign_request(app.backend, app.private_key, method=method, path=path, body=body,
                                     keyid=app.me["id"], created=int(js.Date.now() / 1000), random_bytes=os.urandom)
        return await app.api.fetch(method, path, body if body else None, headers)

    async def signed_json(self, method: str, path: str, body: bytes = b"") -> dict:
        return await self.app.api.json(await self.signed(method, path, body))

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
        app, size = self.app, int(file.size)
        key, iv = os.urandom(32), os.urandom(16)
        encryptor = ChunkEncryptor(app.backend, key, iv, size)
        started = await self.signed_json("POST", f"/api/rooms/{room_id}/uploads",
                                         json.dumps({"size": blob_size(size)}).encode())
        upload_id, part_size = started["upload"], started["part_size"]
        part, number, done = bytearray(), 0, 0
        sending = None  # the previous part's upload, overlapped with encrypting the next

        async def put(number: int, body: bytes) -> int:
            await self.signed_json("PUT", f"/api/uploads/{upload_id}/parts/{number}", body)
            return len(body)

        try:
            for index in range(chunk_count(size)):
                if self.cancelled:
                    raise Cancelled()
                buffer = await file.slice(index * CHUNK_SIZE, min(size, (index + 1) * CHUNK_SIZE)).arrayBuffer()
                part += await encryptor.encrypt(js.Uint8Array.new(buffer).to_bytes())
                if len(part) >= part_size or index == encryptor.count - 1:
                    if sending is not None:
                        done += await sending
                        report(done)
                    sending = asyncio.ensure_future(put(number, bytes(part)))
                    number, part = number + 1, bytearray()
            done += await sending
            report(done)
            sending = None
            blob = (await self.signed_json("POST", f"/api/uploads/{upload_id}/complete"))["blob"]
        except (Cancelled, ApiError):
            if sending is not None:
                await asyncio.gather(sending, return_exceptions=True)
            try:
                await self.signed("DELETE", f"/api/uploads/{upload_id}")
            except ApiError:
                pass  # the server's orphan sweep removes the parts
            raise
        digest = encryptor.digest.digest()
        signature = await app.backend.sign(
            app.private_key, file_signature_input(room_id, app.me["id"], message_id, digest, size))
        return FileRef(blob, file.name[:255] or "file", normalize_mime(file.type), size, key, iv, digest, signature)

    # ---- receiving ----------------------------------------------------------

    def render(self, container, refs: list[FileRef], *, room: str, sender: dict, message_id: str,
               sender_key: bytes) -> None:
        """``sender_key`` is the key that verified the message: the file must be signed by it too."""
        for ref in refs:
            box = make("div", cls="attachment", data_state="pending", data_name=safe_file_name(ref.name))
            box.appendChild(make("div", f"{safe_file_name(ref.name)} · {human_size(ref.size)}", "attachment-name"))
            status = make("div", _("Encrypted file: not opened yet."), "attachment-status")
            box.appendChild(status)
            button = make("button", _("Download and verify"), "attachment-open", type="button")
            box.appendChild(button)
            container.appendChild(box)
            opener = self._opener(box, ref, room=room, sender=sender, message_id=message_id, sender_key=sender_key)
            on(button, "click", opener)
            if preview_kind(ref.mime) and ref.size <= AUTO_LOAD_BYTES:
                asyncio.ensure_future(opener(None))

    def _opener(self, box, ref: FileRef, **context):
        async def open_file(_event):
            await self.open(box, ref, **context)
        return open_file

    async def open(self, box, ref: FileRef, *, room: str, sender: dict, message_id: str, sender_key: bytes) -> None:
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
            return
        except ApiError as error:
            box.setAttribute("data-state", "error")
            status.textContent = _("Could not download: {reason}", reason=error.message)
            return
        kind = preview_kind(ref.mime)
        blob = js.Blob.new(to_js(parts), to_js({"type": blob_type(ref.mime)}, dict_converter=js.Object.fromEntries))
        url = js.URL.createObjectURL(blob)
        box.setAttribute("data-state", "verified")
        status.textContent = _("✓ Verified from {name}", name=sender["username"])
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
            await self.app.api.json(response)  # raises ApiError with the server's message
        decryptor = ChunkDecryptor(self.app.backend, ref)
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
            for chunk in await decryptor.feed(result.value.to_bytes()):
                parts.append(to_js(chunk.unverified_plaintext))  # held in a Blob, shown only after finish()
                done += chunk.size
            if len(parts) >= 8:
                held, parts = js.Blob.new(to_js([held, *parts])), []
            if time.monotonic() - last > 0.1:
                on_progress(done)
                last = time.monotonic()
        await decryptor.finish(room=room, sender=sender["id"], message_id=message_id,
                               sender_public_key=sender_key)
        return [held, *parts]
