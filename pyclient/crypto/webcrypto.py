"""Fast backend: the browser's ``crypto.subtle`` through the Pyodide FFI.

It gives the same bytes as the pure backend for every deterministic
operation (the vectors prove it in Chromium). AES-CTR uses ``length: 128``
so the whole IV block counts, as pyaes does. Imported CryptoKeys are cached
by their DER bytes so a key is parsed once per page.
"""

from contextlib import contextmanager

import js
from pyodide.ffi import create_proxy, to_js

from ..errors import WrongKey
from .base import KeyPair

_RSA_OAEP = {"name": "RSA-OAEP", "hash": "SHA-256"}
_RSA_SIGN = {"name": "RSASSA-PKCS1-v1_5", "hash": "SHA-256"}


def _js(value):
    return to_js(value, dict_converter=js.Object.fromEntries)


def _bytes(buffer) -> bytes:
    return js.Uint8Array.new(buffer).to_bytes()  # the one copy out of JS memory


@contextmanager
def _borrowed(data: bytes):
    """A Uint8Array *view* of ``data`` in WASM memory: no copy into JS.

    The view dies when WASM memory grows, so it must not live across an
    ``await``. WebCrypto copies its input synchronously, before it returns
    the promise (Web Crypto API: "get a copy of the bytes held by the data
    parameter" is a step of the method call itself), so the view is released
    right after the call and the promise is awaited afterwards.
    """
    proxy = create_proxy(data)
    buffer = proxy.getBuffer("u8")
    try:
        yield buffer.data
    finally:
        buffer.release()
        proxy.destroy()


class WebCryptoBackend:
    name = "webcrypto"

    def __init__(self):
        self._subtle = js.crypto.subtle
        self._keys: dict[tuple, object] = {}

    async def _import(self, fmt: str, der: bytes, algorithm: dict, usage: str):
        cache_key = (fmt, der, algorithm["name"], usage)
        key = self._keys.get(cache_key)
        if key is None:
            key = await self._subtle.importKey(fmt, _js(der), _js(algorithm), False, _js([usage]))
            self._keys[cache_key] = key
        return key

    async def generate_keypair(self, bits: int) -> KeyPair:
        algorithm = dict(_RSA_OAEP, modulusLength=bits, publicExponent=js.Uint8Array.new([1, 0, 1]))
        pair = await self._subtle.generateKey(_js(algorithm), True, _js(["encrypt", "decrypt"]))
        private_key = _bytes(await self._subtle.exportKey("pkcs8", pair.privateKey))
        public_key = _bytes(await self._subtle.exportKey("spki", pair.publicKey))
        return KeyPair(private_key, public_key)

    async def aes_ctr(self, key: bytes, iv: bytes, data: bytes) -> bytes:
        aes_key = await self._import("raw", key, {"name": "AES-CTR"}, "encrypt")
        params = _js({"name": "AES-CTR", "counter": _js(iv), "length": 128})
        with _borrowed(data) as view:
            promise = self._subtle.encrypt(params, aes_key, view)
        return _bytes(await promise)

    async def hmac_sha256(self, key: bytes, data: bytes) -> bytes:
        mac_key = await self._import("raw", key, {"name": "HMAC", "hash": "SHA-256"}, "sign")
        with _borrowed(data) as view:
            promise = self._subtle.sign("HMAC", mac_key, view)
        return _bytes(await promise)

    # The same operations on JS buffers (ArrayBuffer or a typed-array view), for
    # bulk data that never needs to enter Python: attachments. Each returns an
    # awaitable of an ArrayBuffer. Once a key has been used, WebCrypto takes its
    # copy of ``data`` during the call itself, so the caller may do other work
    # (hash in Python) before awaiting, and may reuse ``data`` right away.

    def aes_ctr_js(self, key: bytes, iv: bytes, data):
        params = _js({"name": "AES-CTR", "counter": _js(iv), "length": 128})
        return self._call_js(("raw", key, "AES-CTR", "encrypt"), {"name": "AES-CTR"},
                             lambda aes_key: self._subtle.encrypt(params, aes_key, data))

    def hmac_sha256_js(self, key: bytes, data):
        return self._call_js(("raw", key, "HMAC", "sign"), {"name": "HMAC", "hash": "SHA-256"},
                             lambda mac_key: self._subtle.sign("HMAC", mac_key, data))

    def sha256_js(self, data):
        return self._subtle.digest("SHA-256", data)

    def _call_js(self, cache_key: tuple, algorithm: dict, call):
        key = self._keys.get(cache_key)
        if key is not None:
            return call(key)  # the promise itself: WebCrypto has the bytes already

        async def first_use():
            fmt, der, _name, usage = cache_key
            return await call(await self._import(fmt, der, algorithm, usage))
        return first_use()

    async def rsa_oaep_encrypt(self, public_key: bytes, data: bytes) -> bytes:
        key = await self._import("spki", public_key, _RSA_OAEP, "encrypt")
        return _bytes(await self._subtle.encrypt(_js({"name": "RSA-OAEP"}), key, _js(data)))

    async def rsa_oaep_decrypt(self, private_key: bytes, data: bytes) -> bytes:
        key = await self._import("pkcs8", private_key, _RSA_OAEP, "decrypt")
        try:
            return _bytes(await self._subtle.decrypt(_js({"name": "RSA-OAEP"}), key, _js(data)))
        except Exception:
            raise WrongKey("the message key could not be unwrapped with this private key") from None

    async def sign(self, private_key: bytes, data: bytes) -> bytes:
        key = await self._import("pkcs8", private_key, _RSA_SIGN, "sign")
        return _bytes(await self._subtle.sign("RSASSA-PKCS1-v1_5", key, _js(data)))

    async def verify(self, public_key: bytes, data: bytes, signature: bytes) -> bool:
        key = await self._import("spki", public_key, _RSA_SIGN, "verify")
        return bool(await self._subtle.verify("RSASSA-PKCS1-v1_5", key, _js(signature), _js(data)))

    async def pbkdf2_sha256(self, password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
        key = await self._subtle.importKey("raw", _js(password), "PBKDF2", False, _js(["deriveBits"]))
        params = _js({"name": "PBKDF2", "hash": "SHA-256", "salt": _js(salt), "iterations": iterations})
        return _bytes(await self._subtle.deriveBits(params, key, length * 8))
