"""The operations a backend provides; the protocol is built on these alone.

Every method is async because WebCrypto is. The pure backend computes in
place and returns at once. Keys are passed as DER bytes (SPKI / PKCS#8);
backends may cache their own parsed form.
"""

from typing import NamedTuple, Protocol


class KeyPair(NamedTuple):
    private_key: bytes  # PKCS#8 DER
    public_key: bytes   # SPKI DER


class Backend(Protocol):
    name: str

    async def generate_keypair(self, bits: int) -> KeyPair: ...

    async def aes_ctr(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        """AES-256-CTR with the whole 128-bit IV as a big-endian counter."""

    async def hmac_sha256(self, key: bytes, data: bytes) -> bytes: ...

    async def rsa_oaep_encrypt(self, public_key: bytes, data: bytes) -> bytes:
        """RSAES-OAEP, SHA-256 and MGF1-SHA-256, empty label."""

    async def rsa_oaep_decrypt(self, private_key: bytes, data: bytes) -> bytes:
        """Raise ``WrongKey`` if the ciphertext does not decrypt."""

    async def sign(self, private_key: bytes, data: bytes) -> bytes:
        """RSASSA-PKCS1-v1_5 with SHA-256."""

    async def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool: ...

    async def pbkdf2_sha256(self, password: bytes, salt: bytes, iterations: int, length: int) -> bytes: ...
