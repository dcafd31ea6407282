"""HKDF-SHA-256 (RFC 5869) and the account key schedule."""

import hashlib
import hmac
import unicodedata

from .encoding import (
    LABEL_ACCOUNT_AUTH,
    LABEL_ACCOUNT_KEYSTORE,
    LABEL_ACCOUNT_SALT,
    transcript,
)

ACCOUNT_PBKDF2_ITERATIONS = 600_000


def hkdf_sha256(ikm: bytes, info: bytes, length: int, salt: bytes = b"") -> bytes:
    if length > 255 * 32:
        raise ValueError("HKDF output too long")
    prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
    output, block = b"", b""
    counter = 1
    while len(output) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        output += block
        counter += 1
    return output[:length]


def normalize_username(username: str) -> str:
    return unicodedata.normalize("NFC", username).strip().lower()


def account_salt(username: str) -> bytes:
    return transcript(LABEL_ACCOUNT_SALT, normalize_username(username).encode("utf-8"))


def account_password_bytes(password: str) -> bytes:
    return unicodedata.normalize("NFC", password).encode("utf-8")


def split_master_key(master_key: bytes) -> tuple[bytes, bytes]:
    """Return ``(auth_key, keystore_key)`` from the PBKDF2 master key.

    The server only ever sees ``auth_key``; ``keystore_key`` (which seals the
    private key) is a different HKDF output and cannot be derived from it.
    """
    auth_key = hkdf_sha256(master_key, LABEL_ACCOUNT_AUTH, 32)
    keystore_key = hkdf_sha256(master_key, LABEL_ACCOUNT_KEYSTORE, 64)
    return auth_key, keystore_key


def derive_master_key_pure(username: str, password: str) -> bytes:
    return hashlib.pbkdf2_hmac(
        "sha256", account_password_bytes(password), account_salt(username),
        ACCOUNT_PBKDF2_ITERATIONS, 32,
    )
