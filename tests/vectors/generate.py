"""Writes tests/vectors/*.json: one scenario per file (run from the repo root).

    .venv/bin/python -m tests.vectors.generate

Randomness is a seeded generator and the RSA keys come from keys.json (made
once with the ``cryptography`` library), so regenerating gives the same
files. Negative vectors are built by editing a good envelope and, where the
check under test comes after the signature, signing the edit again.
"""

import asyncio
import base64
import copy
import hashlib
import hmac
import json
import random
from dataclasses import replace
from pathlib import Path

from pyclient.crypto.pure import PureBackend
from pyclient.protocol import keystore, request_sig
from pyclient.protocol.attachment import (
    ChunkEncryptor,
    FileRef,
    chunk_mac_input,
    encode_file_ref,
    file_keys,
    file_signature_input,
)
from pyclient.protocol.envelope import encode_envelope, seal, signature_input
from pyclient.protocol.keys import fingerprint, safety_number

HERE = Path(__file__).resolve().parent
ROOM = "0f" * 16
MESSAGE_ID = "1e" * 16


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def load_keys() -> dict:
    path = HERE / "keys.json"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        keys = {}
        for index, name in enumerate(("alice", "bob", "mallory")):
            private = rsa.generate_private_key(65537, 3072)
            keys[name] = {
                "user_id": f"{index + 1:02x}" * 16,
                "private_key": b64(private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())),
                "public_key": b64(private.public_key().public_bytes(serialization.Encoding.DER,
                                                                    serialization.PublicFormat.SubjectPublicKeyInfo)),
            }
        path.write_text(json.dumps(keys, indent=2) + "\n")
    return json.loads(path.read_text())


def write(name: str, vector: dict) -> None:
    (HERE / f"{name}.json").write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n")


async def main() -> None:
    keys = load_keys()
    alice, bob, mallory = keys["alice"], keys["bob"], keys["mallory"]
    rng = random.Random(20261201)
    backend = PureBackend(random_bytes=rng.randbytes)
    raw = {name: base64.b64decode(value["private_key"]) for name, value in keys.items()}
    pub = {name: base64.b64decode(value["public_key"]) for name, value in keys.items()}
    payload = {"kind": "text", "body": "Xin chào, Bob! Hello 👋"}

    async def sealed(recipients, sender="alice", room=ROOM):
        return await seal(backend, room=room, sender=keys[sender]["user_id"], message_id=MESSAGE_ID,
                          sender_private_key=raw[sender], recipients=recipients, payload=payload,
                          random_bytes=rng.randbytes)

    async def resign(envelope, signer="alice"):
        return replace(envelope, sig=await backend.sign(raw[signer], signature_input(envelope)))

    both = {alice["user_id"]: pub["alice"], bob["user_id"]: pub["bob"]}
    good = await sealed(both)

    def envelope_vector(description, expect, envelope_obj, recipient=bob, sender=alice):
        return {"description": description, "kind": "envelope", "expect": expect, "room": ROOM,
                "recipient": recipient, "sender": {"user_id": sender["user_id"], "public_key": sender["public_key"]},
                "envelope": envelope_obj, "payload": payload}

    write("envelope_ok", envelope_vector("Alice to Bob and herself; Bob opens it.", "success", encode_envelope(good)))
    write("envelope_ok_sender_reads_own", envelope_vector(
        "The sender opens her own copy.", "success", encode_envelope(good), recipient=alice))

    flipped = bytearray(good.ct)
    flipped[0] ^= 1
    write("envelope_ciphertext_flipped", envelope_vector(
        "One ciphertext bit flipped in transit.", "bad_signature", encode_envelope(replace(good, ct=bytes(flipped)))))
    wk = bytearray(good.keys[1].wk)
    wk[5] ^= 0x80
    tampered_keys = (good.keys[0], replace(good.keys[1], wk=bytes(wk)))
    write("envelope_wrapped_key_flipped", envelope_vector(
        "One bit of Bob's wrapped key flipped in transit.", "bad_signature",
        encode_envelope(replace(good, keys=tampered_keys))))
    sig = bytearray(good.sig)
    sig[-1] ^= 1
    write("envelope_signature_flipped", envelope_vector(
        "One signature bit flipped.", "bad_signature", encode_envelope(replace(good, sig=bytes(sig)))))
    write("envelope_signed_by_impostor", envelope_vector(
        "Mallory signs an envelope that claims to come from Alice.", "bad_signature",
        encode_envelope(await resign(good, "mallory"))))
    write("envelope_other_room", envelope_vector(
        "A valid envelope replayed into another room.", "bad_signature",
        encode_envelope(await sealed(both, room="ab" * 16))))
    bad_mac = bytearray(good.mac)
    bad_mac[0] ^= 1
    write("envelope_bad_mac", envelope_vector(
        "Signed by Alice, but the MAC does not match the ciphertext.", "bad_mac",
        encode_envelope(await resign(replace(good, mac=bytes(bad_mac))))))
    only_alice = await sealed({alice["user_id"]: pub["alice"]})
    write("envelope_not_for_me", envelope_vector(
        "Bob is not among the recipients.", "wrong_key", encode_envelope(only_alice)))
    wrong_wrap = replace(good.keys[1], wk=await backend.rsa_oaep_encrypt(pub["mallory"], rng.randbytes(32)))
    write("envelope_wrapped_for_other_key", envelope_vector(
        "Bob's entry was wrapped to another key; OAEP decryption fails.", "wrong_key",
        encode_envelope(await resign(replace(good, keys=(good.keys[0], wrong_wrap))))))

    obj = encode_envelope(good)
    edits = {
        "envelope_unknown_field": ("An extra top-level field.", lambda o: o.update(extra=1)),
        "envelope_missing_field": ("The MAC is missing.", lambda o: o.pop("mac")),
        "envelope_noncanonical_base64": ("Base64 without its padding.", lambda o: o.update(mac=o["mac"].rstrip("="))),
        "envelope_short_iv": ("An IV of 8 bytes.", lambda o: o.update(iv=b64(bytes(8)))),
        "envelope_unsorted_keys": ("Wrapped keys not sorted by recipient.", lambda o: o["keys"].reverse()),
        "envelope_bad_id": ("A message id that is not 32 hex digits.", lambda o: o.update(id="not-an-id")),
    }
    for name, (description, edit) in edits.items():
        changed = copy.deepcopy(obj)
        edit(changed)
        write(name, envelope_vector(description, "parse_error", changed))
    future = copy.deepcopy(obj)
    future["v"] = 2
    write("envelope_unknown_version", envelope_vector("Version 2 envelope.", "unknown_version", future))

    # Primitives. AES-CTR: NIST SP 800-38A F.5.5 (CTR-AES256.Encrypt), and the 2**128 wrap.
    write("aes_ctr_nist_sp800_38a", {
        "description": "NIST SP 800-38A F.5.5 CTR-AES256.Encrypt", "kind": "aes_ctr", "expect": "success",
        "key": "603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4",
        "iv": "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        "plaintext": "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                     "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710",
        "ciphertext": "601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
                      "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6"})
    wrap_key, wrap_iv, wrap_plain = bytes(range(32)), bytes.fromhex("ff" * 16), bytes(48)
    write("aes_ctr_counter_wrap", {
        "description": "The 128-bit counter wraps from ff..ff to 00..00 (WebCrypto length 128, pyaes Counter).",
        "kind": "aes_ctr", "expect": "success", "key": wrap_key.hex(), "iv": wrap_iv.hex(),
        "plaintext": wrap_plain.hex(), "ciphertext": (await backend.aes_ctr(wrap_key, wrap_iv, wrap_plain)).hex()})
    write("hmac_rfc4231_case2", {
        "description": "RFC 4231 test case 2", "kind": "hmac", "expect": "success",
        "key": b"Jefe".hex(), "data": b"what do ya want for nothing?".hex(),
        "mac": "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"})
    write("hkdf_rfc5869_case1", {
        "description": "RFC 5869 test case 1", "kind": "hkdf", "expect": "success",
        "ikm": "0b" * 22, "salt": "000102030405060708090a0b0c", "info": "f0f1f2f3f4f5f6f7f8f9", "length": 42,
        "okm": "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"})
    data = b"sealroom signature vector"
    write("signature_pkcs1v15_sha256", {
        "description": "RSASSA-PKCS1-v1_5 SHA-256 is deterministic: both backends give these bytes.",
        "kind": "signature", "expect": "success", "data": data.hex(), "private_key": alice["private_key"],
        "public_key": alice["public_key"], "signature": (await backend.sign(raw["alice"], data)).hex()})
    write("keys_fingerprint_safety_number", {
        "description": "Fingerprint is SHA-256(SPKI); the 60-digit safety number is the same from both sides.",
        "kind": "keys", "expect": "success",
        "a": {"user_id": alice["user_id"], "public_key": alice["public_key"], "fingerprint": fingerprint(pub["alice"]).hex()},
        "b": {"user_id": bob["user_id"], "public_key": bob["public_key"]},
        "safety_number": safety_number(alice["user_id"], pub["alice"], bob["user_id"], pub["bob"])})
    keystore_key = hashlib.sha512(b"vector keystore key").digest()
    blob = await keystore.seal_private_key(backend, keystore_key, user_id=alice["user_id"], public_key=pub["alice"],
                                           private_key=raw["alice"], iv=rng.randbytes(16))
    keystore_vector = {"description": "Alice's private key sealed under her keystore key.", "kind": "keystore",
                       "expect": "success", "keystore_key": keystore_key.hex(), "user_id": alice["user_id"],
                       "public_key": alice["public_key"], "private_key": alice["private_key"], "blob": b64(blob)}
    write("keystore_ok", keystore_vector)
    write("keystore_wrong_password", dict(keystore_vector, description="Opened with another keystore key.",
                                          expect="bad_mac", keystore_key=hmac.new(b"x", keystore_key, "sha512").hexdigest()))
    await attachments(backend, rng, keys, raw, pub)
    await request_signature(backend, rng, alice, raw)
    write("keystore_swapped_user", dict(keystore_vector, description="A server hands Alice's sealed key to Bob.",
                                        expect="bad_mac", user_id=bob["user_id"]))


async def attachments(backend, rng, keys, raw, pub) -> None:
    alice = keys["alice"]
    plaintext = "Ảnh chụp: a tiny file in one final chunk.".encode()
    file_key, iv = rng.randbytes(32), rng.randbytes(16)
    encryptor = ChunkEncryptor(backend, file_key, iv, len(plaintext))
    blob = await encryptor.encrypt(plaintext)
    digest = encryptor.digest.digest()
    sig = await backend.sign(raw["alice"], file_signature_input(ROOM, alice["user_id"], MESSAGE_ID, digest,
                                                                len(plaintext)))
    ref = FileRef("ab" * 16, "ảnh.txt", "text/plain", len(plaintext), file_key, iv, digest, sig)
    base = {"kind": "attachment", "room": ROOM, "sender": alice["user_id"], "message_id": MESSAGE_ID,
            "sender_public_key": alice["public_key"], "file": encode_file_ref(ref), "plaintext": plaintext.hex()}
    write("attachment_ok", dict(base, description="A one-chunk file from Alice.", expect="success", blob=b64(blob)))
    write("attachment_truncated", dict(base, description="The blob lost its last byte.", expect="bad_mac",
                                       blob=b64(blob[:-1])))
    flipped = bytearray(blob)
    flipped[3] ^= 4
    write("attachment_flipped", dict(base, description="One ciphertext bit flipped.", expect="bad_mac",
                                     blob=b64(bytes(flipped))))
    write("attachment_not_final", dict(base, description="The chunk's MAC claims it is not the last one.",
                                       expect="bad_mac", blob=b64(blob[:-32] + await backend.hmac_sha256(
                                           file_keys(file_key)[1], chunk_mac_input(0, False, blob[:-32])))))
    forged = encode_file_ref(FileRef(ref.blob, ref.name, ref.mime, ref.size, ref.key, ref.iv, ref.sha256,
                                     await backend.sign(raw["mallory"], file_signature_input(
                                         ROOM, alice["user_id"], MESSAGE_ID, digest, len(plaintext)))))
    write("attachment_forged_signature", dict(base, description="Mallory signed a file in Alice's name.",
                                              expect="bad_signature", file=forged, blob=b64(blob)))
    write("attachment_bad_mime", dict(base, description="A MIME type with spaces.", expect="parse_error",
                                      file=dict(base["file"], mime="text/html; x"), blob=b64(blob)))


async def request_signature(backend, rng, alice, raw) -> None:
    path = "/api/blobs/" + "ab" * 16
    params = request_sig.new_params(alice["user_id"], 1764547200, rng.randbytes)
    digest = request_sig.content_digest(b"")
    base = request_sig.signature_base("GET", path, digest, params)
    headers = request_sig.encode_headers(params, digest, await backend.sign(raw["alice"], base))
    write("request_signature_download", {
        "description": "Alice signs a blob download (RFC 9421 shape).", "kind": "request_signature",
        "expect": "success", "method": "GET", "path": path, "headers": headers, "signature_base": base.decode(),
        "private_key": alice["private_key"], "public_key": alice["public_key"]})
    write("request_signature_lowercase_alg", {
        "description": "A Signature-Input that differs from the fixed form.", "kind": "request_signature",
        "expect": "parse_error", "method": "GET", "path": path, "signature_base": base.decode(),
        "headers": dict(headers, **{"Signature-Input": headers["Signature-Input"].replace("rsa-v1_5", "RSA-V1_5")}),
        "private_key": alice["private_key"], "public_key": alice["public_key"]})


if __name__ == "__main__":
    asyncio.run(main())
