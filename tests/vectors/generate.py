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
import unicodedata
from dataclasses import replace
from pathlib import Path

import rsa
import rsa.prime

from pyclient.crypto.pure import PureBackend
from pyclient.protocol import key_export, keystore, request_sig
from pyclient.protocol.attachment import (
    ChunkEncryptor,
    FileRef,
    chunk_mac_input,
    encode_file_ref,
    file_keys,
    file_signature_input,
)
from pyclient.protocol.encoding import LABEL_ACCOUNT_SALT, transcript
from pyclient.protocol.envelope import (
    Envelope,
    WrappedKey,
    encode_envelope,
    mac_input,
    message_keys,
    seal,
    signature_input,
)
from pyclient.protocol.kdf import ACCOUNT_PBKDF2_ITERATIONS, split_master_key
from pyclient.protocol.keys import (
    encode_private_key,
    encode_public_key,
    fingerprint,
    parse_private_key,
    parse_public_key,
    safety_number,
)

HERE = Path(__file__).resolve().parent
ROOM = "0f" * 16
MESSAGE_ID = "1e" * 16


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def load_keys() -> dict:
    """The three key pairs every other vector uses. keys.json is itself a vector
    (kind ``key_pairs``): each private key must parse and match its public key."""
    path = HERE / "keys.json"
    if not path.exists():
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa as rsa_lib
        pairs = {}
        for index, name in enumerate(("alice", "bob", "mallory")):
            private = rsa_lib.generate_private_key(65537, 3072)
            pairs[name] = {
                "user_id": f"{index + 1:02x}" * 16,
                "private_key": b64(private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption())),
                "public_key": b64(private.public_key().public_bytes(serialization.Encoding.DER,
                                                                    serialization.PublicFormat.SubjectPublicKeyInfo)),
            }
        write("keys", {"description": "The RSA-3072 key pairs (made with the cryptography library) that the "
                                      "other vectors use; each private key is the half of its public key.",
                       "kind": "key_pairs", "expect": "success", "pairs": pairs})
    return json.loads(path.read_text())["pairs"]


def deterministic_rsa_key(rng: random.Random, bits: int, e: int) -> tuple[bytes, bytes]:
    """A (weak, on purpose) RSA key from the seeded generator, as (PKCS#8, SPKI)."""
    def prime(nbits):
        while True:
            candidate = rng.getrandbits(nbits) | (3 << (nbits - 2)) | 1
            if (candidate - 1) % e and rsa.prime.is_prime(candidate):
                return candidate
    while True:
        p, q = prime(bits // 2), prime(bits // 2)
        if p != q:
            break
    lcm = (p - 1) * (q - 1) // rsa.prime.gcd(p - 1, q - 1)
    key = rsa.PrivateKey(p * q, e, pow(e, -1, lcm), p, q)
    return encode_private_key(key.save_pkcs1("DER")), encode_public_key(p * q, e)


def write(name: str, vector: dict) -> None:
    (HERE / f"{name}.json").write_text(json.dumps(vector, indent=2, ensure_ascii=False) + "\n")


async def main() -> None:
    keys = load_keys()
    alice, bob = keys["alice"], keys["bob"]
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

    # The key file (4.2): Alice's current key and one earlier key, under a passphrase.
    passphrase = "Đây là một cụm mật khẩu dài"
    pairs = [(raw["alice"], pub["alice"]), (raw["mallory"], pub["mallory"])]
    export = await key_export.export_keys(backend, passphrase, user_id=alice["user_id"], pairs=pairs,
                                          salt=rng.randbytes(16), iv=rng.randbytes(16))
    export_vector = {"description": "Alice's key file: current key pair first, then an earlier one.",
                     "kind": "key_export", "expect": "success", "passphrase": passphrase,
                     "file": key_export.encode_key_export(export),
                     "contents": {"user_id": alice["user_id"],
                                  "keys": [{"private_key": b64(p), "public_key": b64(q)} for p, q in pairs]}}
    write("key_export_ok", export_vector)
    write("key_export_wrong_passphrase", dict(export_vector, description="Opened with another passphrase.",
                                              expect="bad_mac", passphrase=passphrase + "!"))
    weak = dict(export_vector["file"], iterations=1000)
    write("key_export_too_few_iterations", dict(export_vector, file=weak, expect="parse_error",
                                                description="1000 PBKDF2 iterations: refused before any work."))
    write("key_export_unknown_field", dict(export_vector, file=dict(export_vector["file"], hint="pet's name"),
                                           expect="parse_error", description="An extra field."))
    write("key_export_unknown_version", dict(export_vector, file=dict(export_vector["file"], v=2),
                                             expect="unknown_version", description="A version 2 key file."))
    await strictness(backend, keys, raw, pub)


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
    write("request_signature_uppercase_alg", {
        "description": "The algorithm name in upper case (RSA-V1_5-sha256): the form is fixed, so it is refused.",
        "kind": "request_signature", "expect": "parse_error", "method": "GET", "path": path,
        "signature_base": base.decode(),
        "headers": dict(headers, **{"Signature-Input": headers["Signature-Input"].replace("rsa-v1_5", "RSA-V1_5")}),
        "private_key": alice["private_key"], "public_key": alice["public_key"]})

    async def variant(name, description, params_text=None, digest_text=None, signature_text=None):
        """A header set a lax parser would accept, signed again so that only the
        strict form rejects it."""
        signature_input = params_text or headers["Signature-Input"]
        resigned = base.decode().replace(headers["Signature-Input"][len("sig1="):], signature_input[len("sig1="):])
        if digest_text:
            resigned = resigned.replace(digest, digest_text)
        signature = await backend.sign(raw["alice"], resigned.encode())
        write(name, {"description": description, "kind": "request_signature", "expect": "parse_error",
                     "method": "GET", "path": path, "signature_base": resigned,
                     "headers": {"Content-Digest": digest_text or digest, "Signature-Input": signature_input,
                                 "Signature": signature_text or "sig1=:" + b64(signature) + ":"},
                     "private_key": alice["private_key"], "public_key": alice["public_key"]})

    b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    nonce = params.nonce
    odd_nonce = nonce[:-1] + b64url[b64url.index(nonce[-1]) | 1]
    await variant("request_signature_nonce_trailing_bits", "The nonce's last character sets bits beyond its 16 "
                  "bytes: the same nonce spelled another way, which would dodge the replay check.",
                  params_text=headers["Signature-Input"].replace(nonce, odd_nonce))
    await variant("request_signature_created_leading_zero", "created=01764547200: a leading zero.",
                  params_text=headers["Signature-Input"].replace("created=", "created=0"))
    await variant("request_signature_stray_padding", "The Signature value has a stray '=' after its base64.",
                  signature_text=headers["Signature"][:-1] + "=:")
    b64std = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    digest_value = digest[len("sha-256=:"):-2]
    odd_digest = "sha-256=:" + digest_value[:-1] + b64std[b64std.index(digest_value[-1]) | 1] + "=:"
    await variant("request_signature_digest_trailing_bits", "The Content-Digest base64 has non-zero trailing bits.",
                  digest_text=odd_digest)


async def strictness(backend, keys, raw, pub) -> None:
    """Negative vectors for the strict parsing rules of spec sections 1, 3 and 4.
    A generator of its own, so the vectors made before stay byte for byte."""
    rng = random.Random(20261202)
    alice, bob = keys["alice"], keys["bob"]

    # Section 3: private keys.
    def private_vector(name, description, expect, private_key, public_key):
        write(name, {"description": description, "kind": "private_key", "expect": expect,
                     "private_key": b64(private_key), "public_key": b64(public_key)})

    private_vector("private_key_ok", "Alice's PKCS#8 key and her SPKI.", "success", raw["alice"], pub["alice"])
    pkcs1 = parse_private_key(raw["alice"])
    private_vector("private_key_trailing_bytes", "Two zero bytes after the RSAPrivateKey, inside the PKCS#8 "
                   "octet string.", "parse_error", encode_private_key(pkcs1 + b"\0\0"), pub["alice"])
    weak_private, weak_public = deterministic_rsa_key(rng, 2048, 3)
    private_vector("private_key_exponent_3", "A 2048-bit key with public exponent 3.", "parse_error",
                   weak_private, weak_public)
    small_private, small_public = deterministic_rsa_key(rng, 1024, 65537)
    private_vector("private_key_1024_bits", "A 1024-bit key.", "parse_error", small_private, small_public)
    private_vector("private_key_other_public_key", "Alice's private key beside Bob's public key.", "parse_error",
                   raw["alice"], pub["bob"])

    # Section 3 via 5.2 step 3: a sender key with a negative modulus cannot verify anything.
    n, e = parse_public_key(pub["alice"])
    negative = encode_public_key(-n, e)
    payload = {"kind": "text", "body": "Xin chào, Bob! Hello 👋"}
    both = {alice["user_id"]: pub["alice"], bob["user_id"]: pub["bob"]}

    async def seal_bytes(plaintext: bytes) -> Envelope:
        message_key, iv = rng.randbytes(32), rng.randbytes(16)
        enc_key, mac_key = message_keys(message_key)
        ct = await backend.aes_ctr(enc_key, iv, plaintext)
        mac = await backend.hmac_sha256(mac_key, mac_input(ROOM, alice["user_id"], MESSAGE_ID, iv, ct))
        wrapped = tuple([WrappedKey(user, fingerprint(spki), await backend.rsa_oaep_encrypt(spki, message_key))
                         for user, spki in sorted(both.items())])
        unsigned = Envelope(ROOM, alice["user_id"], MESSAGE_ID, wrapped, iv, ct, mac, b"")
        return replace(unsigned, sig=await backend.sign(raw["alice"], signature_input(unsigned)))

    def envelope_vector(name, description, expect, envelope, sender_public_key=alice["public_key"]):
        write(name, {"description": description, "kind": "envelope", "expect": expect, "room": ROOM,
                     "recipient": bob, "sender": {"user_id": alice["user_id"], "public_key": sender_public_key},
                     "envelope": encode_envelope(envelope), "payload": payload})

    good = await seal_bytes(json.dumps(payload, ensure_ascii=False, separators=(",", ":"),
                                       sort_keys=True).encode())
    envelope_vector("envelope_sender_key_negative_modulus", "The sender's SPKI holds a negative modulus: no "
                    "signature verifies under it (and no arithmetic error escapes).", "bad_signature", good,
                    sender_public_key=b64(negative))
    envelope_vector("envelope_signature_above_modulus", "A signature of 384 0xff bytes, larger than the "
                    "modulus.", "bad_signature", replace(good, sig=b"\xff" * 384))
    # Section 1: canonical JSON inside the encrypted payload.
    for name, description, text in [
        ("envelope_payload_spaces", "The decrypted payload has a space after a colon.",
         '{"body": "Xin chào, Bob! Hello 👋","kind":"text"}'),
        ("envelope_payload_unsorted_keys", "The decrypted payload lists kind before body.",
         '{"kind":"text","body":"Xin chào, Bob! Hello 👋"}'),
        ("envelope_payload_duplicate_key", "The decrypted payload has body twice; parsers disagree on which wins.",
         '{"body":"Hello","body":"Xin chào, Bob! Hello 👋","kind":"text"}'),
        ("envelope_payload_escaped_unicode", "The decrypted payload escapes à as \\u00e0 instead of UTF-8.",
         '{"body":"Xin ch\\u00e0o, Bob! Hello 👋","kind":"text"}'),
    ]:
        envelope_vector(name, description, "parse_error", await seal_bytes(text.encode()))

    # Section 4.1: a sealed key whose MAC is right but whose contents are not the key.
    keystore_key = hashlib.sha512(b"vector keystore key").digest()

    async def sealed_key_vector(name, description, contents):
        blob = await keystore.seal_private_key(backend, keystore_key, user_id=alice["user_id"],
                                               public_key=pub["alice"], private_key=contents, iv=rng.randbytes(16))
        write(name, {"description": description, "kind": "keystore", "expect": "parse_error",
                     "keystore_key": keystore_key.hex(), "user_id": alice["user_id"],
                     "public_key": alice["public_key"], "private_key": b64(contents), "blob": b64(blob)})

    await sealed_key_vector("keystore_not_a_private_key", "A valid MAC over 1200 bytes that are not a PKCS#8 key.",
                            rng.randbytes(1200))
    await sealed_key_vector("keystore_other_private_key", "A valid MAC over Mallory's private key, bound to "
                            "Alice's id and public key.", raw["mallory"])

    # Section 4.2: key files whose MAC is right but whose contents are wrong.
    passphrase = "Đây là một cụm mật khẩu dài"

    async def key_file_vector(name, description, contents: bytes):
        salt, iv = rng.randbytes(16), rng.randbytes(16)
        enc_key, mac_key = await key_export._file_keys(backend, passphrase, salt, key_export.MIN_ITERATIONS)
        ct = await backend.aes_ctr(enc_key, iv, contents)
        unsigned = key_export.KeyExport(key_export.MIN_ITERATIONS, salt, iv, ct, b"")
        export = replace(unsigned, mac=await backend.hmac_sha256(mac_key, key_export._mac_input(unsigned)))
        write(name, {"description": description, "kind": "key_export", "expect": "parse_error",
                     "passphrase": passphrase, "file": key_export.encode_key_export(export),
                     "contents": json.loads(contents)})

    def contents(pairs, **dumps):
        obj = {"keys": [{"private_key": b64(private), "public_key": b64(public)} for private, public in pairs],
               "user_id": alice["user_id"]}
        return json.dumps(obj, **({"separators": (",", ":"), "sort_keys": True} | dumps)).encode()

    await key_file_vector("key_export_not_a_private_key", "The private key is a PKCS#8 wrapper around bytes "
                          "that are not an RSAPrivateKey.",
                          contents([(encode_private_key(rng.randbytes(600)), pub["alice"])]))
    await key_file_vector("key_export_mismatched_pair", "Mallory's private key listed beside Alice's public key.",
                          contents([(raw["mallory"], pub["alice"])]))
    await key_file_vector("key_export_contents_not_canonical", "The contents are JSON with spaces.",
                          contents([(raw["alice"], pub["alice"])], separators=(", ", ": ")))

    # Section 4: usernames are NFC-normalised, stripped and lower-cased before they salt the password.
    for name, description, username in [
        ("account_salt_vietnamese_nfd", "A Vietnamese username typed in NFD with spaces around it.",
         "  " + unicodedata.normalize("NFD", "Nguyễn.Văn") + "\t"),
        ("account_salt_greek_final_sigma", "Upper-case Greek: the last sigma lower-cases to final sigma.",
         "ΟΔΥΣΣΕΥΣ"),
        ("account_salt_dotted_capital_i", "U+0130 lower-cases to i + U+0307 (two code points), not renormalised.",
         "İstanbul"),
        ("account_salt_fullwidth", "Fullwidth letters lower-case to fullwidth letters (no NFKC).", "ＡＬＩＣＥ"),
    ]:
        normalized = unicodedata.normalize("NFC", username).strip().lower()
        write(name, {"description": description, "kind": "account_salt", "expect": "success",
                     "username": username, "normalized_username": normalized,
                     "salt": transcript(LABEL_ACCOUNT_SALT, normalized.encode()).hex()})
    username, password = " Nguyễn.Văn ", "mật khẩu đủ dài 🔑"
    salt = transcript(LABEL_ACCOUNT_SALT, "nguyễn.văn".encode())
    master = hashlib.pbkdf2_hmac("sha256", unicodedata.normalize("NFC", password).encode(), salt,
                                 ACCOUNT_PBKDF2_ITERATIONS, 32)
    auth_key, keystore_key = split_master_key(master)
    write("account_keys_unicode", {
        "description": "The whole account key schedule for a Vietnamese username and password.",
        "kind": "account_keys", "expect": "success", "username": username, "password": password,
        "salt": salt.hex(), "master": master.hex(), "auth_key": auth_key.hex(), "keystore_key": keystore_key.hex()})

    # Section 5: one envelope cannot show different plaintexts to different members.
    # Alice wraps another (valid) message key for Bob and signs: Bob's MAC check fails.
    other_wrap = WrappedKey(bob["user_id"], fingerprint(pub["bob"]),
                            await backend.rsa_oaep_encrypt(pub["bob"], rng.randbytes(32)))
    split = replace(good, keys=(good.keys[0], other_wrap))
    envelope_vector("envelope_other_message_key_for_one_member", "The sender wraps a different message key for "
                    "Bob than for herself, and signs: the ciphertext's MAC only holds under one key.", "bad_mac",
                    replace(split, sig=await backend.sign(raw["alice"], signature_input(split))))


if __name__ == "__main__":
    asyncio.run(main())
