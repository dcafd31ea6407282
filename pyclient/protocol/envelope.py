"""Message envelopes: encode, parse, seal and open (docs/protocol.md, section 4).

Sealing: a fresh 32-byte message key is split by HKDF into an AES-256-CTR key
and an HMAC-SHA-256 key; the key is wrapped with RSA-OAEP for every member
(the sender included) and the whole envelope is signed with the sender's key.
Opening runs the checks in the order the spec fixes: parse, version, context,
signature, unwrap, MAC, decrypt. Nothing is decrypted before it verifies.
"""

import hmac
from dataclasses import dataclass

from ..errors import BadMac, BadSignature, ParseError, UnknownVersion, WrongKey
from .encoding import (
    LABEL_MESSAGE_KEYS,
    LABEL_MESSAGE_MAC,
    LABEL_MESSAGE_SIG,
    PROTOCOL_VERSION,
    b64decode,
    b64encode,
    canonical_json,
    check_fields,
    parse_canonical_json,
    parse_id,
    transcript,
    u32,
)
from .attachment import MAX_FILES, parse_file_ref
from .kdf import hkdf_sha256
from .keys import fingerprint, verify_signature

ENVELOPE_TYPE = "message"
IV_BYTES = 16
MESSAGE_KEY_BYTES = 32
MAX_RECIPIENTS = 64
MAX_CIPHERTEXT_BYTES = 64 * 1024
MAX_WRAPPED_KEY_BYTES = 512
MAX_SIGNATURE_BYTES = 512
_ENVELOPE_FIELDS = {"v", "type", "room", "sender", "id", "keys", "iv", "ct", "mac", "sig"}
_KEY_FIELDS = {"to", "kfp", "wk"}


@dataclass(frozen=True)
class WrappedKey:
    to: str            # recipient user id
    kfp: bytes         # SHA-256 fingerprint of the recipient's SPKI
    wk: bytes          # RSA-OAEP(message key)


@dataclass(frozen=True)
class Envelope:
    room: str
    sender: str
    id: str
    keys: tuple[WrappedKey, ...]
    iv: bytes
    ct: bytes
    mac: bytes
    sig: bytes
    v: int = PROTOCOL_VERSION


def encode_envelope(envelope: Envelope) -> dict:
    return {
        "v": envelope.v,
        "type": ENVELOPE_TYPE,
        "room": envelope.room,
        "sender": envelope.sender,
        "id": envelope.id,
        "keys": [{"to": k.to, "kfp": b64encode(k.kfp), "wk": b64encode(k.wk)} for k in envelope.keys],
        "iv": b64encode(envelope.iv),
        "ct": b64encode(envelope.ct),
        "mac": b64encode(envelope.mac),
        "sig": b64encode(envelope.sig),
    }


def parse_envelope(obj) -> Envelope:
    """Strict structural parse; runs no crypto."""
    if not isinstance(obj, dict) or type(obj.get("v")) is not int:
        raise ParseError("envelope must be a JSON object with an integer version 'v'")
    if obj["v"] != PROTOCOL_VERSION:
        raise UnknownVersion(f"envelope version {obj['v']} is not supported")
    check_fields(obj, _ENVELOPE_FIELDS, "envelope")
    if obj["type"] != ENVELOPE_TYPE:
        raise ParseError("envelope type must be 'message'")
    keys_obj = obj["keys"]
    if not isinstance(keys_obj, list) or not 1 <= len(keys_obj) <= MAX_RECIPIENTS:
        raise ParseError(f"envelope keys must list 1 to {MAX_RECIPIENTS} recipients")
    keys = []
    for entry in keys_obj:
        check_fields(entry, _KEY_FIELDS, "wrapped key")
        keys.append(WrappedKey(
            to=parse_id(entry["to"], "wrapped key recipient"),
            kfp=b64decode(entry["kfp"], "wrapped key fingerprint", length=32),
            wk=b64decode(entry["wk"], "wrapped key", max_length=MAX_WRAPPED_KEY_BYTES),
        ))
    recipients = [k.to for k in keys]
    if recipients != sorted(set(recipients)):
        raise ParseError("envelope keys must be sorted by recipient, without duplicates")
    return Envelope(
        room=parse_id(obj["room"], "room"),
        sender=parse_id(obj["sender"], "sender"),
        id=parse_id(obj["id"], "message id"),
        keys=tuple(keys),
        iv=b64decode(obj["iv"], "iv", length=IV_BYTES),
        ct=b64decode(obj["ct"], "ciphertext", max_length=MAX_CIPHERTEXT_BYTES),
        mac=b64decode(obj["mac"], "mac", length=32),
        sig=b64decode(obj["sig"], "signature", max_length=MAX_SIGNATURE_BYTES),
    )


def message_keys(message_key: bytes) -> tuple[bytes, bytes]:
    okm = hkdf_sha256(message_key, LABEL_MESSAGE_KEYS, 64)
    return okm[:32], okm[32:]


def mac_input(room: str, sender: str, message_id: str, iv: bytes, ct: bytes) -> bytes:
    return transcript(LABEL_MESSAGE_MAC, room.encode(), sender.encode(), message_id.encode(), iv, ct)


def signature_input(envelope: Envelope) -> bytes:
    key_fields = []
    for k in envelope.keys:
        key_fields += [k.to.encode(), k.kfp, k.wk]
    return transcript(
        LABEL_MESSAGE_SIG,
        u32(envelope.v),
        envelope.room.encode(),
        envelope.sender.encode(),
        envelope.id.encode(),
        u32(len(envelope.keys)),
        *key_fields,
        envelope.iv,
        envelope.ct,
        envelope.mac,
    )


def encode_payload(payload: dict) -> bytes:
    return canonical_json(payload)


def parse_payload(data: bytes) -> dict:
    """``{"kind": "text", "body"}`` or ``{"kind": "files", "body", "files": [FileRef...]}``."""
    payload = parse_canonical_json(data, "the decrypted payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("body"), str):
        raise ParseError("decrypted payload is not a message SealRoom understands")
    if payload.get("kind") == "text":
        check_fields(payload, {"kind", "body"}, "payload")
    elif payload.get("kind") == "files":
        check_fields(payload, {"kind", "body", "files"}, "payload")
        files = payload["files"]
        if not isinstance(files, list) or not 1 <= len(files) <= MAX_FILES:
            raise ParseError(f"a message carries 1 to {MAX_FILES} attachments")
        payload["files"] = [parse_file_ref(item) for item in files]
    else:
        raise ParseError("decrypted payload is not a message SealRoom understands")
    return payload


async def seal(backend, *, room: str, sender: str, message_id: str, sender_private_key: bytes,
               recipients: dict[str, bytes], payload: dict, random_bytes) -> Envelope:
    """Encrypt ``payload`` for ``recipients`` (user id -> SPKI) and sign it."""
    if sender not in recipients:
        raise ValueError("the sender must be a recipient, to read their own history")
    message_key = random_bytes(MESSAGE_KEY_BYTES)
    iv = random_bytes(IV_BYTES)
    enc_key, mac_key = message_keys(message_key)
    ct = await backend.aes_ctr(enc_key, iv, encode_payload(payload))
    mac = await backend.hmac_sha256(mac_key, mac_input(room, sender, message_id, iv, ct))
    keys = []
    for user_id in sorted(recipients):
        spki = recipients[user_id]
        keys.append(WrappedKey(user_id, fingerprint(spki), await backend.rsa_oaep_encrypt(spki, message_key)))
    unsigned = Envelope(room, sender, message_id, tuple(keys), iv, ct, mac, b"")
    sig = await backend.sign(sender_private_key, signature_input(unsigned))
    return Envelope(room, sender, message_id, tuple(keys), iv, ct, mac, sig)


async def open_envelope(backend, envelope: Envelope, *, room: str, sender_public_key: bytes,
                        me: str, my_private_key: bytes, my_public_key: bytes) -> dict:
    """Verify, then decrypt. Raises a ``ProtocolError`` naming the failed check."""
    if envelope.room != room:
        raise BadSignature("the envelope was made for another room")
    if not await verify_signature(backend, sender_public_key, signature_input(envelope), envelope.sig):
        raise BadSignature("the sender's signature does not verify")
    mine = [k for k in envelope.keys if k.to == me]
    if not mine or mine[0].kfp != fingerprint(my_public_key):
        raise WrongKey("this message was not encrypted for your current key")
    message_key = await backend.rsa_oaep_decrypt(my_private_key, mine[0].wk)
    if len(message_key) != MESSAGE_KEY_BYTES:
        raise WrongKey("the unwrapped message key has the wrong length")
    enc_key, mac_key = message_keys(message_key)
    expected = await backend.hmac_sha256(mac_key, mac_input(envelope.room, envelope.sender, envelope.id, envelope.iv, envelope.ct))
    if not hmac.compare_digest(expected, envelope.mac):
        raise BadMac("the message MAC does not match: it was altered")
    return parse_payload(await backend.aes_ctr(enc_key, envelope.iv, envelope.ct))
