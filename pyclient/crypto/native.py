"""Fast CPython backend on the ``cryptography`` library (OpenSSL).

It gives the same bytes as the pure backend for every deterministic
operation, and each decrypts the other's RSA-OAEP: every vector in
tests/vectors/ runs on both (tests/test_vectors.py). The CLI uses it by
default; ``--crypto pure`` or ``SEALROOM_CRYPTO=pure`` selects the reference.
It does not exist in Pyodide, which uses ``webcrypto`` or ``pure``.
"""

import hashlib
import hmac

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ..errors import ParseError, WrongKey
from ..protocol.keys import parse_private_key, parse_public_key
from .base import KeyPair

_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class NativeBackend:
    name = "native"

    def __init__(self):
        # Loading an RSA private key checks it, which costs milliseconds: once per key.
        self._private_keys: dict[bytes, rsa.RSAPrivateKey] = {}
        self._public_keys: dict[bytes, rsa.RSAPublicKey] = {}

    def _private(self, der: bytes) -> rsa.RSAPrivateKey:
        key = self._private_keys.get(der)
        if key is None:
            parse_private_key(der)  # the protocol's strict DER rules first, as the pure backend applies them
            key = serialization.load_der_private_key(der, None)
            self._private_keys[der] = key
        return key

    def _public(self, der: bytes) -> rsa.RSAPublicKey:
        key = self._public_keys.get(der)
        if key is None:
            parse_public_key(der)
            key = serialization.load_der_public_key(der)
            self._public_keys[der] = key
        return key

    async def generate_keypair(self, bits: int) -> KeyPair:
        private = rsa.generate_private_key(65537, bits)
        private_der = private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
        public_der = private.public_key().public_bytes(serialization.Encoding.DER,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
        return KeyPair(private_der, public_der)

    async def aes_ctr(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        # OpenSSL's CTR increments the whole 128-bit block, big-endian, as the protocol says.
        return Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor().update(data)

    async def hmac_sha256(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, hashlib.sha256).digest()

    async def rsa_oaep_encrypt(self, public_key: bytes, data: bytes) -> bytes:
        return self._public(public_key).encrypt(data, _OAEP)

    async def rsa_oaep_decrypt(self, private_key: bytes, data: bytes) -> bytes:
        try:
            return self._private(private_key).decrypt(data, _OAEP)
        except ValueError:
            raise WrongKey("the message key could not be unwrapped with this private key") from None

    async def sign(self, private_key: bytes, data: bytes) -> bytes:
        return self._private(private_key).sign(data, padding.PKCS1v15(), hashes.SHA256())

    async def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool:
        """A key that does not parse strictly is a failed check, as in ``pure``: never a crash."""
        try:
            key = self._public(public_key)
        except ParseError:
            return False
        try:
            key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return False
        return True

    async def pbkdf2_sha256(self, password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", password, salt, iterations, length)
