"""The sealed private key: what IndexedDB and the server-side backup hold.

``blob = "SRK1" || iv (16) || AES-256-CTR(enc_key, iv, pkcs8) || mac (32)``
with ``enc_key || mac_key = keystore_key`` (64 bytes from the account key
schedule) and ``mac = HMAC-SHA-256(mac_key, transcript(LABEL_KEYSTORE_MAC,
user_id, spki, iv, ciphertext))``. Binding the user id and public key stops a
server from handing one user another user's sealed key.
"""

import hmac

from ..errors import BadMac, ParseError
from .encoding import LABEL_KEYSTORE_MAC, transcript
from .keys import check_key_pair

MAGIC = b"SRK1"
_IV = 16
_MAC = 32


def _mac_input(user_id: str, public_key: bytes, iv: bytes, ct: bytes) -> bytes:
    return transcript(LABEL_KEYSTORE_MAC, user_id.encode("ascii"), public_key, iv, ct)


async def seal_private_key(backend, keystore_key: bytes, *, user_id: str, public_key: bytes,
                           private_key: bytes, iv: bytes) -> bytes:
    enc_key, mac_key = keystore_key[:32], keystore_key[32:]
    ct = await backend.aes_ctr(enc_key, iv, private_key)
    mac = await backend.hmac_sha256(mac_key, _mac_input(user_id, public_key, iv, ct))
    return MAGIC + iv + ct + mac


async def open_private_key(backend, keystore_key: bytes, *, user_id: str, public_key: bytes, blob: bytes) -> bytes:
    if len(blob) < len(MAGIC) + _IV + _MAC + 1 or not blob.startswith(MAGIC):
        raise ParseError("the sealed key is not in SealRoom's format")
    iv, ct, mac = blob[4:4 + _IV], blob[4 + _IV:-_MAC], blob[-_MAC:]
    enc_key, mac_key = keystore_key[:32], keystore_key[32:]
    expected = await backend.hmac_sha256(mac_key, _mac_input(user_id, public_key, iv, ct))
    if not hmac.compare_digest(expected, mac):
        raise BadMac("the password does not open this key, or the sealed key was altered")
    private_key = await backend.aes_ctr(enc_key, iv, ct)
    # A valid MAC only says who sealed it; the contents must still be the
    # private half of the public key the MAC names, or nothing is unlocked.
    try:
        check_key_pair(private_key, public_key)
    except ParseError as error:
        raise ParseError(f"the sealed key opened but is not your private key ({error.message})") from None
    return private_key
