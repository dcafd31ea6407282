"""The spec-only decoder (tests/independent_decoder.py) reaches every vector's
``expect``: every file, every kind, none skipped."""

import base64
import json

import pytest
from cryptography.hazmat.primitives import hashes, hmac as crypto_hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tests import independent_decoder as spec
from tests.test_vectors import VECTORS


def _b(text: str) -> bytes:
    return base64.b64decode(text)


def _envelope(v):
    me, sender = v["recipient"], v["sender"]
    return spec.open_envelope(v["envelope"], room=v["room"], sender_spki=_b(sender["public_key"]),
                              me=me["user_id"], my_pkcs8=_b(me["private_key"]), my_spki=_b(me["public_key"])
                              ) == v["payload"]


def _aes_ctr(v):
    return spec.aes_ctr(bytes.fromhex(v["key"]), bytes.fromhex(v["iv"]), bytes.fromhex(v["plaintext"])).hex() \
        == v["ciphertext"]


def _hmac(v):
    mac = crypto_hmac.HMAC(bytes.fromhex(v["key"]), hashes.SHA256())
    mac.update(bytes.fromhex(v["data"]))
    return mac.finalize().hex() == v["mac"] == spec.mac(bytes.fromhex(v["key"]), bytes.fromhex(v["data"])).hex()


def _hkdf(v):
    okm = HKDF(hashes.SHA256(), v["length"], salt=bytes.fromhex(v["salt"]), info=bytes.fromhex(v["info"]))
    return okm.derive(bytes.fromhex(v["ikm"])).hex() == v["okm"]


def _signature(v):
    key = spec.load_private_key(_b(v["private_key"]), _b(v["public_key"]))
    data, signature = bytes.fromhex(v["data"]), bytes.fromhex(v["signature"])
    spec.verify(_b(v["public_key"]), signature, data)
    return key.sign(data, spec.padding.PKCS1v15(), hashes.SHA256()) == signature


def _keys(v):
    a, b = v["a"], v["b"]
    spec.load_public_key(_b(a["public_key"]))
    spec.load_public_key(_b(b["public_key"]))
    same = spec.safety_number(a["user_id"], _b(a["public_key"]), b["user_id"], _b(b["public_key"]))
    return same == v["safety_number"] and spec.fingerprint(_b(a["public_key"])).hex() == a["fingerprint"]


def _keystore(v):
    return spec.open_sealed_key(bytes.fromhex(v["keystore_key"]), v["user_id"], _b(v["public_key"]),
                                _b(v["blob"])) == _b(v["private_key"])


def _attachment(v):
    return spec.open_attachment(v["file"], _b(v["blob"]), room=v["room"], sender=v["sender"],
                                message_id=v["message_id"], sender_spki=_b(v["sender_public_key"])
                                ).hex() == v["plaintext"]


def _request_signature(v):
    base = spec.check_request(v["headers"], v["method"], v["path"], _b(v["public_key"]))
    return base == v["signature_base"]


def _key_export(v):
    return spec.open_key_export(v["file"], v["passphrase"]) == v["contents"]


def _key_pairs(v):
    for pair in v["pairs"].values():
        spec.load_private_key(_b(pair["private_key"]), _b(pair["public_key"]))
    return True


def _private_key(v):
    spec.load_private_key(_b(v["private_key"]), _b(v["public_key"]))
    return True


def _account_salt(v):
    return (spec.normalize_username(v["username"]) == v["normalized_username"]
            and spec.account_salt(v["username"]).hex() == v["salt"])


def _account_keys(v):
    auth_key, keystore_key = spec.account_keys(v["username"], v["password"])
    return (spec.account_salt(v["username"]).hex(), spec.account_master(v["username"], v["password"]).hex(),
            auth_key.hex(), keystore_key.hex()) == (v["salt"], v["master"], v["auth_key"], v["keystore_key"])


KINDS = {"envelope": _envelope, "aes_ctr": _aes_ctr, "hmac": _hmac, "hkdf": _hkdf, "signature": _signature,
         "keys": _keys, "keystore": _keystore, "attachment": _attachment, "request_signature": _request_signature,
         "key_export": _key_export, "key_pairs": _key_pairs, "private_key": _private_key,
         "account_salt": _account_salt, "account_keys": _account_keys}


def _outcome(vector: dict) -> str:
    try:
        return "success" if KINDS[vector["kind"]](vector) else "mismatch"
    except spec.Refused as refusal:
        return refusal.kind


def test_every_vector_kind_is_one_the_spec_lists():
    kinds = {json.loads(p.read_text())["kind"] for p in VECTORS}
    assert kinds == set(KINDS)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_independent_decoder_reaches_the_vector_outcome(path):
    vector = json.loads(path.read_text())
    assert _outcome(vector) == vector["expect"]


async def test_a_file_of_several_chunks_from_pyclient_opens_with_the_spec_decoder():
    """The attachment vectors hold one chunk each. This covers what they cannot:
    chunk numbers above 0 in each MAC, the counter stepped per chunk (from an IV
    about to wrap), and only the last chunk marked final, as pyclient uploads them."""
    import secrets

    from pyclient.crypto.native import NativeBackend
    from pyclient.protocol.attachment import CHUNK_SIZE, MAC_SIZE, encode_file_ref
    from pyclient.transfer import upload_file
    from tests.helpers import fixed_keypair

    data = secrets.token_bytes(2 * CHUNK_SIZE + 777)
    parts = {}

    class Uploads:
        async def start(self, room_id, size):
            return "u", CHUNK_SIZE + MAC_SIZE  # one chunk per part

        async def put(self, upload_id, number, body):
            parts[number] = body

        async def complete(self, upload_id):
            return "b" * 32

        async def cancel(self, upload_id):
            raise AssertionError("nothing failed")

    async def read(start, end):
        return data[start:end]

    private_key, public_key = fixed_keypair(0)
    context = {"room": "r" * 32, "sender": "s" * 32, "message_id": "m" * 32}
    ref = await upload_file(NativeBackend(), Uploads(), read, size=len(data), key=secrets.token_bytes(32),
                            iv=b"\xff" * 16, room_id=context["room"], sender_id=context["sender"],
                            message_id=context["message_id"], signing_key=private_key, name="a.bin",
                            mime="application/octet-stream")
    assert sorted(parts) == [0, 1, 2]
    blob = b"".join(parts[number] for number in sorted(parts))
    assert spec.open_attachment(encode_file_ref(ref), blob, sender_spki=public_key, **context) == data
    swapped = parts[1] + parts[0] + parts[2]
    with pytest.raises(spec.Refused):
        spec.open_attachment(encode_file_ref(ref), swapped, sender_spki=public_key, **context)
