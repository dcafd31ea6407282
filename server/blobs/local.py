"""Blobs as files under ``DATA_DIR/blobs/``: written to a temporary name,
fsynced, then renamed into place, so a crash never leaves a half blob."""

import asyncio
import contextlib
import os
import secrets
import shutil
import time
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

from .base import BLOB_ID_RE, BlobInfo, BlobNotFound, BlobTooLarge, check_blob_id


class LocalBlobStore:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.tmp = self.root / ".tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, blob_id: str) -> Path:
        check_blob_id(blob_id)
        return self.root / blob_id[:2] / blob_id

    @contextlib.asynccontextmanager
    async def _writing(self, blob_id: str, durable: bool = True):
        """A handle to write ``blob_id`` into; the blob appears only if the block ends without an error."""
        final = self._path(blob_id)
        partial = self.tmp / f"{blob_id}.{secrets.token_hex(4)}.part"
        handle = await asyncio.to_thread(open, partial, "xb")
        try:
            yield handle
            if durable:
                await asyncio.to_thread(_flush_and_sync, handle)
            handle.close()
            final.parent.mkdir(exist_ok=True)
            os.replace(partial, final)
        except BaseException:
            with contextlib.suppress(OSError):  # closing flushes, which fails again on a full disk
                handle.close()
            partial.unlink(missing_ok=True)
            raise

    async def put(self, blob_id: str, chunks: AsyncIterator[bytes], *, max_bytes: int, durable: bool = True) -> int:
        size = 0
        async with self._writing(blob_id, durable) as handle:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise BlobTooLarge(f"blob exceeds {max_bytes} bytes")
                await asyncio.to_thread(handle.write, chunk)
        return size

    async def concat(self, blob_id: str, sources: list[str], *, max_bytes: int) -> int:
        paths = [self._path(source) for source in sources]
        async with self._writing(blob_id) as handle:
            # One thread does the whole copy: a hop to a thread per 256 KiB
            # cost more than the copy itself.
            return await asyncio.to_thread(_append_files, handle, paths, max_bytes)

    async def read(self, blob_id: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        path = self._path(blob_id)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    async def size(self, blob_id: str) -> int:
        try:
            return self._path(blob_id).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(blob_id) from None

    async def delete(self, blob_id: str) -> None:
        self._path(blob_id).unlink(missing_ok=True)
        for partial in self.tmp.glob(f"{blob_id}.*.part"):  # a write of it cut short by a crash
            partial.unlink(missing_ok=True)

    async def list_ids(self) -> AsyncIterator[str]:
        async for info in self.list_blobs():
            yield info.id

    async def list_blobs(self) -> AsyncIterator[BlobInfo]:
        paths = await asyncio.to_thread(lambda: sorted(self.root.glob("??/*")))  # may be a long listing
        for path in paths:
            if BLOB_ID_RE.fullmatch(path.name):
                try:
                    stat = path.stat()
                except FileNotFoundError:  # deleted since the listing
                    continue
                yield BlobInfo(path.name, stat.st_size, datetime.fromtimestamp(stat.st_mtime, timezone.utc))

    async def clean_partials(self, older_than: float = 3600.0) -> int:
        """Remove temporary files a crash left behind; returns how many.

        Only old ones: another process may be writing a recent one.
        """
        removed = 0
        cutoff = time.time() - older_than
        for path in self.tmp.glob("*.part"):
            if path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    async def close(self) -> None:
        pass


def _append_files(handle, paths: list[Path], max_bytes: int) -> int:
    size = 0
    for path in paths:
        try:
            source = open(path, "rb")
        except FileNotFoundError:
            raise BlobNotFound(path.name) from None
        with source:
            size += os.fstat(source.fileno()).st_size
            if size > max_bytes:
                raise BlobTooLarge(f"blob exceeds {max_bytes} bytes")
            shutil.copyfileobj(source, handle, 1024 * 1024)
    return size


def _flush_and_sync(handle) -> None:
    handle.flush()
    os.fsync(handle.fileno())
