"""Shared test helpers: keys from ``cryptography`` and a signed-in API user."""

import base64
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pyclient.crypto.pure import PureBackend
from pyclient.protocol.envelope import encode_envelope, seal


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@lru_cache(maxsize=8)
def fixed_keypair(index: int) -> tuple[bytes, bytes]:
    """RSA-2048 keys (fast to make); cached so a test run makes each once."""
    private = rsa.generate_private_key(65537, 2048)
    return (private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()),
            private.public_key().public_bytes(serialization.Encoding.DER,
                                              serialization.PublicFormat.SubjectPublicKeyInfo))


async def page_csrf(client) -> str:
    response = await client.get("/")
    assert response.status == 200
    return re.search(r'name="csrf-token" content="([^"]+)"', await response.text()).group(1)


@dataclass
class ApiUser:
    client: object
    username: str
    id: str
    csrf: str
    private_key: bytes = b""
    public_key: bytes = b""

    def headers(self) -> dict:
        return {"X-CSRF-Token": self.csrf}

    async def post(self, path: str, body: dict):
        return await self.client.post(path, json=body, headers=self.headers())

    async def put(self, path: str, body: dict):
        return await self.client.put(path, json=body, headers=self.headers())

    async def envelope(self, room_id: str, members: dict[str, bytes], body: str = "hello") -> dict:
        envelope = await seal(PureBackend(), room=room_id, sender=self.id, message_id=secrets.token_hex(16),
                              sender_private_key=self.private_key, recipients=members,
                              payload={"kind": "text", "body": body}, random_bytes=secrets.token_bytes)
        return encode_envelope(envelope)


async def register(client, username: str, key_index: int | None = 0, auth_key: str = "A" * 43 + "=",
                   display_name: str | None = None) -> ApiUser:
    csrf = await page_csrf(client)
    body = {"username": username, "auth_key": auth_key}
    if display_name is not None:
        body["display_name"] = display_name
    response = await client.post("/api/register", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status == 201, await response.text()
    data = await response.json()
    user = ApiUser(client, username, data["user"]["id"], data["csrf"])
    if key_index is not None:
        user.private_key, user.public_key = fixed_keypair(key_index)
        response = await user.put("/api/me/key", {"public_key": b64(user.public_key), "key_backup": b64(b"SRK1" + bytes(60)),
                                                  "proof": await key_proof(user, user.private_key, user.public_key)})
        assert response.status == 200, await response.text()
    return user


async def key_proof(user: ApiUser, private_key: bytes, public_key: bytes) -> str:
    """A fresh challenge from the server, signed with ``private_key`` (protocol 4.4)."""
    from pyclient.protocol.key_proof import sign_key_proof

    response = await user.post("/api/me/key/challenge", {})
    assert response.status == 200, await response.text()
    challenge = base64.b64decode((await response.json())["challenge"])
    return b64(await sign_key_proof(PureBackend(), private_key, user_id=user.id, challenge=challenge,
                                    public_key=public_key))


async def signed(user: ApiUser, method: str, path: str, body: bytes = b"", *, created: int | None = None,
                 key: bytes | None = None, headers: dict | None = None):
    """Send a request signed with the user's private key (or ``key``)."""
    import time

    from pyclient.protocol.request_sig import sign_request

    sig_headers = await sign_request(PureBackend(), key or user.private_key, method=method, path=path, body=body,
                                     keyid=user.id, created=created or int(time.time()),
                                     random_bytes=secrets.token_bytes)
    all_headers = {**user.headers(), **sig_headers, **(headers or {})}
    return await user.client.request(method, path, data=body, headers=all_headers)
