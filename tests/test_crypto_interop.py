"""The pure backend against the ``cryptography`` library, both ways."""

import os

import pytest
from cryptography.hazmat.primitives import hashes, hmac, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pyclient.crypto.pure import PureBackend
from pyclient.errors import ParseError, WrongKey
from pyclient.protocol.keys import encode_public_key, parse_private_key, parse_public_key, verify_signature
from pyclient.crypto.native import NativeBackend

OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


@pytest.fixture(scope="module")
def keypair():
    private = rsa.generate_private_key(65537, 3072)
    pkcs8 = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
    spki = private.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, pkcs8, spki


async def test_oaep_pure_encrypt_cryptography_decrypts(keypair):
    private, _, spki = keypair
    message = os.urandom(32)
    assert private.decrypt(await PureBackend().rsa_oaep_encrypt(spki, message), OAEP) == message


async def test_oaep_cryptography_encrypt_pure_decrypts(keypair):
    private, pkcs8, _ = keypair
    message = os.urandom(32)
    assert await PureBackend().rsa_oaep_decrypt(pkcs8, private.public_key().encrypt(message, OAEP)) == message


async def test_oaep_pure_refuses_pkcs1v15_ciphertext(keypair):
    private, pkcs8, _ = keypair
    ciphertext = private.public_key().encrypt(os.urandom(32), padding.PKCS1v15())
    with pytest.raises(WrongKey):
        await PureBackend().rsa_oaep_decrypt(pkcs8, ciphertext)


async def test_signature_pure_signs_cryptography_verifies(keypair):
    private, pkcs8, _ = keypair
    signature = await PureBackend().sign(pkcs8, b"data")
    private.public_key().verify(signature, b"data", padding.PKCS1v15(), hashes.SHA256())
    assert signature == private.sign(b"data", padding.PKCS1v15(), hashes.SHA256())


async def test_signature_cryptography_signs_pure_verifies(keypair):
    private, _, spki = keypair
    signature = private.sign(b"data", padding.PKCS1v15(), hashes.SHA256())
    backend = PureBackend()
    assert await backend.verify(spki, b"data", signature)
    assert not await backend.verify(spki, b"datA", signature)


async def test_aes_ctr_matches_cryptography_at_counter_wrap():
    key, iv, data = os.urandom(32), bytes.fromhex("ff" * 15 + "fe"), os.urandom(100)
    expected = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor().update(data)
    assert await PureBackend().aes_ctr(key, iv, data) == expected


async def test_hmac_matches_cryptography():
    key, data = os.urandom(32), os.urandom(1000)
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    assert await PureBackend().hmac_sha256(key, data) == mac.finalize()


async def test_generated_keys_load_in_cryptography():
    pair = await PureBackend().generate_keypair(2048)
    private = serialization.load_der_private_key(pair.private_key, None)
    assert private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) == pair.public_key
    assert parse_private_key(pair.private_key)


def test_spki_round_trip_is_canonical(keypair):
    _, _, spki = keypair
    assert encode_public_key(*parse_public_key(spki)) == spki


async def test_negative_modulus_or_oversized_signature_is_a_failed_check_not_a_crash(keypair):
    """A hostile SPKI or signature must end as "does not verify", never as the
    ValueError or OverflowError python-rsa raises on such numbers."""
    private, pkcs8, spki = keypair
    n, e = parse_public_key(spki)
    negative = encode_public_key(-n, e)
    with pytest.raises(ParseError, match="positive odd"):
        parse_public_key(negative)
    with pytest.raises(ParseError):
        parse_public_key(encode_public_key(n, 3))
    backend = PureBackend()
    signature = await backend.sign(pkcs8, b"data")
    assert not await backend.verify(negative, b"data", signature)
    assert not await backend.verify(spki, b"data", b"\xff" * len(signature))
    assert not await backend.verify(spki, b"data", signature + b"\0")
    assert await verify_signature(NativeBackend(), spki, b"data", signature)
    assert not await verify_signature(NativeBackend(), negative, b"data", signature)


# ---- the native backend (pyclient.crypto.native) against pure, on random inputs ----

from pyclient.crypto import UnknownBackend, make_backend  # noqa: E402


@pytest.fixture(scope="module")
def native_pair():
    import asyncio
    return asyncio.run(NativeBackend().generate_keypair(3072))


async def test_native_generated_keys_are_canonical_and_work_in_pure(native_pair):
    parse_private_key(native_pair.private_key)
    assert encode_public_key(*parse_public_key(native_pair.public_key)) == native_pair.public_key
    pure, native = PureBackend(), NativeBackend()
    data = os.urandom(200)
    assert await pure.sign(native_pair.private_key, data) == await native.sign(native_pair.private_key, data)
    assert await pure.verify(native_pair.public_key, data, await native.sign(native_pair.private_key, data))


async def test_native_and_pure_decrypt_each_others_oaep(native_pair):
    pure, native = PureBackend(), NativeBackend()
    message = os.urandom(32)
    wrapped = await native.rsa_oaep_encrypt(native_pair.public_key, message)
    assert await pure.rsa_oaep_decrypt(native_pair.private_key, wrapped) == message
    wrapped = await pure.rsa_oaep_encrypt(native_pair.public_key, message)
    assert await native.rsa_oaep_decrypt(native_pair.private_key, wrapped) == message


async def test_native_refuses_pkcs1v15_ciphertext_as_wrong_key(native_pair):
    public = serialization.load_der_public_key(native_pair.public_key)
    with pytest.raises(WrongKey):
        await NativeBackend().rsa_oaep_decrypt(native_pair.private_key, public.encrypt(os.urandom(32), padding.PKCS1v15()))


@pytest.mark.parametrize("iv", ["ff" * 16, "ff" * 15 + "f0", "00" * 8 + "ff" * 8, os.urandom(16).hex()])
async def test_native_aes_ctr_gives_pure_bytes_across_counter_wraps(iv):
    key, data = os.urandom(32), os.urandom(1000)
    native = await NativeBackend().aes_ctr(key, bytes.fromhex(iv), data)
    assert native == await PureBackend().aes_ctr(key, bytes.fromhex(iv), data)


async def test_native_hmac_and_pbkdf2_give_pure_bytes():
    key, data, salt = os.urandom(32), os.urandom(5000), os.urandom(16)
    pure, native = PureBackend(), NativeBackend()
    assert await native.hmac_sha256(key, data) == await pure.hmac_sha256(key, data)
    assert await native.pbkdf2_sha256(b"pw", salt, 1000, 64) == await pure.pbkdf2_sha256(b"pw", salt, 1000, 64)


async def test_native_backend_refuses_non_canonical_keys_like_pure(native_pair):
    padded = native_pair.public_key + b"\x00"
    signature = await NativeBackend().sign(native_pair.private_key, b"data")
    for backend in (PureBackend(), NativeBackend()):  # a failed check, not a crash (protocol strictness)
        assert await backend.verify(native_pair.public_key, b"data", signature)
        assert not await backend.verify(padded, b"data", signature)


def test_backend_flag_selects_pure_or_native(monkeypatch):
    assert make_backend().name == "native"
    assert make_backend("pure").name == "pure"
    monkeypatch.setenv("SEALROOM_CRYPTO", "pure")
    assert make_backend().name == "pure"
    with pytest.raises(UnknownBackend):
        make_backend("rot13")
