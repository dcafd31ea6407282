"""Attachment chunks with their bytes kept in JS memory (WebCrypto backend).

The same bytes as ``ChunkEncryptor`` / ``ChunkDecryptor`` (whose checks and
state these reuse): a file's plaintext and ciphertext go from the File to
WebCrypto to the request body, and from the response stream to WebCrypto to
a Blob, without a copy into Python and back. Only the whole-file SHA-256,
which has to be computed incrementally, copies the plaintext into Python.
"""

import hmac

import js
from pyodide.ffi import to_js

from ..errors import BadMac
from ..protocol.attachment import (
    CHUNK_SIZE,
    MAC_PREFIX_SIZE,
    MAC_SIZE,
    ChunkDecryptor,
    ChunkEncryptor,
    UnverifiedChunk,
    blob_size,
    chunk_iv,
    chunk_mac_prefix,
)


def uses_js_buffers(backend) -> bool:
    return hasattr(backend, "aes_ctr_js")


class _Hashing:
    """The whole-file digest, fed from JS memory through one reused Python buffer."""

    def _hash(self, digest, data) -> None:
        length = data.byteLength
        view = self._scratch[:length]
        data.assign_to(view)
        digest.update(view)


class JsChunkEncryptor(_Hashing, ChunkEncryptor):
    """``encrypt`` takes a Uint8Array of plaintext and returns its ciphertext and
    MAC as two Uint8Arrays; ``join`` makes an upload part (one Uint8Array) of those."""

    def __init__(self, backend, file_key: bytes, iv: bytes, size: int):
        super().__init__(backend, file_key, iv, size)
        self._scratch = memoryview(bytearray(CHUNK_SIZE))
        self._mac_input = js.Uint8Array.new(MAC_PREFIX_SIZE + CHUNK_SIZE)

    async def encrypt(self, plaintext):
        length = plaintext.byteLength
        index, final = self.next_chunk(length)
        encrypting = self.backend.aes_ctr_js(self.enc_key, chunk_iv(self.iv, index), plaintext)
        self._hash(self.digest, plaintext)  # in Python while WebCrypto encrypts on its own thread
        ct = js.Uint8Array.new(await encrypting)
        self._mac_input.set(to_js(chunk_mac_prefix(index, final, length)))
        self._mac_input.set(ct, MAC_PREFIX_SIZE)
        mac = await self.backend.hmac_sha256_js(self.mac_key, self._mac_input.subarray(0, MAC_PREFIX_SIZE + length))
        return ct, js.Uint8Array.new(mac)

    @staticmethod
    def join(pieces: list):
        arrays = [array for piece in pieces for array in piece]
        part = js.Uint8Array.new(sum(array.length for array in arrays))
        offset = 0
        for array in arrays:
            part.set(array, offset)
            offset += array.length
        return part


class JsChunkDecryptor(_Hashing, ChunkDecryptor):
    """``feed`` takes the Uint8Arrays a response stream yields; each
    :class:`UnverifiedChunk` it returns holds its plaintext as a Uint8Array."""

    def __init__(self, backend, ref):
        super().__init__(backend, ref)
        self._scratch = memoryview(bytearray(CHUNK_SIZE))
        # The chunk being received, after room for its MAC prefix: the MAC input is one view of it.
        self._pending = js.Uint8Array.new(MAC_PREFIX_SIZE + CHUNK_SIZE + MAC_SIZE)
        self._filled = 0
        self._unhashed = None  # the last chunk's plaintext, hashed when the next one is being decrypted

    async def _feed(self, data) -> list[UnverifiedChunk]:
        total = data.length
        self.received += total
        if self.received > blob_size(self.ref.size):
            raise BadMac("the file is longer than its sender said: it was altered")
        out, offset = [], 0
        while offset < total:  # every byte belongs to a chunk: the length check above
            length = self._next_length()
            take = min(length - self._filled, total - offset)
            self._pending.set(data.subarray(offset, offset + take), MAC_PREFIX_SIZE + self._filled)
            self._filled += take
            offset += take
            if self._filled == length:
                self._filled = 0
                out.append(await self._open_pending(length - MAC_SIZE))
        return out

    async def _open_pending(self, ct_length: int) -> UnverifiedChunk:
        final = self.index == self.count - 1
        pending = self._pending
        pending.set(to_js(chunk_mac_prefix(self.index, final, ct_length)))
        # Both start now (WebCrypto copies the chunk at once); the plaintext is
        # used only once the MAC has matched.
        checking = self.backend.hmac_sha256_js(self.mac_key, pending.subarray(0, MAC_PREFIX_SIZE + ct_length))
        decrypting = self.backend.aes_ctr_js(self.enc_key, chunk_iv(self.ref.iv, self.index),
                                             pending.subarray(MAC_PREFIX_SIZE, MAC_PREFIX_SIZE + ct_length))
        self._hash_previous()  # the chunk before, in Python while WebCrypto works on this one
        mac = pending.subarray(MAC_PREFIX_SIZE + ct_length, MAC_PREFIX_SIZE + ct_length + MAC_SIZE).to_bytes()
        expected = js.Uint8Array.new(await checking).to_bytes()
        plaintext = js.Uint8Array.new(await decrypting)
        if not hmac.compare_digest(expected, mac):
            raise BadMac(f"chunk {self.index + 1} of {self.count} failed its MAC: the file was altered, "
                         "truncated or reordered")
        self._unhashed = plaintext
        self.index += 1
        return UnverifiedChunk(self.index - 1, plaintext)

    def _hash_previous(self) -> None:
        if self._unhashed is not None:
            self._hash(self.digest, self._unhashed)
            self._unhashed = None

    def _leftover(self) -> int:
        return self._filled

    async def finish(self, **kwargs):
        if self._state == "open":
            self._hash_previous()
        return await super().finish(**kwargs)
