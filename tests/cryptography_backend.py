"""A third backend on the ``cryptography`` library, for tests only.

It keeps slow pure-Python AES out of tests about something else (chunking,
servers), and every vector checks it gives the same bytes as the others.
"""

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from pyclient.errors import WrongKey

_OAEP = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class CryptographyBackend:
    name = "cryptography"

    async def aes_ctr(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        return Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor().update(data)

    async def hmac_sha256(self, key: bytes, data: bytes) -> bytes:
        return hmac.new(key, data, hashlib.sha256).digest()

    async def rsa_oaep_encrypt(self, public_key: bytes, data: bytes) -> bytes:
        return serialization.load_der_public_key(public_key).encrypt(data, _OAEP)

    async def rsa_oaep_decrypt(self, private_key: bytes, data: bytes) -> bytes:
        try:
            return serialization.load_der_private_key(private_key, None).decrypt(data, _OAEP)
        except ValueError:
            raise WrongKey("the wrapped key does not match this private key") from None

    async def sign(self, private_key: bytes, data: bytes) -> bytes:
        return serialization.load_der_private_key(private_key, None).sign(data, padding.PKCS1v15(), hashes.SHA256())

    async def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool:
        try:
            serialization.load_der_public_key(public_key).verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
        except Exception:
            return False
        return True
