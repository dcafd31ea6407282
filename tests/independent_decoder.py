"""A second SealRoom decoder, written from docs/protocol.md alone.

It imports nothing from ``pyclient``: every formula here is read off the spec
and computed with the ``cryptography`` library. If it cannot open what the
browser made, the spec or the client is wrong. Test-only code.
"""

import base64
import binascii
import hashlib
import hmac
import json
import re
import struct
import unicodedata

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

# Section 1: labels.
MESSAGE_KEYS = b"sealroom/v1/message-keys"
MESSAGE_MAC = b"sealroom/v1/message-mac"
MESSAGE_SIG = b"sealroom/v1/message-sig"
ACCOUNT_SALT = b"sealroom/v1/account-salt"
ACCOUNT_AUTH = b"sealroom/v1/account-auth"
ACCOUNT_KEYSTORE = b"sealroom/v1/account-keystore"
KEYSTORE_MAC = b"sealroom/v1/keystore-mac"
SAFETY_NUMBER = b"sealroom/v1/safety-number"
KEY_EXPORT_KDF = b"sealroom/v1/key-export"
KEY_EXPORT_MAC = b"sealroom/v1/key-export-mac"

ID = re.compile(r"[0-9a-f]{32}\Z")
OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class Refused(Exception):
    """``kind`` is the spec's name for the failed check."""

    def __init__(self, kind: str, why: str):
        super().__init__(f"{kind}: {why}")
        self.kind = kind


def u32(n: int) -> bytes:
    return struct.pack(">I", n)


def transcript(label: bytes, *fields: bytes) -> bytes:
    return u32(len(label)) + label + b"".join(u32(len(f)) + f for f in fields)


def b64(text, length=None, max_length=None) -> bytes:
    if not isinstance(text, str):
        raise Refused("parse_error", "base64 field is not a string")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refused("parse_error", "bad base64") from None
    if base64.b64encode(data).decode() != text:
        raise Refused("parse_error", "non-canonical base64")
    if (length is not None and len(data) != length) or (max_length is not None and len(data) > max_length):
        raise Refused("parse_error", "base64 field has the wrong length")
    return data


def an_id(value) -> str:
    if not isinstance(value, str) or not ID.match(value):
        raise Refused("parse_error", "bad id")
    return value


def hkdf(ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(hashes.SHA256(), length, salt=b"\x00" * 32, info=info).derive(ikm)


def aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    # cryptography's CTR increments the whole 128-bit block, as section 2 requires.
    decryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def mac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


# Section 4: accounts.
def account_keys(username: str, password: str) -> tuple[bytes, bytes]:
    name = unicodedata.normalize("NFC", username).strip().lower().encode()
    salt = transcript(ACCOUNT_SALT, name)
    master = PBKDF2HMAC(hashes.SHA256(), 32, salt, 600_000).derive(unicodedata.normalize("NFC", password).encode())
    return hkdf(master, ACCOUNT_AUTH, 32), hkdf(master, ACCOUNT_KEYSTORE, 64)


# Section 4.1: sealed private key.
def open_sealed_key(keystore_key: bytes, user_id: str, spki: bytes, blob: bytes) -> bytes:
    if not blob.startswith(b"SRK1") or len(blob) < 4 + 16 + 32 + 1:
        raise Refused("parse_error", "not a sealed key")
    iv, ct, tag = blob[4:20], blob[20:-32], blob[-32:]
    expected = mac(keystore_key[32:], transcript(KEYSTORE_MAC, user_id.encode(), spki, iv, ct))
    if not hmac.compare_digest(expected, tag):
        raise Refused("bad_mac", "sealed key MAC")
    pkcs8 = aes_ctr(keystore_key[:32], iv, ct)
    serialization.load_der_private_key(pkcs8, password=None)  # must be a usable PKCS#8 key
    return pkcs8


# Section 3: fingerprints and safety numbers.
def fingerprint(spki: bytes) -> bytes:
    return hashlib.sha256(spki).digest()


def safety_half(user_id: str, spki: bytes) -> str:
    digest = hashlib.sha512(SAFETY_NUMBER + b"\x00" + spki + user_id.encode()).digest()
    for _ in range(5200):
        digest = hashlib.sha512(digest + spki).digest()
    return "".join(f"{int.from_bytes(digest[i:i + 5], 'big') % 100000:05d}" for i in range(0, 30, 5))


def safety_number(user_a: str, spki_a: bytes, user_b: str, spki_b: bytes) -> str:
    halves = sorted([(user_a, safety_half(user_a, spki_a)), (user_b, safety_half(user_b, spki_b))])
    return halves[0][1] + halves[1][1]


# Section 5: envelopes.
FIELDS = {"v", "type", "room", "sender", "id", "keys", "iv", "ct", "mac", "sig"}


def open_envelope(obj, *, room: str, sender_spki: bytes, me: str, my_pkcs8: bytes, my_spki: bytes) -> dict:
    # 5.2 step 1: strict parse.
    if not isinstance(obj, dict) or type(obj.get("v")) is not int:
        raise Refused("parse_error", "no integer version")
    if obj["v"] != 1:
        raise Refused("unknown_version", str(obj["v"]))
    if set(obj) != FIELDS or obj["type"] != "message":
        raise Refused("parse_error", "fields")
    entries = obj["keys"]
    if not isinstance(entries, list) or not 1 <= len(entries) <= 64:
        raise Refused("parse_error", "keys")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or set(entry) != {"to", "kfp", "wk"}:
            raise Refused("parse_error", "key entry")
        keys.append((an_id(entry["to"]), b64(entry["kfp"], length=32), b64(entry["wk"], max_length=512)))
    if [k[0] for k in keys] != sorted({k[0] for k in keys}):
        raise Refused("parse_error", "keys not sorted")
    env_room, sender, message_id = an_id(obj["room"]), an_id(obj["sender"]), an_id(obj["id"])
    iv, ct = b64(obj["iv"], length=16), b64(obj["ct"], max_length=65536)
    tag, sig = b64(obj["mac"], length=32), b64(obj["sig"], max_length=512)
    # Step 2: context.
    if env_room != room:
        raise Refused("bad_signature", "other room")
    # Step 3: signature.
    fields = [u32(1), env_room.encode(), sender.encode(), message_id.encode(), u32(len(keys))]
    for to, kfp, wk in keys:
        fields += [to.encode(), kfp, wk]
    signed = transcript(MESSAGE_SIG, *fields, iv, ct, tag)
    public = serialization.load_der_public_key(sender_spki)
    if not isinstance(public, rsa.RSAPublicKey):
        raise Refused("bad_signature", "not RSA")
    try:
        public.verify(sig, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise Refused("bad_signature", "signature") from None
    # Step 4: unwrap.
    mine = [k for k in keys if k[0] == me]
    if not mine or mine[0][1] != fingerprint(my_spki):
        raise Refused("wrong_key", "not for me")
    try:
        message_key = serialization.load_der_private_key(my_pkcs8, password=None).decrypt(mine[0][2], OAEP)
    except ValueError:
        raise Refused("wrong_key", "OAEP") from None
    if len(message_key) != 32:
        raise Refused("wrong_key", "key length")
    okm = hkdf(message_key, MESSAGE_KEYS, 64)
    # Step 5: MAC.
    expected = mac(okm[32:], transcript(MESSAGE_MAC, env_room.encode(), sender.encode(), message_id.encode(), iv, ct))
    if not hmac.compare_digest(expected, tag):
        raise Refused("bad_mac", "MAC")
    # Step 6: decrypt and parse.
    try:
        payload = json.loads(aes_ctr(okm[:32], iv, ct).decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise Refused("parse_error", "payload") from None
    if not isinstance(payload, dict) or payload.get("kind") != "text" or not isinstance(payload.get("body"), str):
        raise Refused("parse_error", "payload kind")
    return payload


# Section 4.2: the key file.
EXPORT_FIELDS = {"v", "type", "kdf", "iterations", "salt", "iv", "ct", "mac"}


def open_key_export(obj, passphrase: str) -> dict:
    if not isinstance(obj, dict) or type(obj.get("v")) is not int:
        raise Refused("parse_error", "no integer version")
    if obj["v"] != 1:
        raise Refused("unknown_version", str(obj["v"]))
    if set(obj) != EXPORT_FIELDS or obj["type"] != "sealroom-key-export" or obj["kdf"] != "pbkdf2-sha256":
        raise Refused("parse_error", "fields")
    iterations = obj["iterations"]
    if type(iterations) is not int or not 600_000 <= iterations <= 10_000_000:
        raise Refused("parse_error", "iterations")
    salt, iv = b64(obj["salt"], length=16), b64(obj["iv"], length=16)
    ct, tag = b64(obj["ct"], max_length=256 * 1024), b64(obj["mac"], length=32)
    master = PBKDF2HMAC(hashes.SHA256(), 32, transcript(KEY_EXPORT_KDF, salt), iterations).derive(
        unicodedata.normalize("NFC", passphrase).encode())
    okm = hkdf(master, KEY_EXPORT_KDF, 64)
    if not hmac.compare_digest(mac(okm[32:], transcript(KEY_EXPORT_MAC, u32(1), u32(iterations), salt, iv, ct)), tag):
        raise Refused("bad_mac", "key file MAC")
    contents = json.loads(aes_ctr(okm[:32], iv, ct).decode("utf-8"))
    if set(contents) != {"keys", "user_id"}:
        raise Refused("parse_error", "contents")
    for pair in contents["keys"]:
        private = serialization.load_der_private_key(b64(pair["private_key"]), password=None)
        spki = private.public_key().public_bytes(serialization.Encoding.DER,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        if spki != b64(pair["public_key"]):
            raise Refused("parse_error", "private and public key do not match")
    return contents
