"""The blob store contract, run against every adapter: the local directory and
S3 (moto's standalone S3 server on loopback, a real S3 API over HTTP)."""

import os
import secrets
import time
from dataclasses import dataclass

import boto3
import pytest

from server.blobs import BlobNotFound, BlobTooLarge, LocalBlobStore
from server.blobs.s3 import MIN_PART_BYTES, S3BlobStore

PART = MIN_PART_BYTES


@dataclass
class Adapter:
    store: object
    leave_partial: object  # simulate a crash half-way through a put
    partials: object  # what a crash left behind, as the backend sees it


def _new_id() -> str:
    return secrets.token_hex(16)


@pytest.fixture(params=["local", "s3"])
async def adapter(request, tmp_path):
    if request.param == "local":
        store = LocalBlobStore(tmp_path / "blobs")

        def leave_partial(blob_id=None):
            path = store.tmp / f"{blob_id or _new_id()}.dead.part"
            path.write_bytes(b"half a blob")
            old = time.time() - 7200
            os.utime(path, (old, old))

        yield Adapter(store, leave_partial, lambda: list(store.tmp.glob("*.part")))
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        bucket = request.getfixturevalue("s3_bucket")
        store = S3BlobStore(bucket, "sealroom/blobs", endpoint_url=endpoint, region="us-east-1", part_size=PART)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")

        def leave_partial(blob_id=None):
            s3.create_multipart_upload(Bucket=bucket, Key=f"sealroom/blobs/{blob_id or _new_id()}")

        def partials():
            return s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])

        yield Adapter(store, leave_partial, partials)
    await store.close()


async def _chunks(*parts: bytes):
    for part in parts:
        yield part


async def _read_all(store, blob_id: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(blob_id)])


async def _ids(store) -> list[str]:
    return [blob_id async for blob_id in store.list_ids()]


async def test_put_then_read_returns_the_same_bytes(adapter):
    store, blob_id = adapter.store, _new_id()
    data = os.urandom(300_000)
    assert await store.put(blob_id, _chunks(data[:1000], data[1000:]), max_bytes=len(data)) == len(data)
    assert await _read_all(store, blob_id) == data
    assert await store.size(blob_id) == len(data)
    assert await _ids(store) == [blob_id]


async def test_large_blob_goes_up_in_parts_and_streams_back(adapter):
    store, blob_id = adapter.store, _new_id()
    data = os.urandom(2 * PART + 12345)  # three parts on S3
    chunks = [data[i:i + 1024 * 1024] for i in range(0, len(data), 1024 * 1024)]
    assert await store.put(blob_id, _chunks(*chunks), max_bytes=len(data)) == len(data)
    pieces = [chunk async for chunk in store.read(blob_id, chunk_size=64 * 1024)]
    assert len(pieces) > 1 and all(len(piece) <= 64 * 1024 for piece in pieces)
    assert b"".join(pieces) == data
    assert adapter.partials() == []


async def test_empty_blob_is_a_blob(adapter):
    blob_id = _new_id()
    assert await adapter.store.put(blob_id, _chunks(), max_bytes=10) == 0
    assert await _read_all(adapter.store, blob_id) == b""


async def test_oversize_upload_leaves_nothing_visible(adapter):
    store, blob_id = adapter.store, _new_id()
    with pytest.raises(BlobTooLarge):
        await store.put(blob_id, _chunks(os.urandom(PART), os.urandom(PART), b"x"), max_bytes=2 * PART)
    with pytest.raises(BlobNotFound):
        await store.size(blob_id)
    assert await _ids(store) == []
    assert adapter.partials() == []  # the multipart upload was aborted, the temp file removed


async def test_upload_that_fails_half_way_leaves_no_half_blob(adapter):
    store, blob_id = adapter.store, _new_id()

    async def broken():
        yield os.urandom(PART + 10)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await store.put(blob_id, broken(), max_bytes=10 * PART)
    with pytest.raises(BlobNotFound):
        await _read_all(store, blob_id)
    assert await _ids(store) == []
    assert adapter.partials() == []


async def test_concat_stores_the_sources_one_after_another(adapter):
    store = adapter.store
    pieces = [os.urandom(PART + 7), os.urandom(3), os.urandom(PART // 2)]
    sources = [_new_id() for _ in pieces]
    for source, piece in zip(sources, pieces):
        await store.put(source, _chunks(piece), max_bytes=len(piece))
    joined = b"".join(pieces)
    blob_id = _new_id()
    assert await store.concat(blob_id, sources, max_bytes=len(joined)) == len(joined)
    assert await _read_all(store, blob_id) == joined
    assert await _read_all(store, sources[1]) == pieces[1]  # the sources stay until deleted


@pytest.mark.parametrize("problem", ["missing source", "too large"])
async def test_concat_that_fails_leaves_no_blob(adapter, problem):
    store = adapter.store
    sources = [_new_id(), _new_id()]
    await store.put(sources[0], _chunks(os.urandom(PART + 1)), max_bytes=PART + 1)
    if problem == "too large":
        await store.put(sources[1], _chunks(b"xy"), max_bytes=2)
    blob_id = _new_id()
    with pytest.raises(BlobNotFound if problem == "missing source" else BlobTooLarge):
        await store.concat(blob_id, sources, max_bytes=PART + 2)
    with pytest.raises(BlobNotFound):
        await store.size(blob_id)
    assert blob_id not in await _ids(store)
    assert adapter.partials() == []


async def test_missing_blob_is_not_found(adapter):
    with pytest.raises(BlobNotFound):
        await _read_all(adapter.store, _new_id())
    with pytest.raises(BlobNotFound):
        await adapter.store.size(_new_id())


async def test_path_traversal_id_is_refused(adapter):
    for bad in ("../../etc/passwd", "AB" * 16, "a" * 31, ""):
        with pytest.raises(BlobNotFound):
            await adapter.store.put(bad, _chunks(b"x"), max_bytes=10)
        with pytest.raises(BlobNotFound):
            await adapter.store.size(bad)


async def test_delete_is_idempotent(adapter):
    store, blob_id = adapter.store, _new_id()
    await store.put(blob_id, _chunks(b"ciphertext"), max_bytes=100)
    await store.delete(blob_id)
    await store.delete(blob_id)
    with pytest.raises(BlobNotFound):
        await store.size(blob_id)
    assert await _ids(store) == []


async def test_list_blobs_gives_sizes_and_times(adapter):
    store = adapter.store
    sizes = {_new_id(): n for n in (1, 10, 100)}
    for blob_id, size in sizes.items():
        await store.put(blob_id, _chunks(os.urandom(size)), max_bytes=size)
    infos = [info async for info in store.list_blobs()]
    assert {info.id: info.size for info in infos} == sizes
    assert all(info.modified.tzinfo is not None for info in infos)


async def test_clean_partials_removes_what_a_crash_left(adapter):
    adapter.leave_partial()
    assert len(adapter.partials()) == 1
    await adapter.store.clean_partials(older_than=3600 if isinstance(adapter.store, LocalBlobStore) else 0)
    assert adapter.partials() == []


async def test_deleting_a_blob_also_removes_what_a_crashed_write_of_it_left(adapter):
    blob_id = _new_id()
    adapter.leave_partial(blob_id)
    adapter.leave_partial()  # another blob's: not this delete's business
    assert len(adapter.partials()) == 2
    await adapter.store.delete(blob_id)
    assert len(adapter.partials()) == 1
