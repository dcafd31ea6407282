"""The account key schedule on the client side, and what a password change sends.

Pure: a backend and the inputs in, bytes and dicts out (no I/O), so the page
and the CLI build the same request. docs/protocol.md 4 and 4.5.
"""

from .protocol import keystore
from .protocol.encoding import b64encode
from .protocol.kdf import ACCOUNT_PBKDF2_ITERATIONS, account_password_bytes, account_salt, split_master_key
from .protocol.keys import fingerprint


class MissingKey(Exception):
    """A key the server backs up is not among the local key pairs, so it cannot be re-sealed."""


async def account_keys(backend, username: str, password: str) -> tuple[bytes, bytes]:
    """``(auth_key, keystore_key)`` for this username and password."""
    master = await backend.pbkdf2_sha256(account_password_bytes(password), account_salt(username),
                                         ACCOUNT_PBKDF2_ITERATIONS, 32)
    return split_master_key(master)


async def password_change_request(backend, *, username: str, user_id: str, current_password: str,
                                  new_password: str, pairs: list[tuple[bytes, bytes]],
                                  backed_up: list[bytes] | None, random_bytes) -> tuple[dict, bytes]:
    """The body of ``POST /api/me/password`` and the new keystore key.

    ``pairs`` are the user's (PKCS#8, SPKI) pairs, current first;
    ``backed_up`` the public keys of the earlier keys the server holds a
    sealed copy of, or ``None`` when the server-side backup is off.
    """
    current_auth, _ = await account_keys(backend, username, current_password)
    new_auth, new_keystore_key = await account_keys(backend, username, new_password)
    private_by_public = {public: private for private, public in pairs}

    async def sealed(public_key: bytes) -> str:
        if public_key not in private_by_public:
            raise MissingKey(f"the key {fingerprint(public_key).hex()[:16]}… is backed up on the server but not here")
        return b64encode(await keystore.seal_private_key(
            backend, new_keystore_key, user_id=user_id, public_key=public_key,
            private_key=private_by_public[public_key], iv=random_bytes(16)))

    body = {"current_auth_key": b64encode(current_auth), "auth_key": b64encode(new_auth),
            "key_backup": None if backed_up is None else await sealed(pairs[0][1]),
            "earlier": [] if backed_up is None else [{"public_key": b64encode(public), "key_backup": await sealed(public)}
                                                     for public in backed_up]}
    return body, new_keystore_key
