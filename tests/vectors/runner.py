"""Runs one test vector against one backend; shared by pytest and Pyodide.

Kept free of pytest and of file I/O, so the same code runs in CPython and
inside Pyodide (tests/vectors/run_in_pyodide.mjs loads it there).
"""

import base64

from pyclient.errors import ProtocolError
from pyclient.protocol import key_export, keystore, request_sig
from pyclient.protocol.attachment import ChunkDecryptor, parse_file_ref
from pyclient.protocol.envelope import open_envelope, parse_envelope
from pyclient.protocol.kdf import (
    ACCOUNT_PBKDF2_ITERATIONS,
    account_password_bytes,
    account_salt,
    hkdf_sha256,
    normalize_username,
    split_master_key,
)
from pyclient.protocol.keys import check_key_pair, fingerprint, parse_public_key, safety_number


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
    blob, held = _b(vector["blob"]), []
    for start in range(0, len(blob), 7):  # arrives in small pieces, as from the network
        held += await decryptor.feed(blob[start:start + 7])
    await decryptor.finish(room=vector["room"], sender=vector["sender"], message_id=vector["message_id"],
                           sender_public_key=_b(vector["sender_public_key"]))
    return b"".join(chunk.unverified_plaintext for chunk in held).hex() == vector["plaintext"]


async def _request_signature(vector, backend):
    params, digest, signature = request_sig.parse_headers(vector["headers"])
    base = request_sig.signature_base(vector["method"], vector["path"], digest, params)
    signs_same = (await backend.sign(_b(vector["private_key"]), base)) == signature
    verifies = await backend.verify(_b(vector["public_key"]), base, signature)
    return base.decode() == vector["signature_base"] and signs_same and verifies


async def _key_export(vector, backend):
    export = key_export.parse_key_export(vector["file"])
    user_id, pairs = await key_export.import_keys(backend, export, vector["passphrase"])
    contents = {"user_id": user_id, "keys": [{"private_key": base64.b64encode(p).decode(),
                                              "public_key": base64.b64encode(q).decode()} for p, q in pairs]}
    return contents == vector["contents"]


async def _key_pairs(vector, backend):
    for pair in vector["pairs"].values():
        check_key_pair(_b(pair["private_key"]), _b(pair["public_key"]))
    return True


async def _private_key(vector, backend):
    check_key_pair(_b(vector["private_key"]), _b(vector["public_key"]))
    return True


async def _account_salt(vector, backend):
    return (normalize_username(vector["username"]) == vector["normalized_username"]
            and account_salt(vector["username"]).hex() == vector["salt"])


async def _account_keys(vector, backend):
    salt = account_salt(vector["username"])
    master = await backend.pbkdf2_sha256(account_password_bytes(vector["password"]), salt,
                                         ACCOUNT_PBKDF2_ITERATIONS, 32)
    auth_key, keystore_key = split_master_key(master)
    return (salt.hex(), master.hex(), auth_key.hex(), keystore_key.hex()) == (
        vector["salt"], vector["master"], vector["auth_key"], vector["keystore_key"])


KINDS = {"envelope": _envelope, "aes_ctr": _aes_ctr, "hmac": _hmac, "hkdf": _hkdf,
         "signature": _signature, "keys": _keys, "keystore": _keystore, "attachment": _attachment,
         "request_signature": _request_signature, "key_export": _key_export, "key_pairs": _key_pairs,
         "private_key": _private_key, "account_salt": _account_salt, "account_keys": _account_keys}


async def run_vector(vector: dict, backend) -> str:
    """``success``, ``mismatch`` (ran but gave other bytes) or the error kind."""
    try:
        ok = await KINDS[vector["kind"]](vector, backend)
    except ProtocolError as error:
        return error.kind
    return "success" if ok else "mismatch"
