"""Reference backend: python-rsa, pyaes, hashlib and hmac only.

python-rsa offers only PKCS#1 v1.5 encryption, which is never used here
(Bleichenbacher, CVE-2020-25658). RSAES-OAEP (RFC 8017, section 7.1) is built
over its raw operations; decryption goes through the blinded private
operation, and every padding failure raises the same error.
"""

import hashlib
import hmac
import os

import pyaes
import rsa
import rsa.core

from ..errors import ParseError, WrongKey
from ..protocol.keys import encode_private_key, encode_public_key, parse_private_key, parse_public_key
from .base import KeyPair

_HASH_LEN = 32
_EMPTY_LABEL_HASH = hashlib.sha256(b"").digest()


def _mgf1(seed: bytes, length: int) -> bytes:
    output = b""
    counter = 0
    while len(output) < length:
        output += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return output[:length]


def _xor(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")


def oaep_encode(message: bytes, k: int, seed: bytes) -> bytes:
    if len(message) > k - 2 * _HASH_LEN - 2:
        raise ValueError("message too long for RSA-OAEP")
    padding = bytes(k - len(message) - 2 * _HASH_LEN - 2)
    data_block = _EMPTY_LABEL_HASH + padding + b"\x01" + message
    masked_db = _xor(data_block, _mgf1(seed, k - _HASH_LEN - 1))
    masked_seed = _xor(seed, _mgf1(masked_db, _HASH_LEN))
    return b"\x00" + masked_seed + masked_db


def oaep_decode(encoded: bytes, k: int) -> bytes:
    """Constant-shape checks: one error, whichever part is wrong."""
    masked_seed, masked_db = encoded[1:1 + _HASH_LEN], encoded[1 + _HASH_LEN:]
    seed = _xor(masked_seed, _mgf1(masked_db, _HASH_LEN))
    data_block = _xor(masked_db, _mgf1(seed, k - _HASH_LEN - 1))
    good = hmac.compare_digest(data_block[:_HASH_LEN], _EMPTY_LABEL_HASH) & (encoded[0] == 0)
    separator = -1
    for index in range(_HASH_LEN, len(data_block)):
        byte = data_block[index]
        if separator < 0 and byte == 1:
            separator = index
        elif separator < 0 and byte != 0:
            good = False
    if not good or separator < 0:
        raise WrongKey("the message key could not be unwrapped with this private key")
    return data_block[separator + 1:]


class PureBackend:
    name = "pure"

    def __init__(self, random_bytes=os.urandom):
        self._random_bytes = random_bytes
        self._private_keys: dict[bytes, rsa.PrivateKey] = {}

    def _private(self, der: bytes) -> rsa.PrivateKey:
        key = self._private_keys.get(der)
        if key is None:
            key = rsa.PrivateKey.load_pkcs1(parse_private_key(der), "DER")
            self._private_keys[der] = key
        return key

    @staticmethod
    def _public(der: bytes) -> rsa.PublicKey:
        n, e = parse_public_key(der)
        return rsa.PublicKey(n, e)

    async def generate_keypair(self, bits: int) -> KeyPair:
        public, private = rsa.newkeys(bits, poolsize=1, exponent=65537)
        return KeyPair(encode_private_key(private.save_pkcs1("DER")), encode_public_key(public.n, public.e))

    async def aes_ctr(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        counter = pyaes.Counter(initial_value=int.from_bytes(iv, "big"))
        return pyaes.AESModeOfOperationCTR(key, counter=counter).encrypt(data)

    async def hmac_sha256(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, hashlib.sha256).digest()

    async def rsa_oaep_encrypt(self, public_key: bytes, data: bytes) -> bytes:
        key = self._public(public_key)
        k = rsa.common.byte_size(key.n)
        encoded = oaep_encode(data, k, self._random_bytes(_HASH_LEN))
        value = rsa.core.encrypt_int(int.from_bytes(encoded, "big"), key.e, key.n)
        return value.to_bytes(k, "big")

    async def rsa_oaep_decrypt(self, private_key: bytes, data: bytes) -> bytes:
        key = self._private(private_key)
        k = rsa.common.byte_size(key.n)
        value = int.from_bytes(data, "big")
        if len(data) != k or value >= key.n:
            raise WrongKey("the wrapped key does not match this private key")
        encoded = key.blinded_decrypt(value).to_bytes(k, "big")
        return oaep_decode(encoded, k)

    async def sign(self, private_key: bytes, data: bytes) -> bytes:
        return rsa.sign(data, self._private(private_key), "SHA-256")

    async def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool:
        try:
            key = self._public(public_key)
        except ParseError:
            return False
        # python-rsa raises OverflowError for a signature above the modulus;
        # RFC 8017 8.2.2 says such a signature is simply invalid.
        if len(signature) != rsa.common.byte_size(key.n) or int.from_bytes(signature, "big") >= key.n:
            return False
        try:
            return rsa.verify(data, signature, key) == "SHA-256"
        except (rsa.VerificationError, ValueError, OverflowError):
            return False

    async def pbkdf2_sha256(self, password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
        return pbkdf2_sha256(password, salt, iterations, length)


def pbkdf2_sha256(password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    """RFC 8018 PBKDF2-HMAC-SHA-256. Pyodide's hashlib has no ``pbkdf2_hmac``
    (it is built without OpenSSL), so the loop is written out there."""
    if hasattr(hashlib, "pbkdf2_hmac"):
        return hashlib.pbkdf2_hmac("sha256", password, salt, iterations, length)
    keyed = hmac.new(password, digestmod=hashlib.sha256)
    output = b""
    block_index = 1
    while len(output) < length:
        mac = keyed.copy()
        mac.update(salt + block_index.to_bytes(4, "big"))
        u = mac.digest()
        result = int.from_bytes(u, "big")
        for _ in range(iterations - 1):
            mac = keyed.copy()
            mac.update(u)
            u = mac.digest()
            result ^= int.from_bytes(u, "big")
        output += result.to_bytes(32, "big")
        block_index += 1
    return output[:length]
