"""The CLI's connection to a SealRoom server: the same protocol as the page.

Account keys (protocol 4), sealed key backup (4.1), envelopes (5), chunked
attachments (6), signed blob requests (7) and WebSocket frames (8) all come
from ``pyclient.protocol``; this module only moves bytes over aiohttp and
keeps the profile (``store``) up to date.
"""

import asyncio
import base64
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from yarl import URL

from .. import trust
from ..account import MissingKey, account_keys, password_change_request
from ..errors import BadSignature, ProtocolError
from ..protocol import key_proof, keystore
from ..protocol.attachment import ChunkDecryptor, FileRef, blob_size, encode_file_ref
from ..protocol.envelope import encode_envelope, open_envelope, parse_envelope, seal
from ..protocol.keys import DEFAULT_RSA_BITS, fingerprint
from ..protocol.request_sig import sign_request
from ..transfer import SignedUploads, upload_file
from .store import Profile

SEND_TIMEOUT = 30


class ClientError(Exception):
    """Something the person at the terminal must read; never a traceback."""

    def __init__(self, message: str, code: str = "error", status: int = 0):
        super().__init__(message)
        self.message, self.code, self.status = message, code, status


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _error_of(data: dict, status: int) -> ClientError:
    error = data.get("error")
    if isinstance(error, dict):  # {"error": {"code", "message"}}
        return ClientError(error.get("message", f"The server answered {status}."), error.get("code", "error"), status)
    return ClientError(data.get("message", f"The server answered {status}."), error or "error", status)


@dataclass
class Opened:
    """One message after every check: ``status`` is verified, key_changed, or a failure kind."""

    seq: int
    message_id: str
    sender: str
    created_at: str
    status: str
    payload: dict | None = None
    reason: str = ""
    signer_key: bytes = b""

    @property
    def verified(self) -> bool:
        return self.status == "verified"


class Client:
    def __init__(self, profile: Profile, backend, password, *, random_bytes=os.urandom, clock=time.time):
        """``password`` is a callable asked only when the password is needed."""
        self.profile, self.backend = profile, backend
        self._password_source, self._password = password, None
        self.random_bytes, self.clock = random_bytes, clock
        self.http: aiohttp.ClientSession | None = None
        self.pairs: list[tuple[bytes, bytes]] = []   # (PKCS#8, SPKI), current first
        self.me: dict | None = None

    # ---- plumbing -------------------------------------------------------------

    @property
    def server(self) -> str:
        server = self.profile.state.get("server")
        if not server:
            raise ClientError("No server yet: run `sealroom register URL` or `sealroom login URL` first.")
        return server

    def password(self) -> str:
        if self._password is None:
            self._password = self._password_source()
        return self._password

    async def __aenter__(self):
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),  # unsafe: also for 127.0.0.1
                                          timeout=aiohttp.ClientTimeout(total=None, sock_connect=15))
        if self.profile.state.get("server") and self.profile.state["cookies"]:
            self.http.cookie_jar.update_cookies(self.profile.state["cookies"], response_url=URL(self.server))
        return self

    async def __aexit__(self, *exc):
        self._keep_cookies()
        await self.http.close()

    def _keep_cookies(self) -> None:
        if self.profile.state.get("server"):
            cookies = self.http.cookie_jar.filter_cookies(URL(self.server))
            self.profile.state["cookies"] = {name: morsel.value for name, morsel in cookies.items()}
            self.profile.save()

    async def _response_json(self, response) -> dict:
        try:
            data = await response.json(content_type=None)
        except (ValueError, aiohttp.ContentTypeError):
            data = {}
        data = data if isinstance(data, dict) else {}
        if response.status >= 400:
            raise _error_of(data, response.status)
        if "csrf" in data:
            self.profile.state["csrf"] = data["csrf"]
        return data

    async def request(self, method: str, path: str, *, body=None, headers=None):
        headers = dict(headers or {})
        if method not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self.profile.state.get("csrf", "")
        try:
            return await self.http.request(method, self.server + path, data=body, headers=headers)
        except aiohttp.ClientError as error:
            raise ClientError(f"The server at {self.server} cannot be reached ({error}).", "network") from None

    async def call(self, method: str, path: str, body: dict | None = None, *, relogin: bool = True) -> dict:
        raw = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        async with await self.request(method, path, body=raw, headers=headers) as response:
            try:
                return await self._response_json(response)
            except ClientError as error:
                if not (relogin and error.code in ("unauthenticated", "csrf") and self.profile.state.get("username")):
                    raise
        await self.login()  # the session expired or was revoked: sign in again with the password
        return await self.call(method, path, body, relogin=False)

    async def signed(self, method: str, path: str, body: bytes = b""):
        """A request that also proves possession of the private key (protocol 7)."""
        headers = await sign_request(self.backend, self.pairs[0][0], method=method, path=path, body=body,
                                     keyid=self.profile.state["user_id"], created=int(self.clock()),
                                     random_bytes=self.random_bytes)
        return await self.request(method, path, body=body or None, headers=headers)

    async def signed_json(self, method: str, path: str, body: bytes = b"") -> dict:
        async with await self.signed(method, path, body) as response:
            return await self._response_json(response)

    # ---- account ----------------------------------------------------------------

    async def _derive(self, username: str, password: str) -> tuple[bytes, bytes]:
        return await account_keys(self.backend, username, password)

    async def _fresh_csrf(self) -> None:
        self.profile.state["csrf"] = (await self.call("GET", "/api/csrf", relogin=False))["csrf"]

    async def _authenticate(self, path: str, username: str) -> bytes:
        auth_key, keystore_key = await self._derive(username, self.password())
        await self._fresh_csrf()
        data = await self.call("POST", path, {"username": username, "auth_key": b64(auth_key)}, relogin=False)
        self.me = data["user"]
        self.profile.state.update(username=self.me["username"], user_id=self.me["id"])
        self._keep_cookies()
        return keystore_key

    async def register(self, server: str, username: str, *, server_backup: bool = True) -> dict:
        self._use_server(server, username)
        keystore_key = await self._authenticate("/api/register", username)
        await self._create_key(keystore_key, server_backup)
        return self.me

    async def login(self, server: str | None = None, username: str | None = None) -> dict:
        """Sign in; then make sure the key pair is here (local file, server backup, or a new one)."""
        username = username or self.profile.state.get("username")
        if server is not None:
            self._use_server(server, username)
        keystore_key = await self._authenticate("/api/login", username)
        if self.me["public_key"] is None:
            await self._create_key(keystore_key, server_backup=True)
        elif not await self._local_keys_match():
            await self._restore_from_backup(keystore_key)
        return self.me

    def _use_server(self, server: str, username: str) -> None:
        """One profile holds one account on one server: never overwrite another's keys."""
        server = server.rstrip("/")
        if not server.startswith(("http://", "https://")):
            raise ClientError("Give the server's address with its scheme, e.g. https://chat.example.org")
        state = self.profile.state
        if self.profile.has_keys() and (state.get("server") not in (None, server) or (
                state.get("username") and state["username"].lower() != username.strip().lower())):
            raise ClientError(f"This profile ({self.profile.directory}) holds the keys of {state.get('username')} at "
                              f"{state.get('server')}. Use --profile DIR (or $SEALROOM_PROFILE) for another account.")
        state["server"] = server

    async def _create_key(self, keystore_key: bytes, server_backup: bool) -> None:
        pair = await self.backend.generate_keypair(DEFAULT_RSA_BITS)
        sealed = await keystore.seal_private_key(self.backend, keystore_key, user_id=self.me["id"],
                                                 public_key=pair.public_key, private_key=pair.private_key,
                                                 iv=self.random_bytes(16))
        self.pairs = [(pair.private_key, pair.public_key)]
        await self.profile.save_keys(self.backend, self.password(), self.me["id"], self.pairs)
        self.me = (await self.call("PUT", "/api/me/key", {
            "public_key": b64(pair.public_key), "key_backup": b64(sealed) if server_backup else None,
            "proof": await self._key_proof(pair.private_key, pair.public_key)}))["user"]

    async def _key_proof(self, private_key: bytes, public_key: bytes) -> str:
        """Proof that this profile holds the new key (protocol 4.4): the server's challenge, signed."""
        challenge = unb64((await self.call("POST", "/api/me/key/challenge", {}))["challenge"])
        return b64(await key_proof.sign_key_proof(self.backend, private_key, user_id=self.user_id,
                                                  challenge=challenge, public_key=public_key))

    async def _local_keys_match(self) -> bool:
        if not self.profile.has_keys():
            return False
        try:
            user_id, pairs = await self.profile.load_keys(self.backend, self.password())
        except ProtocolError:
            return False  # sealed under an older password, or damaged: the server backup replaces it
        if user_id != self.me["id"] or pairs[0][1] != unb64(self.me["public_key"]):
            return False
        self.pairs = pairs
        return True

    async def _restore_from_backup(self, keystore_key: bytes) -> None:
        if not self.me.get("key_backup"):
            raise ClientError("Your account has a key, but it is not on this computer and the server keeps no "
                              "backup of it. Export a key file in the browser and run `sealroom keys import FILE`.",
                              "need_key_file")
        backup = await self.call("GET", "/api/me/key-backup")
        pairs = []
        for entry in [backup, *backup.get("earlier", [])]:
            public = unb64(entry["public_key"])
            private = await keystore.open_private_key(self.backend, keystore_key, user_id=self.me["id"],
                                                      public_key=public, blob=unb64(entry["key_backup"]))
            pairs.append((private, public))
        self.pairs = pairs
        await self.profile.save_keys(self.backend, self.password(), self.me["id"], pairs)

    async def unlock(self) -> None:
        """Open the local key file with the password (PBKDF2, 600,000 rounds)."""
        if self.pairs:
            return
        if not self.profile.has_keys():
            raise ClientError("There is no key on this computer: run `sealroom login URL` or `sealroom keys import FILE`.")
        try:
            user_id, self.pairs = await self.profile.load_keys(self.backend, self.password())
        except ProtocolError as error:
            raise ClientError("The password does not open the key file on this computer."
                              if error.kind == "bad_mac" else f"The key file is damaged: {error.message}.") from None
        if user_id != self.profile.state.get("user_id"):
            raise ClientError("The key file on this computer belongs to another account.")

    @property
    def user_id(self) -> str:
        return self.profile.state["user_id"]

    async def change_password(self, new_password: str) -> int:
        """Re-seal every key under the new password, here and on the server; returns
        how many other sessions the server signed out."""
        await self.unlock()
        me = (await self.call("GET", "/api/me"))["user"]
        backed_up = None
        if me["key_backup"]:
            backup = await self.call("GET", "/api/me/key-backup")
            backed_up = [unb64(entry["public_key"]) for entry in backup.get("earlier", [])]
        try:
            body, _keystore_key = await password_change_request(
                self.backend, username=me["username"], user_id=me["id"], current_password=self.password(),
                new_password=new_password, pairs=self.pairs, backed_up=backed_up, random_bytes=self.random_bytes)
        except MissingKey as error:
            raise ClientError(f"The password cannot be changed from here: {error}. Import your latest key file "
                              "first (`sealroom keys import FILE`).") from None
        reply = await self.call("POST", "/api/me/password", body, relogin=False)
        self._password = new_password
        await self.profile.save_keys(self.backend, new_password, self.user_id, self.pairs)
        return reply["sessions_ended"]

    async def delete_account(self) -> str:
        me = (await self.call("GET", "/api/me"))["user"]
        auth_key, _ = await self._derive(me["username"], self.password())
        reply = await self.call("DELETE", "/api/me", {"auth_key": b64(auth_key)}, relogin=False)
        self.profile.keys_path.unlink(missing_ok=True)
        self.profile.state = {"server": self.server, "pins": {}, "cookies": {}}
        self.http.cookie_jar.clear()
        return reply["deleted"]

    async def logout(self) -> None:
        await self.call("POST", "/api/logout", relogin=False)
        self.profile.state["cookies"] = {}
        self.http.cookie_jar.clear()

    # ---- rooms ------------------------------------------------------------------

    async def rooms(self) -> list[dict]:
        return (await self.call("GET", "/api/rooms"))["rooms"]

    async def find_room(self, name_or_id: str) -> dict:
        """A room by id, or by name when exactly one of the user's rooms has it."""
        found = [r for r in await self.rooms() if name_or_id in (r["id"], r["name"])]
        by_id = [r for r in found if r["id"] == name_or_id]
        if by_id:
            return by_id[0]
        if not found:
            raise ClientError(f"You are in no room called {name_or_id!r}. `sealroom rooms` lists yours.", "not_found")
        if len(found) > 1:
            raise ClientError(f"Several of your rooms are called {name_or_id!r}; give the room's id instead.")
        return found[0]

    async def create_room(self, name: str, members: list[str]) -> dict:
        return (await self.call("POST", "/api/rooms", {"name": name, "members": members}))["room"]

    async def members(self, room_id: str) -> dict[str, dict]:
        """The room's members, each pinned on first sight (trust on first use)."""
        room = (await self.call("GET", f"/api/rooms/{room_id}"))["room"]
        members = {m["id"]: m for m in room["members"]}
        pins = self.profile.state["pins"]
        for member in members.values():
            if member["id"] != self.user_id and member["public_key"] and member["id"] not in pins:
                pins[member["id"]] = {**trust.first_pin(member["fingerprint"], member["public_key"],
                                                        member.get("earlier_keys", [])),
                                      "username": member["username"]}
        self.profile.save()
        return members

    def key_status(self, member: dict) -> str:
        return trust.status(self.profile.state["pins"][member["id"]], member["fingerprint"])

    # ---- messages -----------------------------------------------------------------

    async def send(self, room_id: str, payload: dict, message_id: str | None = None) -> int:
        """Seal for every member and send over the socket; returns the message's seq."""
        await self.unlock()
        message_id = message_id or secrets.token_hex(16)
        for attempt in (1, 2):
            members = await self.members(room_id)
            changed = [m["username"] for m in members.values()
                       if m["id"] != self.user_id and m["public_key"] and self.key_status(m) == trust.CHANGED]
            if changed:
                raise ClientError(f"The key of {', '.join(changed)} changed. Compare safety numbers with "
                                  f"`sealroom verify {changed[0]}` before you send: it could be someone else's key.",
                                  "key_changed")
            recipients = {m["id"]: unb64(m["public_key"]) for m in members.values() if m["public_key"]}
            envelope = await seal(self.backend, room=room_id, sender=self.user_id, message_id=message_id,
                                  sender_private_key=self.pairs[0][0], recipients=recipients, payload=payload,
                                  random_bytes=self.random_bytes)
            reply = await self._send_frame({"type": "send", "ref": message_id, "room": room_id,
                                            "envelope": encode_envelope(envelope)})
            if reply["type"] == "sent":
                return reply["seq"]
            if reply.get("error") != "stale_members" or attempt == 2:
                raise ClientError(reply.get("message", "The server refused the message."), reply.get("error", "error"))
        raise AssertionError("unreachable")

    async def _send_frame(self, frame: dict) -> dict:
        async with self.socket() as ws:
            await ws.send_json(frame)
            async with asyncio.timeout(SEND_TIMEOUT):
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    reply = json.loads(message.data)
                    if reply.get("ref") == frame["ref"] and reply.get("type") in ("sent", "error"):
                        return reply
        raise ClientError("The server closed the connection before it confirmed the message. Try again.")

    def socket(self):
        ws_url = URL(self.server).with_scheme("wss" if self.server.startswith("https") else "ws") / "ws"
        return self.http.ws_connect(ws_url, heartbeat=30)

    async def history(self, room_id: str, *, before: int | None = None) -> list[dict]:
        query = f"?before={before}" if before else ""
        return (await self.call("GET", f"/api/rooms/{room_id}/messages{query}"))["messages"]

    async def find_message(self, room_id: str, ref: str) -> dict:
        """By seq number or message id, paging back through the room's history."""
        before = None
        while True:
            messages = await self.history(room_id, before=before)
            for message in messages:
                if ref in (str(message["seq"]), message["envelope"].get("id")):
                    return message
            if not messages:
                raise ClientError(f"There is no message {ref!r} in this room.", "not_found")
            before = messages[0]["seq"]

    def _pair_for(self, envelope) -> tuple[bytes, bytes]:
        mine = [k for k in envelope.keys if k.to == self.user_id]
        for private, public in self.pairs:
            if mine and fingerprint(public) == mine[0].kfp:
                return private, public
        return self.pairs[0]

    def _signer_keys(self, sender_id: str, members: dict) -> list[tuple[bytes, bool]]:
        if sender_id == self.user_id:
            return [(public, True) for _private, public in self.pairs]
        pin = self.profile.state["pins"].get(sender_id)
        member = members.get(sender_id)
        if member is None or member["public_key"] is None:
            # Gone from the room (left, removed, deleted): only the key pinned earlier can vouch for it.
            return [] if pin is None else [(unb64(pin["public_key"]), True)] + [
                (unb64(k["public_key"]), True) for k in pin.get("earlier", [])]
        keys = trust.signer_keys(pin, member["public_key"], member.get("earlier_keys", []))
        return [(unb64(key), trusted) for key, trusted in keys]

    def sender_name(self, sender_id: str, members: dict) -> str:
        if sender_id in members:
            return members[sender_id]["username"]
        return self.profile.state["pins"].get(sender_id, {}).get("username", sender_id[:8])

    async def open(self, room_id: str, message: dict, members: dict) -> Opened:
        """Every check of protocol 5.2, with the sender's pinned key first (3.1)."""
        await self.unlock()
        envelope_obj = message.get("envelope") or {}
        opened = Opened(message["seq"], str(envelope_obj.get("id", "")), str(envelope_obj.get("sender", "")),
                        message["created_at"], "parse_error")
        try:
            envelope = parse_envelope(envelope_obj)
            candidates = self._signer_keys(envelope.sender, members)
            if not candidates:
                raise BadSignature("the sender is not a member of this room and their key was never pinned here")
            private, public = self._pair_for(envelope)
            failure = None
            for signer_key, trusted in candidates:
                try:
                    payload = await open_envelope(self.backend, envelope, room=room_id, sender_public_key=signer_key,
                                                  me=self.user_id, my_private_key=private, my_public_key=public)
                except BadSignature as error:
                    failure = error
                    continue
                opened.status, opened.payload, opened.signer_key = ("verified" if trusted else "key_changed",
                                                                    payload, signer_key)
                return opened
            raise failure
        except ProtocolError as error:
            opened.status, opened.reason = error.kind, error.message
            return opened

    # ---- attachments ------------------------------------------------------------------

    async def limits(self) -> dict:
        return (await self.call("GET", "/api/me"))["limits"]

    async def upload(self, room_id: str, message_id: str, path: Path, *, name: str, mime: str,
                     progress=lambda done: None) -> FileRef:
        """Encrypt in chunks and upload in signed parts; ``progress`` gets blob bytes sent."""
        await self.unlock()
        size = path.stat().st_size
        if size == 0:
            raise ClientError(f"{path} is empty, so there is nothing to send.")
        limit = (await self.limits())["max_upload_bytes"]
        if size > limit:
            raise ClientError(f"{path} is {size} bytes; this server accepts files of at most {limit} bytes.", "too_large")
        with path.open("rb") as handle:
            async def read_chunk(start: int, end: int) -> bytes:
                handle.seek(start)
                return handle.read(end - start)

            return await upload_file(self.backend, SignedUploads(self.signed_json), read_chunk, size=size,
                                     key=self.random_bytes(32), iv=self.random_bytes(16), room_id=room_id,
                                     sender_id=self.user_id, message_id=message_id, signing_key=self.pairs[0][0],
                                     name=name, mime=mime, progress=progress)

    async def send_files(self, room_id: str, paths: list[tuple[Path, str, str]], body: str = "",
                         progress=lambda done: None) -> tuple[int, str]:
        message_id = secrets.token_hex(16)
        refs, sent = [], 0
        for path, name, mime in paths:
            ref = await self.upload(room_id, message_id, path, name=name, mime=mime,
                                    progress=lambda done, base=sent: progress(base + done))
            sent += blob_size(ref.size)
            refs.append(encode_file_ref(ref))
        seq = await self.send(room_id, {"kind": "files", "body": body, "files": refs}, message_id)
        return seq, message_id

    async def download(self, room_id: str, opened: Opened, ref: FileRef, target: Path,
                       progress=lambda done: None) -> None:
        """Stream, verify every chunk, the digest and the signature; only then is ``target`` there."""
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        decryptor = ChunkDecryptor(self.backend, ref)
        received = 0
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                async with await self.signed("GET", f"/api/blobs/{ref.blob}") as response:
                    if response.status >= 400:
                        await self._response_json(response)
                    async for data in response.content.iter_chunked(256 * 1024):
                        received += len(data)
                        for chunk in await decryptor.feed(data):  # out of sight in the .part file until finish()
                            handle.write(chunk.unverified_plaintext)
                        progress(received)
                await decryptor.finish(room=room_id, sender=opened.sender, message_id=opened.message_id,
                                       sender_public_key=opened.signer_key)
            os.replace(temporary, target)
        finally:
            temporary.unlink(missing_ok=True)
