"""The blob store contract every adapter meets (tests/test_blob_store.py).

- ``put`` is atomic: the blob is visible whole or not at all, even if the
  process dies half-way or the size limit is hit.
- Blob ids are 32 lowercase hex digits chosen by the server at random, so an
  id reveals neither the room nor the sender.
- Only ciphertext is ever stored; the store does not know what it holds.
"""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

BLOB_ID_RE = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class BlobInfo:
    id: str
    size: int
    modified: datetime  # timezone-aware UTC


class BlobNotFound(Exception):
    pass


class BlobTooLarge(Exception):
    pass


def check_blob_id(blob_id: str) -> str:
    if not isinstance(blob_id, str) or not BLOB_ID_RE.fullmatch(blob_id):
        raise BlobNotFound(f"invalid blob id {blob_id!r}")
    return blob_id


class BlobStore(Protocol):
    async def put(self, blob_id: str, chunks: AsyncIterator[bytes], *, max_bytes: int, durable: bool = True) -> int:
        """Store the chunks under ``blob_id``; return the size in bytes.
        ``durable=False``: a power cut may lose or shorten the blob (no fsync;
        for an upload's parts, which live seconds and which ``concat`` checks)."""

    async def concat(self, blob_id: str, sources: list[str], *, max_bytes: int) -> int:
        """Store the blobs ``sources``, one after another, as ``blob_id`` (as
        atomic as ``put``); return the size. ``BlobNotFound`` if a source is
        missing, ``BlobTooLarge`` past ``max_bytes``."""

    def read(self, blob_id: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        """Yield the blob's bytes; raise ``BlobNotFound`` if it is not there."""

    async def size(self, blob_id: str) -> int:
        """The blob's size; raise ``BlobNotFound`` if it is not there."""

    async def delete(self, blob_id: str) -> None:
        """Remove the blob, and whatever an interrupted write of it left
        behind; no error if it is already gone."""

    def list_ids(self) -> AsyncIterator[str]:
        """Every complete blob's id (for the orphan sweep and backups)."""

    def list_blobs(self) -> AsyncIterator[BlobInfo]:
        """Every complete blob with its size and last-modified time."""

    async def clean_partials(self, older_than: float = 3600.0) -> int:
        """Remove what interrupted writes left behind, if older than
        ``older_than`` seconds; return how many were removed."""

    async def close(self) -> None: ...
