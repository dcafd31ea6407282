"""The composer: seal a message (and its files) for the room's members and send it.

A message goes out over the WebSocket as ``{type: "send", ref, room, envelope}``;
the server answers ``sent`` or ``error`` with the same ``ref``. What to do
after a refusal (reload the members, wait out a rate limit) is
``pyclient.sending`` (pure).
"""

import asyncio
import math
import os
import secrets

from ..protocol.encoding import b64decode
from ..protocol.envelope import encode_envelope, seal
from ..sending import SendRefused, deliver
from .dom import by_id, on, show_error, toast
from .files import Cancelled
from .i18n import _, ngettext
from .net import ApiError

REPLY_SECONDS = 15  # no answer from the server by then: the person is told to try again


class Composer:
    def __init__(self, session, rooms, files, *, socket, refresh_members, key_changed):
        """``socket()``: the open Socket; ``refresh_members()``: reload the open room's members;
        ``key_changed()``: whether a member's key changed and is not verified again yet."""
        self.session = session
        self.rooms = rooms
        self.files = files
        self._socket = socket
        self._refresh_members = refresh_members
        self._key_changed = key_changed
        self.awaiting: dict[str, asyncio.Future] = {}  # message id -> the server's answer

    def bind(self) -> None:
        on("composer", "submit", self.on_send)

    @staticmethod
    def error(message: str | None) -> None:
        show_error("composer-error", message)

    def answered(self, frame: dict) -> bool:
        """Hand the server's ``sent``/``error`` answer to the message waiting for it."""
        future = self.awaiting.get(frame.get("ref"))
        if future is None:
            return False
        if not future.done():
            future.set_result(frame)
        return True

    async def on_send(self, _event) -> None:
        text = by_id("composer-text").value
        if (not text.strip() and not self.files.pending) or self.rooms.open_id is None:
            return
        if self._key_changed():
            self.error(_("A member's key changed. Compare safety numbers and mark the key as "
                         "verified before you send: until then it could be someone else's key."))
            return
        button = by_id("send")
        button.disabled = True
        room_name = self.rooms.name(self.rooms.open_id)
        files = len(self.files.pending)
        try:
            message_id = secrets.token_hex(16)
            if files:
                refs = await self.files.upload_all(self.rooms.open_id, message_id)
                payload = {"kind": "files", "body": text, "files": refs}
            else:
                payload = {"kind": "text", "body": text}
            delayed = await self.send_payload(payload, message_id)
        except Cancelled:
            self.error(_("Upload cancelled. Your files are still attached: send again when ready."))
            return
        except (ApiError, SendRefused, asyncio.TimeoutError) as error:
            reason = getattr(error, "message", _("The server did not confirm the message. Try again."))
            self.error(reason)
            if files:  # a text-only failure is said under the composer; an upload is worth a toast too
                toast(_("Upload failed: {reason} Nothing is lost: your text and files are still in the composer.",
                        reason=reason), seconds=8)
            return
        finally:
            button.disabled = False
        self.error(None)
        by_id("composer-text").value = ""
        self.files.pending = []
        self.files.render_pending()
        # A text message shows its state in its bubble; files, or a message that had to wait, get a toast.
        if files:
            toast(ngettext("Sent with {count} file to “{room}”.", "Sent with {count} files to “{room}”.", files,
                           room=room_name))
        elif delayed:
            toast(_("Your message to “{room}” went out.", room=room_name))

    async def send_payload(self, payload: dict, message_id: str) -> bool:
        """Seal for the open room's members and send; resent after a refusal worth retrying.

        True if it had to wait (rate limited) before it went out."""
        room_id = self.rooms.open_id
        waited = []

        async def attempt() -> dict:
            recipients = {user_id: b64decode(key, "public_key") for user_id, key in self.rooms.recipients().items()}
            envelope = await seal(
                self.session.backend, room=room_id, sender=self.session.me["id"], message_id=message_id,
                sender_private_key=self.session.private_key, recipients=recipients, payload=payload,
                random_bytes=os.urandom)
            future = asyncio.get_running_loop().create_future()
            self.awaiting[message_id] = future
            try:
                await self._socket().send({"type": "send", "ref": message_id, "room": room_id,
                                           "envelope": encode_envelope(envelope)})
                return await asyncio.wait_for(future, REPLY_SECONDS)
            finally:
                self.awaiting.pop(message_id, None)

        async def wait(seconds: float) -> None:
            # Refused, so nothing was stored: the same message can safely go again.
            toast(_("You are sending quickly. Your message goes out in {seconds} s.", seconds=math.ceil(seconds)))
            waited.append(seconds)
            await asyncio.sleep(seconds)

        await deliver(attempt, refresh_members=self._refresh_members, wait=wait)
        return bool(waited)
