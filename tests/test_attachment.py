"""Chunked attachment encryption: round trip and every way a blob can be altered."""

import os

import pytest

from pyclient.crypto.pure import PureBackend
from pyclient.errors import BadMac, BadSignature, ParseError
from pyclient.protocol.attachment import (
    CHUNK_SIZE,
    MAC_PREFIX_SIZE,
    MAC_SIZE,
    ChunkDecryptor,
    ChunkEncryptor,
    FileRef,
    UnverifiedChunk,
    VerifiedFile,
    blob_size,
    chunk_iv,
    chunk_mac_input,
    chunk_mac_prefix,
    decrypt_file,
    encode_file_ref,
    file_signature_input,
    parse_file_ref,
    safe_file_name,
)
from pyclient.crypto.native import NativeBackend
from tests.helpers import fixed_keypair

ROOM, SENDER, MESSAGE = "0f" * 16, "01" * 16, "1e" * 16


async def encrypt(data: bytes, backend=None):
    backend = backend or NativeBackend()
    private_key, public_key = fixed_keypair(0)
    key, iv = os.urandom(32), os.urandom(16)
    encryptor = ChunkEncryptor(backend, key, iv, len(data))
    blob = b""
    for start in range(0, len(data), CHUNK_SIZE):
        blob += await encryptor.encrypt(data[start:start + CHUNK_SIZE])
    digest = encryptor.digest.digest()
    sig = await backend.sign(private_key, file_signature_input(ROOM, SENDER, MESSAGE, digest, len(data)))
    ref = FileRef("ab" * 16, "photo.png", "image/png", len(data), key, iv, digest, sig)
    return ref, blob, public_key


async def decrypt(ref, blob, public_key, piece=300_000) -> bytes:
    decryptor = ChunkDecryptor(NativeBackend(), ref)
    held = []
    for start in range(0, len(blob), piece):
        held += await decryptor.feed(blob[start:start + piece])
    await decryptor.finish(room=ROOM, sender=SENDER, message_id=MESSAGE, sender_public_key=public_key)
    return b"".join(chunk.unverified_plaintext for chunk in held)


@pytest.fixture(scope="module")
def data():
    return os.urandom(2 * CHUNK_SIZE + 12345)


async def test_round_trip_three_chunks(data):
    ref, blob, public_key = await encrypt(data)
    assert len(blob) == blob_size(len(data)) == len(data) + 3 * MAC_SIZE
    assert await decrypt(ref, blob, public_key) == data


async def test_exact_multiple_of_chunk_size():
    data = os.urandom(CHUNK_SIZE)
    ref, blob, public_key = await encrypt(data)
    assert await decrypt(ref, blob, public_key, piece=CHUNK_SIZE + MAC_SIZE) == data


async def test_flipped_byte_fails_the_chunk_mac(data):
    ref, blob, public_key = await encrypt(data)
    altered = bytearray(blob)
    altered[CHUNK_SIZE + 40] ^= 1
    with pytest.raises(BadMac, match="chunk 2 of 3"):
        await decrypt(ref, bytes(altered), public_key)


async def test_truncated_blob_is_detected(data):
    ref, blob, public_key = await encrypt(data)
    with pytest.raises(BadMac, match="truncated"):
        await decrypt(ref, blob[:2 * (CHUNK_SIZE + MAC_SIZE)], public_key)


async def test_truncation_at_a_chunk_boundary_with_a_forged_size_fails_the_final_flag(data):
    ref, blob, public_key = await encrypt(data)
    shorter = FileRef(ref.blob, ref.name, ref.mime, 2 * CHUNK_SIZE, ref.key, ref.iv, ref.sha256, ref.sig)
    with pytest.raises(BadMac):
        await decrypt(shorter, blob[:2 * (CHUNK_SIZE + MAC_SIZE)], public_key)


async def test_swapped_chunks_are_detected(data):
    ref, blob, public_key = await encrypt(data)
    size = CHUNK_SIZE + MAC_SIZE
    swapped = blob[size:2 * size] + blob[:size] + blob[2 * size:]
    with pytest.raises(BadMac, match="chunk 1"):
        await decrypt(ref, swapped, public_key)


async def test_pure_backend_opens_what_another_backend_sealed():
    data = os.urandom(CHUNK_SIZE // 4)
    ref, blob, public_key = await encrypt(data)
    assert await decrypt_file(PureBackend(), ref, blob, room=ROOM, sender=SENDER, message_id=MESSAGE,
                              sender_public_key=public_key) == data


async def test_forged_signature_is_refused():
    ref, blob, _ = await encrypt(b"hello")
    with pytest.raises(BadSignature):
        await decrypt(ref, blob, fixed_keypair(1)[1])


async def test_longer_blob_is_refused():
    ref, blob, public_key = await encrypt(b"hello")
    with pytest.raises(BadMac, match="longer"):
        await decrypt(ref, blob + b"x", public_key)


def test_counter_continues_across_chunks():
    assert chunk_iv(b"\xff" * 16, 1) == (CHUNK_SIZE // 16 - 1).to_bytes(16, "big")


async def test_file_ref_round_trip_and_strict_parse():
    ref, _, _ = await encrypt(b"hello")
    assert parse_file_ref(encode_file_ref(ref)) == ref
    for change in ({"size": 0}, {"mime": "not a mime"}, {"name": ""}, {"extra": 1}):
        with pytest.raises(ParseError):
            parse_file_ref({**encode_file_ref(ref), **change})


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd", "_.._etc_passwd"),
    ("report\u202egnp.exe", "reportgnp.exe"),
    ("a\x00b\nc.txt", "abc.txt"),
    ("C:\\Windows\\x.dll", "C__Windows_x.dll"),
    ("...", "file"),
    ("Ảnh chụp màn hình.png", "Ảnh chụp màn hình.png"),
])
def test_safe_file_name(name, safe):
    assert safe_file_name(name) == safe


async def test_unverified_chunks_never_pass_for_plaintext():
    """A caller cannot treat fed chunks as the file: they are wrapped and named
    unverified, and only finish() returns the receipt that the file is whole."""
    ref, blob, public_key = await encrypt(b"hello")
    decryptor = ChunkDecryptor(NativeBackend(), ref)
    (chunk,) = await decryptor.feed(blob)
    assert isinstance(chunk, UnverifiedChunk) and not isinstance(chunk, (bytes, bytearray))
    with pytest.raises(TypeError):
        b"".join([chunk])
    receipt = await decryptor.finish(room=ROOM, sender=SENDER, message_id=MESSAGE, sender_public_key=public_key)
    assert isinstance(receipt, VerifiedFile) and receipt.size == 5


async def test_forged_file_gives_no_receipt_and_the_decryptor_stays_refused():
    ref, blob, _ = await encrypt(b"hello")
    decryptor = ChunkDecryptor(NativeBackend(), ref)
    await decryptor.feed(blob)
    with pytest.raises(BadSignature):
        await decryptor.finish(room=ROOM, sender=SENDER, message_id=MESSAGE, sender_public_key=fixed_keypair(1)[1])
    for again in (decryptor.feed(b""), decryptor.finish(room=ROOM, sender=SENDER, message_id=MESSAGE,
                                                        sender_public_key=fixed_keypair(0)[1])):
        with pytest.raises(BadMac, match="already"):
            await again


async def test_decrypt_file_returns_nothing_for_a_truncated_file(data):
    ref, blob, public_key = await encrypt(data)
    with pytest.raises(BadMac):
        await decrypt_file(NativeBackend(), ref, blob[:-1], room=ROOM, sender=SENDER, message_id=MESSAGE,
                           sender_public_key=public_key)


@pytest.mark.parametrize("index, final, length", [(0, False, CHUNK_SIZE), (7, True, 12345), (2**40, True, 1)])
def test_the_mac_prefix_is_the_mac_input_before_the_ciphertext(index, final, length):
    ciphertext = os.urandom(length)
    prefix = chunk_mac_prefix(index, final, length)
    assert len(prefix) == MAC_PREFIX_SIZE
    assert prefix + ciphertext == chunk_mac_input(index, final, ciphertext)


async def test_chunks_are_checked_for_length_and_count():
    encryptor = ChunkEncryptor(NativeBackend(), os.urandom(32), os.urandom(16), CHUNK_SIZE + 5)
    with pytest.raises(ValueError):
        await encryptor.encrypt(b"x" * 5)  # the first chunk must be whole
    await encryptor.encrypt(b"x" * CHUNK_SIZE)
    piece = await encryptor.encrypt(b"x" * 5)
    assert len(piece) == 5 + MAC_SIZE
    with pytest.raises(ValueError):
        encryptor.next_chunk(5)  # no chunk past the last
