"""Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, R2, B2...).

Each blob is the object ``PREFIX/ID``. Small blobs go up in one PutObject;
larger ones in a multipart upload, which the bucket shows only once it is
completed, and which is aborted if anything fails on the way, so a crash
never leaves a half blob visible. Reads stream the object body.

Credentials come from the usual AWS variables (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``) or botocore's other
sources; the endpoint from ``SEALROOM_S3_ENDPOINT_URL``.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from .base import BLOB_ID_RE, BlobInfo, BlobNotFound, BlobTooLarge, check_blob_id

MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part, except the last
DEFAULT_PART_BYTES = 8 * 1024 * 1024


class S3ConfigError(ValueError):
    pass


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")``."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise S3ConfigError(f"{url!r} is not an S3 location; write it as s3://bucket/prefix")
    return parts.netloc, parts.path.strip("/")


def _not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 region: str | None = None, part_size: int = DEFAULT_PART_BYTES):
        if part_size < MIN_PART_BYTES:
            raise S3ConfigError(f"S3 parts must be at least {MIN_PART_BYTES} bytes")
        self.bucket = bucket
        self.prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
        self.part_size = part_size
        self._endpoint_url = endpoint_url or None
        self._region = region
        self._exit_stack = contextlib.AsyncExitStack()
        self._client = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs) -> "S3BlobStore":
        bucket, prefix = parse_s3_url(url)
        return cls(bucket, prefix, **kwargs)

    async def client(self):
        """The client is made on first use: it needs a running event loop."""
        async with self._lock:
            if self._client is None:
                config = AioConfig(
                    # Checksums only where S3 requires them: MinIO, R2 and B2
                    # do not all accept the newer default CRC headers.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    retries={"max_attempts": 3, "mode": "standard"})
                self._client = await self._exit_stack.enter_async_context(get_session().create_client(
                    "s3", endpoint_url=self._endpoint_url, region_name=self._region, config=config))
        return self._client

    def _key(self, blob_id: str) -> str:
        return self.prefix + check_blob_id(blob_id)

    async def put(self, blob_id: str, chunks: AsyncIterator[bytes], *, max_bytes: int, durable: bool = True) -> int:
        key = self._key(blob_id)
        s3 = await self.client()
        buffer = bytearray()
        size = 0
        upload_id = None
        parts = []
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise BlobTooLarge(f"blob exceeds {max_bytes} bytes")
                buffer += chunk
                while len(buffer) >= self.part_size:
                    if upload_id is None:
                        upload_id = (await s3.create_multipart_upload(Bucket=self.bucket, Key=key))["UploadId"]
                    part, buffer = bytes(buffer[:self.part_size]), buffer[self.part_size:]
                    parts.append(await self._upload_part(s3, key, upload_id, len(parts) + 1, part))
            if upload_id is None:
                await s3.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer))
                return size
            if buffer:
                parts.append(await self._upload_part(s3, key, upload_id, len(parts) + 1, bytes(buffer)))
            await s3.complete_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id,
                                               MultipartUpload={"Parts": parts})
            upload_id = None
            return size
        finally:
            if upload_id is not None:
                # Shielded: a cancelled upload must still release the parts it stored.
                await asyncio.shield(self._abort(s3, key, upload_id))

    async def concat(self, blob_id: str, sources: list[str], *, max_bytes: int) -> int:
        async def chunks():
            for source in sources:
                async for chunk in self.read(source):
                    yield chunk
        return await self.put(blob_id, chunks(), max_bytes=max_bytes)

    async def _upload_part(self, s3, key: str, upload_id: str, number: int, data: bytes) -> dict:
        response = await s3.upload_part(Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=data)
        return {"PartNumber": number, "ETag": response["ETag"]}

    async def _abort(self, s3, key: str, upload_id: str) -> None:
        with contextlib.suppress(ClientError):
            await s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)

    async def read(self, blob_id: str, chunk_size: int = 256 * 1024) -> AsyncIterator[bytes]:
        key = self._key(blob_id)
        s3 = await self.client()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _not_found(error):
                raise BlobNotFound(blob_id) from None
            raise
        body = response["Body"]
        try:
            while chunk := await body.read(chunk_size):
                yield chunk
        finally:
            body.close()

    async def size(self, blob_id: str) -> int:
        s3 = await self.client()
        try:
            return (await s3.head_object(Bucket=self.bucket, Key=self._key(blob_id)))["ContentLength"]
        except ClientError as error:
            if _not_found(error):
                raise BlobNotFound(blob_id) from None
            raise

    async def delete(self, blob_id: str) -> None:
        s3 = await self.client()
        key = self._key(blob_id)
        await s3.delete_object(Bucket=self.bucket, Key=key)
        # A multipart upload of this id that a crash left open holds its parts until aborted.
        pending = await s3.list_multipart_uploads(Bucket=self.bucket, Prefix=key)
        for upload in pending.get("Uploads", ()):
            if upload["Key"] == key:
                await self._abort(s3, key, upload["UploadId"])

    async def list_ids(self) -> AsyncIterator[str]:
        async for info in self.list_blobs():
            yield info.id

    async def list_blobs(self) -> AsyncIterator[BlobInfo]:
        s3 = await self.client()
        paginator = s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", ()):
                name = item["Key"][len(self.prefix):]
                if BLOB_ID_RE.fullmatch(name):
                    yield BlobInfo(name, item["Size"], item["LastModified"].astimezone(timezone.utc))

    async def clean_partials(self, older_than: float = 3600.0) -> int:
        """Abort multipart uploads under the prefix that a crash left open."""
        s3 = await self.client()
        cutoff = datetime.now(timezone.utc) - timedelta(seconds=older_than)
        aborted = 0
        paginator = s3.get_paginator("list_multipart_uploads")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for upload in page.get("Uploads", ()):
                if upload["Initiated"] < cutoff:
                    await self._abort(s3, upload["Key"], upload["UploadId"])
                    aborted += 1
        return aborted

    async def close(self) -> None:
        await self._exit_stack.aclose()
        self._client = None
