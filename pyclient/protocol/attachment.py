"""Encrypted attachments: chunked AES-256-CTR with a MAC per chunk (spec §6).

The file is one CTR stream under a fresh file key; chunk ``i`` starts at
counter ``iv + i * CHUNK_BLOCKS``. Every chunk carries its own HMAC over its
index and a final-chunk flag, so a truncated, reordered or spliced blob is
refused at the first chunk that is wrong. The sender also signs the SHA-256 of
the plaintext, bound to room, sender and message id. Name, type, size, key and
signature travel inside the (signed, encrypted) message envelope.
"""

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

from ..errors import BadMac, BadSignature, ParseError
from .encoding import (
    LABEL_FILE_CHUNK,
    LABEL_FILE_KEYS,
    LABEL_FILE_SIG,
    b64decode,
    b64encode,
    check_fields,
    parse_id,
    transcript,
)
from .kdf import hkdf_sha256
from .keys import verify_signature

CHUNK_SIZE = 1024 * 1024          # plaintext bytes per chunk
CHUNK_BLOCKS = CHUNK_SIZE // 16   # AES blocks per chunk
MAC_SIZE = 32
MAX_FILE_SIZE = 2 * 1024 ** 3
MAX_NAME_LENGTH = 255
MAX_FILES = 10
_FILE_FIELDS = {"blob", "name", "mime", "size", "key", "iv", "sha256", "sig"}
_MIME_RE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,127}")


@dataclass(frozen=True)
class FileRef:
    blob: str
    name: str
    mime: str
    size: int
    key: bytes
    iv: bytes
    sha256: bytes
    sig: bytes


def encode_file_ref(ref: FileRef) -> dict:
    return {"blob": ref.blob, "name": ref.name, "mime": ref.mime, "size": ref.size, "key": b64encode(ref.key),
            "iv": b64encode(ref.iv), "sha256": b64encode(ref.sha256), "sig": b64encode(ref.sig)}


def parse_file_ref(obj) -> FileRef:
    check_fields(obj, _FILE_FIELDS, "attachment")
    size = obj["size"]
    if type(size) is not int or not 1 <= size <= MAX_FILE_SIZE:
        raise ParseError(f"attachment size must be 1 to {MAX_FILE_SIZE} bytes")
    name, mime = obj["name"], obj["mime"]
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH:
        raise ParseError("attachment name must be 1 to 255 characters")
    if not isinstance(mime, str) or not _MIME_RE.fullmatch(mime):
        raise ParseError("attachment MIME type is malformed")
    return FileRef(
        blob=parse_id(obj["blob"], "attachment blob id"), name=name, mime=mime, size=size,
        key=b64decode(obj["key"], "attachment key", length=32), iv=b64decode(obj["iv"], "attachment iv", length=16),
        sha256=b64decode(obj["sha256"], "attachment digest", length=32),
        sig=b64decode(obj["sig"], "attachment signature", max_length=512))


def file_keys(file_key: bytes) -> tuple[bytes, bytes]:
    okm = hkdf_sha256(file_key, LABEL_FILE_KEYS, 64)
    return okm[:32], okm[32:]


def chunk_count(size: int) -> int:
    return max(1, -(-size // CHUNK_SIZE))


def blob_size(size: int) -> int:
    """Ciphertext bytes on the server for a file of ``size`` bytes."""
    return size + chunk_count(size) * MAC_SIZE


def chunk_iv(iv: bytes, index: int) -> bytes:
    return ((int.from_bytes(iv, "big") + index * CHUNK_BLOCKS) % (1 << 128)).to_bytes(16, "big")


def chunk_mac_prefix(index: int, final: bool, ciphertext_length: int) -> bytes:
    """What the chunk's MAC covers before its ciphertext: ``chunk_mac_input``
    is this followed by the ciphertext, so a caller holding the ciphertext
    elsewhere (in JS memory) can MAC it without joining the two in Python."""
    return transcript(LABEL_FILE_CHUNK, index.to_bytes(8, "big"), b"\x01" if final else b"\x00") + \
        ciphertext_length.to_bytes(4, "big")


MAC_PREFIX_SIZE = len(chunk_mac_prefix(0, False, 0))


def chunk_mac_input(index: int, final: bool, ciphertext: bytes) -> bytes:
    return chunk_mac_prefix(index, final, len(ciphertext)) + ciphertext


def file_signature_input(room: str, sender: str, message_id: str, sha256: bytes, size: int) -> bytes:
    return transcript(LABEL_FILE_SIG, room.encode(), sender.encode(), message_id.encode(), sha256,
                      size.to_bytes(8, "big"))


class ChunkEncryptor:
    """Feed plaintext chunks in order; each returns ``ciphertext || mac``."""

    def __init__(self, backend, file_key: bytes, iv: bytes, size: int):
        self.backend = backend
        self.enc_key, self.mac_key = file_keys(file_key)
        self.iv, self.size = iv, size
        self.count = chunk_count(size)
        self.index = 0
        self.digest = hashlib.sha256()

    def next_chunk(self, length: int) -> tuple[int, bool]:
        """Check the next chunk's plaintext length; ``(index, final)`` for it, and move on."""
        index = self.index
        if index >= self.count:
            raise ValueError(f"the file has only {self.count} chunks")
        final = index == self.count - 1
        expected = self.size - index * CHUNK_SIZE if final else CHUNK_SIZE
        if length != expected:
            raise ValueError(f"chunk {index} must be {expected} bytes, got {length}")
        self.index += 1
        return index, final

    async def encrypt(self, plaintext: bytes) -> bytes:
        index, final = self.next_chunk(len(plaintext))
        self.digest.update(plaintext)
        ct = await self.backend.aes_ctr(self.enc_key, chunk_iv(self.iv, index), plaintext)
        mac = await self.backend.hmac_sha256(self.mac_key, chunk_mac_input(index, final, ct))
        return ct + mac

    @staticmethod
    def join(pieces: list[bytes]) -> bytes:
        """One upload part from the pieces ``encrypt`` returned."""
        return b"".join(pieces)


@dataclass(frozen=True)
class UnverifiedChunk:
    """One chunk's plaintext whose own MAC passed, while the file as a whole is
    not yet checked: a truncated file, a wrong digest or a forged signature is
    only known at :meth:`ChunkDecryptor.finish`. Hold these bytes out of sight
    (the page keeps them in a Blob) and show or save nothing until ``finish``
    returns a :class:`VerifiedFile`; throw them all away if anything raises."""
    index: int
    unverified_plaintext: bytes

    @property
    def size(self) -> int:
        return len(self.unverified_plaintext)


@dataclass(frozen=True)
class VerifiedFile:
    """The receipt ``finish`` returns: every chunk, the digest and the sender's
    signature passed, so the chunks fed so far are the file the sender signed."""
    size: int
    sha256: bytes


class ChunkDecryptor:
    """Feed blob bytes as they arrive; get back :class:`UnverifiedChunk` s.

    Memory stays bounded by one chunk. Only ``finish`` verifies the file, and a
    decryptor that refused once refuses every later call.
    """

    def __init__(self, backend, ref: FileRef):
        self.backend, self.ref = backend, ref
        self.enc_key, self.mac_key = file_keys(ref.key)
        self.count = chunk_count(ref.size)
        self.index = 0
        self.buffer = bytearray()
        self.digest = hashlib.sha256()
        self.received = 0
        self._state = "open"  # then "verified" or "refused"

    def _next_length(self) -> int:
        final = self.index == self.count - 1
        return (self.ref.size - self.index * CHUNK_SIZE if final else CHUNK_SIZE) + MAC_SIZE

    def _leftover(self) -> int:
        """Bytes of a chunk begun but never completed."""
        return len(self.buffer)

    def _check_open(self) -> None:
        if self._state != "open":
            raise BadMac("this download was already " + ("refused" if self._state == "refused" else "finished"))

    async def feed(self, data: bytes) -> list[UnverifiedChunk]:
        self._check_open()
        try:
            return await self._feed(data)
        except BaseException:
            self._state = "refused"
            raise

    async def _feed(self, data: bytes) -> list[UnverifiedChunk]:
        self.received += len(data)
        if self.received > blob_size(self.ref.size):
            raise BadMac("the file is longer than its sender said: it was altered")
        self.buffer += data
        out = []
        while self.index < self.count and len(self.buffer) >= self._next_length():
            length = self._next_length()
            piece = bytes(self.buffer[:length])
            del self.buffer[:length]
            out.append(await self._open(piece))
        return out

    async def _open(self, piece: bytes) -> UnverifiedChunk:
        ct, mac = piece[:-MAC_SIZE], piece[-MAC_SIZE:]
        final = self.index == self.count - 1
        expected = await self.backend.hmac_sha256(self.mac_key, chunk_mac_input(self.index, final, ct))
        if not hmac.compare_digest(expected, mac):
            raise BadMac(f"chunk {self.index + 1} of {self.count} failed its MAC: the file was altered, "
                         "truncated or reordered")
        plaintext = await self.backend.aes_ctr(self.enc_key, chunk_iv(self.ref.iv, self.index), ct)
        self.digest.update(plaintext)
        self.index += 1
        return UnverifiedChunk(self.index - 1, plaintext)

    async def finish(self, *, room: str, sender: str, message_id: str, sender_public_key: bytes) -> VerifiedFile:
        self._check_open()
        self._state = "refused"
        if self.index != self.count or self._leftover():
            raise BadMac("the file ended early: it was truncated")
        if not hmac.compare_digest(self.digest.digest(), self.ref.sha256):
            raise BadMac("the file's SHA-256 does not match what the sender signed")
        signed = file_signature_input(room, sender, message_id, self.ref.sha256, self.ref.size)
        if not await verify_signature(self.backend, sender_public_key, signed, self.ref.sig):
            raise BadSignature("the sender's signature over the file does not verify")
        self._state = "verified"
        return VerifiedFile(self.ref.size, self.ref.sha256)


async def decrypt_file(backend, ref: FileRef, blob: bytes, *, room: str, sender: str, message_id: str,
                       sender_public_key: bytes) -> bytes:
    """The whole plaintext, returned only once every check has passed (for
    callers that can hold the file in memory: the CLI, tests)."""
    decryptor = ChunkDecryptor(backend, ref)
    chunks = await decryptor.feed(blob)
    await decryptor.finish(room=room, sender=sender, message_id=message_id, sender_public_key=sender_public_key)
    return b"".join(chunk.unverified_plaintext for chunk in chunks)


def normalize_mime(mime: str) -> str:
    """The bare type the browser reported, or ``application/octet-stream``."""
    bare = (mime or "").split(";")[0].strip().lower()
    return bare if _MIME_RE.fullmatch(bare) else "application/octet-stream"


_UNSAFE_NAME_CHARS = re.compile(r'[\\/:*?"<>|]')


def safe_file_name(name: str) -> str:
    """A name that is safe to save and to show: no path parts, no control or
    bidirectional-override characters (which can disguise ``exe.txt`` as
    ``txt.exe``), and never empty."""
    cleaned = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp"))
    cleaned = _UNSAFE_NAME_CHARS.sub("_", cleaned).strip().lstrip(".")
    return cleaned[:MAX_NAME_LENGTH] or "file"
