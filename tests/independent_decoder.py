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


# Section 3: keys. DER that does not re-encode identically, other sizes or
# exponents are refused; the refusal kind depends on where the key was used.
def _spki_of(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _check_rsa(key) -> None:
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    if not 2048 <= key.key_size <= 4096 or public.public_numbers().e != 65537:
        raise ValueError("RSA size or exponent")


def load_public_key(spki: bytes, kind: str = "parse_error"):
    try:
        key = serialization.load_der_public_key(spki)
        if not isinstance(key, rsa.RSAPublicKey) or _spki_of(key) != spki:
            raise ValueError("not a canonical RSA SPKI")
        _check_rsa(key)
    except (ValueError, TypeError) as error:
        raise Refused(kind, f"public key: {error}") from None
    return key


def load_private_key(pkcs8: bytes, spki: bytes):
    """A PKCS#8 RSA key that re-encodes to itself and is the half of ``spki``."""
    try:
        key = serialization.load_der_private_key(pkcs8, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("not RSA")
        again = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption())
        if again != pkcs8:
            raise ValueError("not canonical DER, or trailing bytes")
        _check_rsa(key)
    except (ValueError, TypeError) as error:
        raise Refused("parse_error", f"private key: {error}") from None
    load_public_key(spki)
    if _spki_of(key.public_key()) != spki:
        raise Refused("parse_error", "the private key is not the half of this public key")
    return key


def verify(spki: bytes, signature: bytes, data: bytes) -> None:
    public = load_public_key(spki, kind="bad_signature")
    try:
        public.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        raise Refused("bad_signature", "signature") from None


# Section 1: JSON that is encrypted and MACed must be canonical.
def canonical_json(data: bytes):
    def pairs(items):
        if len({k for k, _ in items}) != len(items):
            raise Refused("parse_error", "duplicate key")
        return dict(items)

    def no_float(text):
        raise Refused("parse_error", "not an integer")

    try:
        value = json.loads(data.decode("utf-8"), object_pairs_hook=pairs, parse_float=no_float,
                           parse_constant=no_float)
        again = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")
    except (UnicodeError, ValueError, RecursionError):
        raise Refused("parse_error", "not UTF-8 JSON") from None
    if again != data:
        raise Refused("parse_error", "not canonical JSON")
    return value


# Section 4: accounts.
def normalize_username(username: str) -> str:
    return unicodedata.normalize("NFC", username).strip().lower()


def account_salt(username: str) -> bytes:
    return transcript(ACCOUNT_SALT, normalize_username(username).encode())


def account_master(username: str, password: str) -> bytes:
    return PBKDF2HMAC(hashes.SHA256(), 32, account_salt(username), 600_000).derive(
        unicodedata.normalize("NFC", password).encode())


def account_keys(username: str, password: str) -> tuple[bytes, bytes]:
    master = account_master(username, password)
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
    load_private_key(pkcs8, spki)  # a valid MAC is not enough: it must be this public key's private half
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
    verify(sender_spki, sig, signed)
    # Step 4: unwrap.
    mine = [k for k in keys if k[0] == me]
    if not mine or mine[0][1] != fingerprint(my_spki):
        raise Refused("wrong_key", "not for me")
    try:
        message_key = load_private_key(my_pkcs8, my_spki).decrypt(mine[0][2], OAEP)
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
    payload = canonical_json(aes_ctr(okm[:32], iv, ct))
    if not isinstance(payload, dict) or not isinstance(payload.get("body"), str):
        raise Refused("parse_error", "payload")
    if payload.get("kind") == "text" and set(payload) == {"kind", "body"}:
        return payload
    if payload.get("kind") == "files" and set(payload) == {"kind", "body", "files"}:
        if not isinstance(payload["files"], list) or not 1 <= len(payload["files"]) <= 10:
            raise Refused("parse_error", "files")
        for ref in payload["files"]:
            file_reference(ref)
        return payload
    raise Refused("parse_error", "payload kind")


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
    contents = canonical_json(aes_ctr(okm[:32], iv, ct))
    if not isinstance(contents, dict) or set(contents) != {"keys", "user_id"}:
        raise Refused("parse_error", "contents")
    an_id(contents["user_id"])
    if not isinstance(contents["keys"], list) or not 1 <= len(contents["keys"]) <= 32:
        raise Refused("parse_error", "keys")
    for pair in contents["keys"]:
        if not isinstance(pair, dict) or set(pair) != {"private_key", "public_key"}:
            raise Refused("parse_error", "key pair")
        load_private_key(b64(pair["private_key"]), b64(pair["public_key"]))
    return contents


# Section 6: attachments.
FILE_FIELDS = {"blob", "name", "mime", "size", "key", "iv", "sha256", "sig"}
MIME = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,127}\Z")
CHUNK = 1 << 20
FILE_KEYS, FILE_CHUNK, FILE_SIG = b"sealroom/v1/file-keys", b"sealroom/v1/file-chunk", b"sealroom/v1/file-sig"


def u64(n: int) -> bytes:
    return struct.pack(">Q", n)


def file_reference(ref) -> dict:
    if not isinstance(ref, dict) or set(ref) != FILE_FIELDS:
        raise Refused("parse_error", "file reference fields")
    an_id(ref["blob"])
    name, mime, size = ref["name"], ref["mime"], ref["size"]
    if not isinstance(name, str) or not 1 <= len(name) <= 255:
        raise Refused("parse_error", "name")
    if not isinstance(mime, str) or not MIME.match(mime):
        raise Refused("parse_error", "mime")
    if type(size) is not int or not 1 <= size <= 1 << 31:
        raise Refused("parse_error", "size")
    return {"blob": ref["blob"], "name": name, "mime": mime, "size": size, "key": b64(ref["key"], length=32),
            "iv": b64(ref["iv"], length=16), "sha256": b64(ref["sha256"], length=32),
            "sig": b64(ref["sig"], max_length=512)}


def open_attachment(ref_obj, blob: bytes, *, room: str, sender: str, message_id: str, sender_spki: bytes) -> bytes:
    ref = file_reference(ref_obj)
    size = ref["size"]
    okm = hkdf(ref["key"], FILE_KEYS, 64)
    n = -(-size // CHUNK)
    if len(blob) != size + 32 * n:
        raise Refused("bad_mac", "blob length")
    plaintext, offset = b"", 0
    for i in range(n):
        length = min(CHUNK, size - i * CHUNK)
        ct, tag = blob[offset:offset + length], blob[offset + length:offset + length + 32]
        offset += length + 32
        final = b"\x01" if i == n - 1 else b"\x00"
        if not hmac.compare_digest(mac(okm[32:], transcript(FILE_CHUNK, u64(i), final, ct)), tag):
            raise Refused("bad_mac", f"chunk {i}")
        counter = ((int.from_bytes(ref["iv"], "big") + i * CHUNK // 16) % (1 << 128)).to_bytes(16, "big")
        plaintext += aes_ctr(okm[:32], counter, ct)
    if hashlib.sha256(plaintext).digest() != ref["sha256"]:
        raise Refused("bad_mac", "sha256")
    verify(sender_spki, ref["sig"], transcript(FILE_SIG, room.encode(), sender.encode(), message_id.encode(),
                                               ref["sha256"], u64(size)))
    return plaintext


# Section 7: signed requests. One spelling of each header.
SIGNATURE_INPUT = re.compile(
    r'sig1=(\("@method" "@path" "content-digest"\);created=(0|[1-9][0-9]{0,11});nonce="([A-Za-z0-9_-]{22})";'
    r'keyid="([0-9a-f]{32})";alg="rsa-v1_5-sha256";tag="sealroom/v1/request-sig")\Z')


def check_request(headers: dict, method: str, path: str, spki: bytes) -> str:
    """The signature base, once the headers parse and the signature verifies."""
    found = SIGNATURE_INPUT.match(headers.get("Signature-Input", ""))
    signature, digest = headers.get("Signature", ""), headers.get("Content-Digest", "")
    if not found or not (signature.startswith("sig1=:") and signature.endswith(":")):
        raise Refused("parse_error", "Signature-Input or Signature")
    if not (digest.startswith("sha-256=:") and digest.endswith(":")):
        raise Refused("parse_error", "Content-Digest")
    b64(digest[len("sha-256=:"):-1], length=32)
    signature_bytes = b64(signature[len("sig1=:"):-1], max_length=512)
    nonce = found.group(3)
    if base64.urlsafe_b64encode(base64.urlsafe_b64decode(nonce + "==")).rstrip(b"=").decode() != nonce:
        raise Refused("parse_error", "nonce has non-zero trailing bits")
    base = "\n".join([f'"@method": {method}', f'"@path": {path}', f'"content-digest": {digest}',
                      f'"@signature-params": {found.group(1)}'])
    verify(spki, signature_bytes, base.encode())
    return base
