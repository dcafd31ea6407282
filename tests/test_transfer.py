"""The upload pipeline the page and the CLI share, against an upload API that
records what it was sent (CPython, no server: the real API is covered by
tests/test_blobs_api.py and the browser and CLI tests)."""

import asyncio
import secrets

import pytest

from pyclient.crypto.native import NativeBackend
from pyclient.crypto.pure import PureBackend
from pyclient.protocol.attachment import CHUNK_SIZE, blob_size, decrypt_file
from pyclient.transfer import upload_file
from tests.helpers import fixed_keypair

PART_SIZE = 3 * (CHUNK_SIZE + 32)  # three encrypted chunks per part


class RecordingUploads:
    def __init__(self, fail_part: int | None = None):
        self.events, self.parts, self.fail_part = [], {}, fail_part

    async def start(self, room_id, size):
        self.events.append(("start", room_id, size))
        return "u1", PART_SIZE

    async def put(self, upload_id, number, body):
        self.events.append(("put", number, len(body)))
        if number == self.fail_part:
            raise ConnectionError("the network went away")
        self.parts[number] = body

    async def complete(self, upload_id):
        self.events.append(("complete", upload_id))
        return "b" * 32

    async def cancel(self, upload_id):
        self.events.append(("cancel", upload_id))


async def _send(uploads, data: bytes, backend=None, **extra):
    async def read_chunk(start, end):
        return data[start:end]

    private_key, _ = fixed_keypair(0)
    return await upload_file(backend or PureBackend(), uploads, read_chunk, size=len(data), key=secrets.token_bytes(32),
                             iv=secrets.token_bytes(16), room_id="r" * 32, sender_id="s" * 32, message_id="m" * 32,
                             signing_key=private_key, name="notes.txt", mime="text/plain", **extra)


async def test_the_parts_make_a_blob_that_verifies_and_decrypts_to_the_file():
    data = secrets.token_bytes(7 * CHUNK_SIZE + 123)
    uploads, progress = RecordingUploads(), []
    ref = await _send(uploads, data, progress=progress.append)
    assert [event[0] for event in uploads.events] == ["start", "put", "put", "put", "complete"]
    assert uploads.events[0][2] == blob_size(len(data))
    blob = b"".join(uploads.parts[number] for number in sorted(uploads.parts))
    assert len(blob) == blob_size(len(data)) and progress[-1] == len(blob)
    opened = await decrypt_file(PureBackend(), ref, blob, room="r" * 32, sender="s" * 32, message_id="m" * 32,
                                sender_public_key=fixed_keypair(0)[1])
    assert opened == data


async def test_a_failed_part_cancels_the_upload_and_raises():
    uploads = RecordingUploads(fail_part=1)
    with pytest.raises(ConnectionError):
        await _send(uploads, secrets.token_bytes(7 * CHUNK_SIZE))
    assert uploads.events[-1] == ("cancel", "u1") and ("complete", "u1") not in uploads.events


async def test_a_stop_between_chunks_cancels_before_anything_completes():
    uploads, calls = RecordingUploads(), []

    def before_chunk():
        calls.append(1)
        if len(calls) == 4:
            raise KeyboardInterrupt  # the person pressed cancel

    with pytest.raises(KeyboardInterrupt):
        await _send(uploads, secrets.token_bytes(7 * CHUNK_SIZE), before_chunk=before_chunk)
    assert uploads.events[-1] == ("cancel", "u1") and ("complete", "u1") not in uploads.events


class OverlappingUploads(RecordingUploads):
    """Takes two parts at once, as the page's uploads do."""
    parts_at_once = 2

    def __init__(self, fail_part: int | None = None):
        super().__init__(fail_part)
        self.open = self.most = 0

    async def put(self, upload_id, number, body):
        self.open += 1
        self.most = max(self.most, self.open)
        try:
            await asyncio.sleep(0.05)
            await super().put(upload_id, number, body)
        finally:
            self.open -= 1


async def test_two_parts_at_once_still_make_the_file():
    data = secrets.token_bytes(10 * CHUNK_SIZE + 5)
    uploads, progress = OverlappingUploads(), []
    ref = await _send(uploads, data, NativeBackend(), progress=progress.append)
    assert uploads.most == 2 and sorted(uploads.parts) == [0, 1, 2, 3]
    assert progress == sorted(progress) and progress[-1] == blob_size(len(data))
    blob = b"".join(uploads.parts[number] for number in sorted(uploads.parts))
    opened = await decrypt_file(NativeBackend(), ref, blob, room="r" * 32, sender="s" * 32, message_id="m" * 32,
                                sender_public_key=fixed_keypair(0)[1])
    assert opened == data


async def test_with_two_parts_at_once_a_failed_part_cancels_the_other_and_the_upload():
    uploads = OverlappingUploads(fail_part=1)
    with pytest.raises(ConnectionError):
        await _send(uploads, secrets.token_bytes(10 * CHUNK_SIZE), NativeBackend())
    assert uploads.events[-1] == ("cancel", "u1") and ("complete", "u1") not in uploads.events
    assert uploads.open == 0  # no part left running
