"""Runs one test vector against one backend; shared by pytest and Pyodide.

Kept free of pytest and of file I/O, so the same code runs in CPython and
inside Pyodide (tests/vectors/run_in_pyodide.mjs loads it there).
"""

import base64

from pyclient.errors import ProtocolError
from pyclient.protocol import keystore, request_sig
from pyclient.protocol.attachment import ChunkDecryptor, parse_file_ref
from pyclient.protocol.envelope import open_envelope, parse_envelope
from pyclient.protocol.kdf import hkdf_sha256
from pyclient.protocol.keys import fingerprint, parse_public_key, safety_number


def _b(text: str) -> bytes:
    return base64.b64decode(text)


async def _envelope(vector, backend):
    me, sender = vector["recipient"], vector["sender"]
    envelope = parse_envelope(vector["envelope"])
    payload = await open_envelope(
        backend, envelope, room=vector["room"], sender_public_key=_b(sender["public_key"]),
        me=me["user_id"], my_private_key=_b(me["private_key"]), my_public_key=_b(me["public_key"]))
    return payload == vector["payload"]


async def _aes_ctr(vector, backend):
    out = await backend.aes_ctr(bytes.fromhex(vector["key"]), bytes.fromhex(vector["iv"]), bytes.fromhex(vector["plaintext"]))
    return out.hex() == vector["ciphertext"]


async def _hmac(vector, backend):
    return (await backend.hmac_sha256(bytes.fromhex(vector["key"]), bytes.fromhex(vector["data"]))).hex() == vector["mac"]


async def _hkdf(vector, backend):
    okm = hkdf_sha256(bytes.fromhex(vector["ikm"]), bytes.fromhex(vector["info"]), vector["length"],
                      salt=bytes.fromhex(vector["salt"]))
    return okm.hex() == vector["okm"]


async def _signature(vector, backend):
    data, key = bytes.fromhex(vector["data"]), _b(vector["private_key"])
    same = (await backend.sign(key, data)).hex() == vector["signature"]
    verifies = await backend.verify(_b(vector["public_key"]), data, bytes.fromhex(vector["signature"]))
    return same and verifies


async def _keys(vector, backend):
    a, b = vector["a"], vector["b"]
    for user in (a, b):
        parse_public_key(_b(user["public_key"]))
    number = safety_number(a["user_id"], _b(a["public_key"]), b["user_id"], _b(b["public_key"]))
    return number == vector["safety_number"] and fingerprint(_b(a["public_key"])).hex() == a["fingerprint"]


async def _keystore(vector, backend):
    private_key = await keystore.open_private_key(
        backend, bytes.fromhex(vector["keystore_key"]), user_id=vector["user_id"],
        public_key=_b(vector["public_key"]), blob=_b(vector["blob"]))
    return private_key == _b(vector["private_key"])


async def _attachment(vector, backend):
    ref = parse_file_ref(vector["file"])
    decryptor = ChunkDecryptor(backend, ref)
    plaintext = b"".join(await decryptor.feed(_b(vector["blob"])))
    await decryptor.finish(room=vector["room"], sender=vector["sender"], message_id=vector["message_id"],
                           sender_public_key=_b(vector["sender_public_key"]))
    return plaintext.hex() == vector["plaintext"]


async def _request_signature(vector, backend):
    params, digest, signature = request_sig.parse_headers(vector["headers"])
    base = request_sig.signature_base(vector["method"], vector["path"], digest, params)
    signs_same = (await backend.sign(_b(vector["private_key"]), base)) == signature
    verifies = await backend.verify(_b(vector["public_key"]), base, signature)
    return base.decode() == vector["signature_base"] and signs_same and verifies


KINDS = {"envelope": _envelope, "aes_ctr": _aes_ctr, "hmac": _hmac, "hkdf": _hkdf,
         "signature": _signature, "keys": _keys, "keystore": _keystore, "attachment": _attachment,
         "request_signature": _request_signature}


async def run_vector(vector: dict, backend) -> str:
    """``success``, ``mismatch`` (ran but gave other bytes) or the error kind."""
    try:
        ok = await KINDS[vector["kind"]](vector, backend)
    except ProtocolError as error:
        return error.kind
    return "success" if ok else "mismatch"
