"""The pure backend, run in a PyScript worker so it never blocks the page.

Used only when the page has no WebCrypto (a plain-HTTP origin other than
localhost): python-rsa key generation takes tens of seconds in Pyodide, and
on the main thread it would freeze the page. The worker
(web/static/crypto_worker.py) starts on first use, with its own Pyodide.
Arguments and results cross as JSON text with bytes in base64: the extra
copies only cost on this slow path.
"""

import base64
import json

from ..crypto.base import KeyPair
from ..errors import BadMac, BadSignature, ParseError, ProtocolError, UnknownVersion, WrongKey

WORKER_SRC = "/static/crypto_worker.py"
WORKER_NAME = "sealroom-crypto"
_ERRORS = {cls.kind: cls for cls in (ParseError, UnknownVersion, BadSignature, BadMac, WrongKey)}


def _encode(value):
    return {"b": base64.b64encode(bytes(value)).decode("ascii")} if isinstance(value, (bytes, bytearray, memoryview)) \
        else value


def _decode(value):
    if isinstance(value, dict):
        return base64.b64decode(value["b"])
    if isinstance(value, list):
        return [_decode(item) for item in value]
    return value


class WorkerBackend:
    name = "pure-worker"

    def __init__(self):
        self._worker = None

    async def _call(self, method: str, *args):
        if self._worker is None:
            from pyscript import create_named_worker
            self._worker = await create_named_worker(src=WORKER_SRC, name=WORKER_NAME, config="/pyscript.json")
        reply = json.loads(await self._worker.call(method, json.dumps([_encode(a) for a in args])))
        if "error" in reply:
            raise _ERRORS.get(reply["error"], ProtocolError)(reply["message"])
        return _decode(reply["result"])

    async def generate_keypair(self, bits: int) -> KeyPair:
        return KeyPair(*await self._call("generate_keypair", bits))

    async def aes_ctr(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        return await self._call("aes_ctr", key, iv, data)

    async def hmac_sha256(self, key: bytes, data: bytes) -> bytes:
        return await self._call("hmac_sha256", key, data)

    async def rsa_oaep_encrypt(self, public_key: bytes, data: bytes) -> bytes:
        return await self._call("rsa_oaep_encrypt", public_key, data)

    async def rsa_oaep_decrypt(self, private_key: bytes, data: bytes) -> bytes:
        return await self._call("rsa_oaep_decrypt", private_key, data)

    async def sign(self, private_key: bytes, data: bytes) -> bytes:
        return await self._call("sign", private_key, data)

    async def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool:
        return await self._call("verify", public_key, data, signature)

    async def pbkdf2_sha256(self, password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
        return await self._call("pbkdf2_sha256", password, salt, iterations, length)
