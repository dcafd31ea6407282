"""The key file: a user's key pairs under a passphrase (docs/protocol.md, 4.2).

A JSON object, every field required and no other allowed::

    {"v": 1, "type": "sealroom-key-export", "kdf": "pbkdf2-sha256",
     "iterations": N, "salt": b64(16), "iv": b64(16), "ct": b64, "mac": b64(32)}

    master              = PBKDF2-HMAC-SHA-256(NFC(passphrase), transcript(LABEL_KEY_EXPORT, salt), N, 32)
    enc_key || mac_key  = HKDF(master, info=LABEL_KEY_EXPORT, L=64)
    ct  = AES-256-CTR(enc_key, iv, contents)
    mac = HMAC-SHA-256(mac_key, transcript(LABEL_KEY_EXPORT_MAC, u32(v), u32(N), salt, iv, ct))

``contents`` is UTF-8 JSON, sorted keys, no spaces:
``{"keys": [{"private_key": b64(PKCS#8), "public_key": b64(SPKI)}, ...], "user_id": ID}``,
the current key pair first, then earlier ones (after rotations).
"""

import hmac
from dataclasses import dataclass

from ..errors import BadMac, ParseError, UnknownVersion
from .encoding import (
    LABEL_KEY_EXPORT,
    LABEL_KEY_EXPORT_MAC,
    PROTOCOL_VERSION,
    b64decode,
    b64encode,
    canonical_json,
    check_fields,
    parse_canonical_json,
    parse_id,
    parse_json_text,
    transcript,
    u32,
)
from .kdf import account_password_bytes, hkdf_sha256
from .keys import check_key_pair

EXPORT_TYPE = "sealroom-key-export"
EXPORT_KDF = "pbkdf2-sha256"
MIN_ITERATIONS = 600_000
MAX_ITERATIONS = 10_000_000
MAX_KEYS = 32
MAX_CONTENTS_BYTES = 256 * 1024
_FIELDS = {"v", "type", "kdf", "iterations", "salt", "iv", "ct", "mac"}


@dataclass(frozen=True)
class KeyExport:
    iterations: int
    salt: bytes
    iv: bytes
    ct: bytes
    mac: bytes
    v: int = PROTOCOL_VERSION


def encode_key_export(export: KeyExport) -> dict:
    return {"v": export.v, "type": EXPORT_TYPE, "kdf": EXPORT_KDF, "iterations": export.iterations,
            "salt": b64encode(export.salt), "iv": b64encode(export.iv), "ct": b64encode(export.ct),
            "mac": b64encode(export.mac)}


def parse_key_export(obj) -> KeyExport:
    """Strict structural parse; runs no crypto."""
    if not isinstance(obj, dict) or type(obj.get("v")) is not int:
        raise ParseError("this is not a SealRoom key file")
    if obj["v"] != PROTOCOL_VERSION:
        raise UnknownVersion(f"key file version {obj['v']} is not supported by this version of SealRoom")
    check_fields(obj, _FIELDS, "key file")
    if obj["type"] != EXPORT_TYPE or obj["kdf"] != EXPORT_KDF:
        raise ParseError("this is not a SealRoom key file")
    iterations = obj["iterations"]
    if type(iterations) is not int or not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ParseError(f"the key file's iteration count must be {MIN_ITERATIONS} to {MAX_ITERATIONS}")
    return KeyExport(iterations=iterations, salt=b64decode(obj["salt"], "salt", length=16),
                     iv=b64decode(obj["iv"], "iv", length=16),
                     ct=b64decode(obj["ct"], "key file ciphertext", max_length=MAX_CONTENTS_BYTES),
                     mac=b64decode(obj["mac"], "mac", length=32))


def parse_key_export_text(text: str) -> KeyExport:
    """The key file as the user picked it: JSON text, then :func:`parse_key_export`."""
    return parse_key_export(parse_json_text(text, "the key file"))


def encode_contents(user_id: str, pairs: list[tuple[bytes, bytes]]) -> bytes:
    """``pairs`` are ``(private_key, public_key)``, current first."""
    contents = {"keys": [{"private_key": b64encode(private), "public_key": b64encode(public)}
                         for private, public in pairs], "user_id": user_id}
    return canonical_json(contents)


def parse_contents(data: bytes) -> tuple[str, list[tuple[bytes, bytes]]]:
    obj = parse_canonical_json(data, "the key file's contents")
    check_fields(obj, {"keys", "user_id"}, "key file contents")
    keys = obj["keys"]
    if not isinstance(keys, list) or not 1 <= len(keys) <= MAX_KEYS:
        raise ParseError(f"a key file holds 1 to {MAX_KEYS} key pairs")
    pairs = []
    for entry in keys:
        check_fields(entry, {"private_key", "public_key"}, "key pair")
        private = b64decode(entry["private_key"], "private key", max_length=4096)
        public = b64decode(entry["public_key"], "public key", max_length=1024)
        check_key_pair(private, public)
        pairs.append((private, public))
    return parse_id(obj["user_id"], "user id"), pairs


def _mac_input(export: KeyExport) -> bytes:
    return transcript(LABEL_KEY_EXPORT_MAC, u32(export.v), u32(export.iterations), export.salt, export.iv, export.ct)


async def _file_keys(backend, passphrase: str, salt: bytes, iterations: int) -> tuple[bytes, bytes]:
    master = await backend.pbkdf2_sha256(account_password_bytes(passphrase), transcript(LABEL_KEY_EXPORT, salt),
                                         iterations, 32)
    okm = hkdf_sha256(master, LABEL_KEY_EXPORT, 64)
    return okm[:32], okm[32:]


async def export_keys(backend, passphrase: str, *, user_id: str, pairs: list[tuple[bytes, bytes]],
                      salt: bytes, iv: bytes, iterations: int = MIN_ITERATIONS) -> KeyExport:
    enc_key, mac_key = await _file_keys(backend, passphrase, salt, iterations)
    ct = await backend.aes_ctr(enc_key, iv, encode_contents(user_id, pairs))
    unsigned = KeyExport(iterations, salt, iv, ct, b"")
    return KeyExport(iterations, salt, iv, ct, await backend.hmac_sha256(mac_key, _mac_input(unsigned)))


async def import_keys(backend, export: KeyExport, passphrase: str) -> tuple[str, list[tuple[bytes, bytes]]]:
    """Verify, then decrypt. A wrong passphrase is ``BadMac``."""
    enc_key, mac_key = await _file_keys(backend, passphrase, export.salt, export.iterations)
    if not hmac.compare_digest(await backend.hmac_sha256(mac_key, _mac_input(export)), export.mac):
        raise BadMac("the passphrase does not open this key file, or the file was altered")
    return parse_contents(await backend.aes_ctr(enc_key, export.iv, export.ct))
