"""The page controller: sign-in, keys, rooms and messages.

It wires the pure protocol (``pyclient.protocol``) to the browser adapters.
Plaintext exists only in this page; the server gets envelopes.
"""

import asyncio
import base64
import math
import os
import secrets

import js

from ..errors import BadSignature, ProtocolError
from ..protocol.envelope import encode_envelope, open_envelope, parse_envelope, seal
from ..protocol.kdf import (
    ACCOUNT_PBKDF2_ITERATIONS,
    account_password_bytes,
    account_salt,
    split_master_key,
)
from ..names import label
from ..protocol.keys import fingerprint, format_fingerprint
from . import i18n
from .account import AccountSettings
from .files import Attachments, Cancelled
from .identities import LinkedSignIns, PassphraseScreen, came_back_from_provider
from .i18n import _, format_datetime, format_message_time
from .invites import Invites, remember_invite_from_url
from .sessions import SessionsPanel
from .dom import append_trees, attach_listeners, by_id, clear, on, set_text, show, show_error, toast, tree
from .env import IN_WORKER, document, now_ms, page_state, window
from .expiry import Countdowns
from .idb import Store
from .keys import KeyRing, NeedKeyFile
from .membership import RoomLife
from .net import Api, ApiError, Socket
from .notify import Notifier
from .screens import Screens
from .share import pending_share, take_shared
from .search import SearchPanel
from .verify import Verification

UNLOCK_KEY = "sealroom.keystore"
THEME_KEY = "sealroom.theme"  # "system", "light" or "dark" (read early by web/static/shell.js)
ONBOARDED_KEY = "sealroom.onboarded"  # the three first-run steps were read in this browser
RATE_LIMIT_WAIT_SECONDS = 60.0  # longer than this, the person is told instead of waiting
HISTORY_PAGE = 200  # messages per page of /api/rooms/ID/messages (server.domain.rooms.HISTORY_PAGE)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)


def make_backend(forced_pure: bool):
    # "sealroom.backend" = "pure" in localStorage forces the reference backend
    # (troubleshooting, and the benchmarks' comparison).
    if not forced_pure and getattr(js, "crypto", None) is not None and getattr(js.crypto, "subtle", None) is not None:
        from ..crypto.webcrypto import WebCryptoBackend
        return WebCryptoBackend()
    if IN_WORKER:  # already off the main thread
        from ..crypto.pure import PureBackend
        return PureBackend()
    # No cross-origin isolation and no WebCrypto (a plain-HTTP origin that is
    # not localhost): Python runs on the main thread, so the pure backend gets
    # a worker of its own, where RSA key generation cannot freeze the page.
    from .worker_backend import WorkerBackend
    return WorkerBackend()


class App:
    def __init__(self):
        state = page_state()
        i18n.load(state["catalog"], state["language"])
        self.api = Api(state["csrf"])
        self.backend = make_backend(state["backend"] == "pure")
        self.store: Store | None = None
        self.socket: Socket | None = None
        self.me: dict | None = None
        self.private_key = b""
        self.public_key = b""
        self.rooms: dict[str, dict] = {}
        self.room_id: str | None = None
        self.members: dict[str, dict] = {}
        self.shown: set[int] = set()  # seqs of the open room's messages already on the page
        self.people: dict[str, str] = {}  # user id -> username, for notifications
        self.loading_older = False
        self.history_complete = False
        self.verification: Verification | None = None
        self.keyring = KeyRing(self)
        self.awaiting: dict[str, asyncio.Future] = {}
        self.registering = False
        self.files = Attachments(self)
        self.sessions = SessionsPanel(self)
        self.invites = Invites(self)
        self.search = SearchPanel(self)
        self.countdowns = Countdowns(lambda: self.rooms, self.remove_room)
        self.screens = Screens(self.open_room_from_url, lambda: self.room_id,
                               on_room_shown=lambda room_id: self.notifier.read(room_id))
        self.notifier = Notifier(self.open_room, self.render_rooms)
        me, set_me = (lambda: self.me), (lambda user: setattr(self, "me", user))
        self.passphrase = PassphraseScreen(self.backend, self.enter_remembered, lambda: self.on_logout(None))
        self.account = AccountSettings(self.api, self.backend, self.keyring, me, set_me, self.remember_unlock,
                                       self.forget_session)
        self.linked_sign_ins = LinkedSignIns(self.api, self.backend, me, set_me)
        self.room_life = RoomLife(self.api, me, lambda: self.rooms.get(self.room_id), self.remove_room,
                                  self.refresh_members)

    # ---- boot and account ------------------------------------------------

    def step(self, text: str) -> None:
        set_text("boot-step", text)

    async def start(self) -> None:
        body = document.body
        body.dataset.backend = self.backend.name
        body.dataset.thread = "worker" if IN_WORKER else "main"
        self.store = await Store.open()
        remember_invite_from_url()
        returning = came_back_from_provider()
        self.bind_events()
        attach_listeners()  # before pyReady: from then on, shell.js no longer keeps a submit for Python
        body.dataset.pyReady = "1"
        body.dataset.bootMs = str(round(now_ms()))
        if body.getAttribute("data-queued-switch") == "1":  # "Create an account" chosen while Python was starting
            self.registering = True
            self.render_auth_mode()
        if body.getAttribute("data-queued-submit") == "auth-form":  # submitted while Python was starting
            body.removeAttribute("data-queued-submit")
            await self.on_auth_submit(None)
            return
        if not page_state()["session"] and not returning:
            self.show_auth()
            return
        try:
            self.me = (await self.api.call("GET", "/api/me"))["user"]
        except ApiError:
            self.show_auth()
            return
        unlock = window.sessionStorage.getItem(f"{UNLOCK_KEY}.{self.me['id']}")
        if not unlock:
            # Signed in, but this tab has never held the password (or passphrase): ask again.
            if self.me.get("password") is False:
                self.passphrase.ask(self.me)
            else:
                self.show_auth(username=self.me["username"], note=_("Enter your password to unlock your key in this tab."))
            return
        await self.enter(_unb64(unlock))

    def bind_events(self) -> None:
        on("auth-form", "submit", self.on_auth_submit)
        on("auth-switch", "click", self.on_auth_switch)
        on("logout", "click", self.on_logout)
        on("new-room-form", "submit", self.on_new_room)
        on("room-list", "click", self.on_room_chosen)
        on("onboarding-done", "click", self.on_onboarded)
        on("profile-form", "submit", self.on_profile)
        on("theme-choice", "change", self.on_theme)
        on("messages", "scroll", self.on_messages_scroll)
        on("jump-newest", "click", self.on_jump_newest)
        on("add-member-form", "submit", self.on_add_member)
        on("rename-form", "submit", self.on_rename)
        on("composer", "submit", self.on_send)
        self.files.bind()
        self.screens.bind()
        self.notifier.bind()
        on("document", "visibilitychange", self.on_visibility)
        self.sessions.bind()
        self.invites.bind()
        self.search.bind()
        self.passphrase.bind()
        self.account.bind()
        self.linked_sign_ins.bind()
        self.room_life.bind()

    def show_auth(self, username: str = "", note: str = "") -> None:
        show("boot", False)
        show("chat", False)
        show("whoami", False)
        show("auth")
        if username:
            by_id("auth-username").value = username
        show_error("auth-error", note or None)
        self.render_auth_mode()

    def render_auth_mode(self) -> None:
        set_text("auth-title", _("Create your account") if self.registering else _("Sign in"))
        set_text("auth-submit", _("Create account") if self.registering else _("Sign in"))
        set_text("auth-switch", _("Have an account? Sign in") if self.registering else _("New here? Create an account"))
        by_id("auth-password").setAttribute("autocomplete", "new-password" if self.registering else "current-password")
        show("auth-backup-label", self.registering)
        show("auth-display-name-label", self.registering)

    async def on_auth_switch(self, _event) -> None:
        self.registering = not self.registering
        self.render_auth_mode()

    async def on_auth_submit(self, _event) -> None:
        username = by_id("auth-username").value.strip()
        password = by_id("auth-password").value
        if len(password) < 8:
            show_error("auth-error", _("Use a password of at least 8 characters."))
            return
        button = by_id("auth-submit")
        button.disabled = True
        show_error("auth-error", None)
        try:
            set_text("auth-submit", _("Deriving your keys…"))
            master = await self.backend.pbkdf2_sha256(
                account_password_bytes(password), account_salt(username), ACCOUNT_PBKDF2_ITERATIONS, 32)
            auth_key, keystore_key = split_master_key(master)
            path = "/api/register" if self.registering else "/api/login"
            body = {"username": username, "auth_key": _b64(auth_key)}
            if self.registering and by_id("auth-display-name").value.strip():
                body["display_name"] = by_id("auth-display-name").value
            self.me = (await self.api.call("POST", path, body))["user"]
        except ApiError as error:
            show_error("auth-error", error.message)
            return
        finally:
            button.disabled = False
            self.render_auth_mode()
        by_id("auth-password").value = ""
        await self.enter_remembered(keystore_key)

    def remember_unlock(self, keystore_key: bytes) -> None:
        """A reload of this tab stays unlocked (protocol 4); a new tab asks again."""
        window.sessionStorage.setItem(f"{UNLOCK_KEY}.{self.me['id']}", _b64(keystore_key))

    async def enter_remembered(self, keystore_key: bytes) -> None:
        self.remember_unlock(keystore_key)
        show("auth", False)
        show("boot")
        await self.enter(keystore_key)

    async def enter(self, keystore_key: bytes) -> None:
        try:
            await self.keyring.load_or_create(keystore_key)
        except NeedKeyFile:
            self.keyring.show_import(self.unlocked)
            return
        except (ApiError, ProtocolError) as error:
            if self.me.get("password") is False:
                self.passphrase.ask(self.me, error)
            else:
                self.show_auth(username=self.me["username"], note=_("Your key could not be unlocked: {reason}",
                                                                    reason=error.message))
            return
        await self.unlocked()

    async def unlocked(self) -> None:
        self.private_key, self.public_key = self.keyring.current
        self.verification = Verification(self.store, self.me, self.public_key)
        show("auth", False)
        show("whoami")
        set_text("me-name", label(self.me))
        self.account.render()
        by_id("profile-display-name").value = self.me.get("display_name") or ""
        self.files.max_bytes = (await self.api.call("GET", "/api/me"))["limits"]["max_upload_bytes"]
        set_text("my-fingerprint", format_fingerprint(fingerprint(self.public_key)))
        self.keyring.render()
        show("onboarding", window.localStorage.getItem(ONBOARDED_KEY) != "1")
        self.socket = Socket(self.on_frame, self.on_signed_out)
        self.socket.connect()
        await self.load_rooms()
        # The chat replaces the loading screen only now, drawn whole: nothing in it
        # moves once it is on screen (Lighthouse's Cumulative Layout Shift).
        show("boot", False)
        show("chat")
        self.countdowns.start()
        await self.screens.apply_url()  # a deep link (#/room/ID) opens its room
        await self.receive_share()
        await self.invites.accept_pending()
        document.body.dataset.ready = "1"

    async def receive_share(self) -> None:
        """What another app shared waits in the composer until the person picks a room."""
        state = pending_share()
        if not state:
            return
        window.history.replaceState(None, "", "/" + window.location.hash)
        if state != "1":
            toast(_("Sharing into SealRoom works once the app is installed on this device. Nothing was sent."), 8)
            return
        text, files = await take_shared()
        if text:
            by_id("composer-text").value = text
        self.files.add(files)
        if text or files:
            self.screens.go("list")
            toast(_("Pick a room for what you shared: it is encrypted before it leaves this page."), 8)

    async def on_profile(self, _event) -> None:
        """The display name shown beside the username; empty removes it."""
        try:
            user = (await self.api.call("PATCH", "/api/me", {"display_name": by_id("profile-display-name").value}))["user"]
        except ApiError as error:
            show_error("profile-error", error.message)
            return
        show_error("profile-error", None)
        self.me = {**self.me, **user}
        set_text("me-name", label(self.me))
        toast(_("Your display name is saved."))

    async def on_theme(self, event) -> None:
        """System, light or dark: kept in this browser and applied at once (and by shell.js on the next load)."""
        choice = event.target.value
        window.localStorage.setItem(THEME_KEY, choice)
        if choice in ("light", "dark"):
            document.documentElement.dataset.theme = choice
        else:
            document.documentElement.removeAttribute("data-theme")

    async def on_onboarded(self, _event) -> None:
        window.localStorage.setItem(ONBOARDED_KEY, "1")
        show("onboarding", False)
        by_id("new-room-toggle").focus()

    async def on_key_rotated(self) -> None:
        self.private_key, self.public_key = self.keyring.current
        self.verification = Verification(self.store, self.me, self.public_key)
        set_text("my-fingerprint", format_fingerprint(fingerprint(self.public_key)))
        if self.room_id is not None:
            await self.open_room(self.room_id, navigate=False)

    async def on_signed_out(self, reason: str) -> None:
        """The server ended this session: signed out elsewhere, password changed, or account deleted."""
        self.forget_session(self.account.signed_out_note(reason))

    async def on_logout(self, _event) -> None:
        if self.me and self.public_key and not self.keyring.confirm_logout():
            return
        try:
            await self.api.call("POST", "/api/logout")
        except ApiError as error:
            toast(error.message)
        self.forget_session(_("You are signed out."))

    def forget_session(self, note: str) -> None:
        """Drop everything this tab unlocked, and show the sign-in form."""
        if self.me:
            window.sessionStorage.removeItem(f"{UNLOCK_KEY}.{self.me['id']}")
        if self.socket:
            self.socket.close()
        self.countdowns.stop()
        self.me, self.private_key, self.room_id = None, b"", None
        self.search.forget()
        window.history.replaceState(None, "", "/")
        self.show_auth(note=note)

    # ---- rooms ----------------------------------------------------------

    async def load_rooms(self) -> None:
        rooms = (await self.api.call("GET", "/api/rooms"))["rooms"]
        self.rooms = {room["id"]: room for room in rooms}
        self.search.keep_rooms(self.rooms)
        self.render_rooms()

    def render_rooms(self) -> None:
        room_list = by_id("room-list")
        clear(room_list)
        append_trees(room_list, [
            tree("li", tree("button", tree("span", room["name"], cls="room-label"), self.unread_badge(room["id"]),
                            self.countdown(room["expires_at"]),
                            cls="active" if room["id"] == self.room_id else None, type="button",
                            data_room=room["id"]))
            for room in self.rooms.values()])
        show("no-rooms", not self.rooms)

    def countdown(self, expires_at: str) -> list:
        text, level = self.countdowns.label(expires_at)
        return tree("span", text, cls="countdown", data_expires=expires_at, data_warning=level)

    def unread_badge(self, room_id: str) -> list | None:
        count = self.notifier.unread.count(room_id)
        if not count:
            return None
        return tree("span", str(count), cls="unread", aria_label=_("{count} unread", count=count))

    async def on_room_chosen(self, event) -> None:
        button = event.target.closest("[data-room]")
        if button is not None:
            await self.open_room(button.getAttribute("data-room"))

    async def on_new_room(self, _event) -> None:
        name = by_id("new-room-name").value
        members = [m.strip() for m in by_id("new-room-members").value.split(",") if m.strip()]
        try:
            room = (await self.api.call("POST", "/api/rooms", {"name": name, "members": members}))["room"]
        except ApiError as error:
            show_error("new-room-error", error.message)
            return
        show_error("new-room-error", None)
        show("new-room-form", False)
        by_id("new-room-toggle").setAttribute("aria-expanded", "false")
        by_id("new-room-name").value = ""
        by_id("new-room-members").value = ""
        self.rooms[room["id"]] = room
        toast(_("Room “{name}” created.", name=room["name"]))
        await self.open_room(room["id"])

    async def on_rename(self, _event) -> None:
        try:
            room = (await self.api.call("PATCH", f"/api/rooms/{self.room_id}",
                                        {"name": by_id("rename-name").value}))["room"]
        except ApiError as error:
            toast(error.message)
            return
        self.rooms[room["id"]] = room
        set_text("room-name", room["name"])
        by_id("rename-name").value = room["name"]
        by_id("rename-panel").open = False
        self.render_rooms()
        toast(_("Room renamed to “{name}”.", name=room["name"]))

    async def on_add_member(self, _event) -> None:
        username = by_id("add-member-name").value.strip()
        try:
            await self.api.call("POST", f"/api/rooms/{self.room_id}/members", {"username": username})
        except ApiError as error:
            show_error("add-member-error", error.message)
            return
        show_error("add-member-error", None)
        by_id("add-member-name").value = ""
        toast(_("{name} was added.", name=username))
        await self.refresh_members()

    async def refresh_members(self) -> None:
        room = (await self.api.call("GET", f"/api/rooms/{self.room_id}"))["room"]
        self.rooms[room["id"]] = room
        self.members = {member["id"]: member for member in room["members"]}
        self.people.update({member["id"]: label(member) for member in room["members"]})
        await self.verification.load(self.members)
        self.verification.render(self.members, self.on_verified)
        self.room_life.render()

    async def on_verified(self) -> None:
        await self.open_room(self.room_id, navigate=False)  # messages under the newly verified key lose their warning

    async def open_room(self, room_id: str, navigate: bool = True) -> bool:
        """Show the room; ``navigate`` also makes it the current screen (a history entry)."""
        if room_id not in self.rooms:
            toast(_("This room does not exist any more, or you are not a member."))
            return False
        self.room_id = room_id
        self.render_rooms()
        show("room")
        show("invite-panel", False)
        clear(by_id("messages"))
        self.shown = set()
        try:
            await self.refresh_members()
            messages = (await self.api.call("GET", f"/api/rooms/{room_id}/messages"))["messages"]
        except ApiError as error:
            toast(error.message)
            return False
        room = self.rooms[room_id]
        set_text("room-name", room["name"])
        set_text("room-expiry", _("This room and everything in it is deleted on {when}.",
                                  when=format_datetime(room["expires_at"])))
        header = by_id("room-countdown")
        header.dataset.expires = room["expires_at"]
        header.textContent, header.dataset.warning = self.countdowns.label(room["expires_at"])
        self.history_complete = len(messages) < HISTORY_PAGE
        await self.show_messages(messages)
        self.notifier.seen(room_id, [message["seq"] for message in messages])
        if navigate:
            self.screens.go("room", room_id)
        return True

    async def open_room_from_url(self, room_id: str) -> bool:
        return await self.open_room(room_id, navigate=False)

    async def remove_room(self, room_id: str, note: str | None = None) -> None:
        """The room expired, was deleted, or this user left it: drop it from the page."""
        room = self.rooms.pop(room_id, None)
        if room is None:
            return
        if self.room_id == room_id:
            self.room_id, self.members = None, {}
            show("room", False)
            clear(by_id("messages"))
            self.shown = set()
            clear(by_id("member-list"))
            by_id("room-countdown").removeAttribute("data-expires")
            set_text("room-countdown", "")
            self.files.pending = []  # files chosen for this room will never be sent
            self.files.render_pending()
            self.screens.go("list")
        self.notifier.forget(room_id)
        self.render_rooms()
        toast(note or _("“{room}” reached its expiry and was deleted, with everything in it.", room=room["name"]))

    # ---- messages -------------------------------------------------------

    def composer_error(self, message: str | None) -> None:
        show_error("composer-error", message)

    async def show_messages(self, messages: list[dict], *, older: bool = False) -> None:
        """Verify, open and show messages in one DOM update: from the worker each DOM call crosses to the page.

        New messages go at the end, and the list follows them only if the reader
        was at the end; ``older`` ones go on top, keeping what the reader sees in place.
        """
        items, autoload = [], []
        for message in messages:
            if message["seq"] in self.shown:
                continue
            self.shown.add(message["seq"])
            item, keys = await self.message_tree(message)
            items.append(item)
            autoload += keys
        if not items:
            return
        container = by_id("messages")
        height, top = container.scrollHeight, container.scrollTop
        at_end = height - top - container.clientHeight < 80
        append_trees(container, items, container.firstChild if older else None)
        for key in autoload:  # pictures, video and sound open by themselves
            self.files.open_by_key(container, key)
        if older:
            container.scrollTop = top + container.scrollHeight - height
        elif at_end or len(items) == len(self.shown):
            container.scrollTop = container.scrollHeight
        else:
            show("jump-newest")

    async def on_messages_scroll(self, _event) -> None:
        """Near the top: the previous page of history. At the end: no "jump to newest"."""
        container = by_id("messages")
        if container.scrollHeight - container.scrollTop - container.clientHeight < 80:
            show("jump-newest", False)
        if container.scrollTop > 200 or self.loading_older or self.history_complete or not self.shown:
            return
        self.loading_older, room_id = True, self.room_id
        try:
            older = (await self.api.call("GET", f"/api/rooms/{room_id}/messages?before={min(self.shown)}"))["messages"]
        except ApiError as error:
            toast(error.message)
            return
        finally:
            self.loading_older = False
        if room_id == self.room_id:
            self.history_complete = len(older) < HISTORY_PAGE
            await self.show_messages(older, older=True)

    async def on_jump_newest(self, _event) -> None:
        container = by_id("messages")
        container.scrollTop = container.scrollHeight
        show("jump-newest", False)

    async def message_tree(self, message: dict) -> tuple[list, list[str]]:
        """The message as a DOM tree (with its attachments if it verified), and the attachments to open at once."""
        sent_at = tree("time", format_message_time(message["created_at"]), datetime=message["created_at"],
                       title=format_datetime(message["created_at"]))
        try:
            envelope = parse_envelope(message["envelope"])
            sender = self.members.get(envelope.sender)
            if sender is None or sender["public_key"] is None:
                raise BadSignature(_("the sender is not a member of this room"))
            payload, trusted, signer_key = await self.open_from(sender, envelope)
        except ProtocolError as error:
            warning = _("This message failed a security check ({check}): {reason}. It is not shown.",
                        check=error.kind.replace("_", " "), reason=error.message)
            return tree("li", tree("div", tree("span", _("⚠ Unverified"), cls="badge"), sent_at, cls="meta"),
                        tree("div", warning, cls="body warning"), cls="message", data_seq=message["seq"],
                        data_status="unverified", data_failed=error.kind), []
        name = label(sender)
        if trusted:
            status, failed, badge = "verified", None, _("✓ Verified from {name}", name=name)
        else:
            status, failed, badge = "unverified", "key_changed", _("⚠ Unverified key: {name}'s key changed", name=name)
        boxes, autoload = [], []
        if payload["kind"] == "files" and trusted:
            boxes, autoload = self.files.boxes(payload["files"], room=envelope.room, sender=sender,
                                               message_id=envelope.id, sender_key=signer_key)
        self.search.remember(self.room_id, message, name, payload["body"])
        mine = "mine" if sender["id"] == self.me["id"] else "theirs"
        body = tree("div", payload["body"], cls="body") if payload["body"] else None
        return tree("li", tree("div", tree("span", badge, cls="badge"), sent_at, cls="meta"), body, *boxes,
                    cls=f"message {mine}", data_seq=message["seq"], data_status=status,
                    data_failed=failed), autoload

    async def open_from(self, sender: dict, envelope) -> tuple[dict, bool, bytes]:
        """Open with the sender's pinned key, earlier trusted keys, then the server's current key.

        Returns the payload, whether the key that verified is trusted, and that key.
        """
        failure = None
        my_private_key, my_public_key = self.keyring.pair_for(envelope)
        if sender["id"] == self.me["id"]:
            candidates = [(public_key, True) for public_key in self.keyring.public_keys()]
        else:
            candidates = self.verification.signer_keys(sender)
        for public_key, trusted in candidates:
            try:
                payload = await open_envelope(
                    self.backend, envelope, room=self.room_id, sender_public_key=public_key,
                    me=self.me["id"], my_private_key=my_private_key, my_public_key=my_public_key)
            except BadSignature as error:
                failure = error
                continue
            return payload, trusted, public_key
        raise failure

    async def on_send(self, _event) -> None:
        text = by_id("composer-text").value
        if (not text.strip() and not self.files.pending) or self.room_id is None:
            return
        if self.verification.changed():
            show_error("composer-error", _("A member's key changed. Compare safety numbers and mark the key as "
                                           "verified before you send: until then it could be someone else's key."))
            return
        button = by_id("send")
        button.disabled = True
        try:
            message_id = secrets.token_hex(16)
            if self.files.pending:
                refs = await self.files.upload_all(self.room_id, message_id)
                payload = {"kind": "files", "body": text, "files": refs}
            else:
                payload = {"kind": "text", "body": text}
            await self.send_payload(payload, message_id)
        except Cancelled:
            self.composer_error(_("Upload cancelled. Your files are still attached: send again when ready."))
            return
        except (ApiError, asyncio.TimeoutError) as error:
            self.composer_error(getattr(error, "message", _("The server did not confirm the message. Try again.")))
            return
        finally:
            button.disabled = False
        self.composer_error(None)
        by_id("composer-text").value = ""
        self.files.pending = []
        self.files.render_pending()

    async def send_payload(self, payload: dict, message_id: str, retry: bool = True) -> None:
        room_id = self.room_id
        recipients = {m["id"]: _unb64(m["public_key"]) for m in self.members.values() if m["public_key"]}
        envelope = await seal(
            self.backend, room=room_id, sender=self.me["id"], message_id=message_id,
            sender_private_key=self.private_key, recipients=recipients, payload=payload, random_bytes=os.urandom)
        future = asyncio.get_running_loop().create_future()
        self.awaiting[message_id] = future
        try:
            await self.socket.send({"type": "send", "ref": message_id, "room": room_id,
                                    "envelope": encode_envelope(envelope)})
            reply = await asyncio.wait_for(future, 15)
        finally:
            self.awaiting.pop(message_id, None)
        if reply["type"] == "error":
            if reply["error"] == "stale_members" and retry:
                await self.refresh_members()
                await self.send_payload(payload, message_id, retry=False)
                return
            wait = float(reply.get("retry_after") or 0)
            if reply["error"] == "rate_limited" and 0 < wait <= RATE_LIMIT_WAIT_SECONDS:
                # Refused, so nothing was stored: the same message can safely go again.
                toast(_("You are sending quickly. Your message goes out in {seconds} s.", seconds=math.ceil(wait)))
                await asyncio.sleep(wait)
                await self.send_payload(payload, message_id, retry=retry)
                return
            raise ApiError(400, reply["error"], reply["message"])

    @staticmethod
    def sender_of(frame: dict) -> str | None:
        """Who the envelope says sent it, for notices only: nothing is shown before it verifies."""
        try:
            return parse_envelope(frame["envelope"]).sender
        except ProtocolError:
            return None

    async def on_visibility(self, _event) -> None:
        if document.visibilityState == "visible":
            self.notifier.read(self.room_id)

    async def catch_up(self) -> None:
        """After a reconnect: anything sent while the socket was down."""
        await self.load_rooms()
        if self.room_id in self.rooms:
            messages = (await self.api.call("GET", f"/api/rooms/{self.room_id}/messages"))["messages"]
            await self.show_messages(messages)

    async def on_frame(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "hello" and self.socket.connections > 1:
            await self.catch_up()
        elif kind in ("sent", "error") and frame.get("ref") in self.awaiting:
            self.awaiting[frame["ref"]].set_result(frame)
        elif kind == "error":
            toast(frame.get("message", _("The server refused a request.")))
        elif kind == "message":
            sender = self.sender_of(frame)
            if sender != self.me["id"]:  # what this person wrote on another device is no news to them
                room_name = self.rooms.get(frame["room"], {}).get("name", "…")
                looking_at = self.room_id if self.screens.viewing_room() else None
                self.notifier.arrived(frame["room"], frame["seq"], open_room=looking_at, room_name=room_name,
                                      sender_name=self.people.get(sender, "…"))
                if frame["room"] != self.room_id:
                    toast(_("New message in {room}.", room=room_name))
            if frame["room"] == self.room_id:
                await self.show_messages([frame])
        elif kind == "room_expired":
            await self.remove_room(frame["room"])
        elif kind == "room_removed":  # left, removed by its creator, or deleted by its creator
            name = self.rooms.get(frame["room"], {}).get("name", "…")
            await self.remove_room(frame["room"], {
                "left": _("You left “{room}”.", room=name),
                "removed": _("You were removed from “{room}”.", room=name),
            }.get(frame.get("reason"), _("“{room}” was deleted by its creator, with everything in it.", room=name)))
        elif kind == "room":
            change, room_name = frame.get("change") or {}, frame["room"]["name"]
            who = change.get("username", "…")
            if change.get("kind") == "left":
                toast(_("{name} left “{room}”.", name=who, room=room_name))
            elif change.get("kind") == "removed":
                toast(_("{name} was removed from “{room}”.", name=who, room=room_name))
            elif change.get("kind") == "account_deleted":
                toast(_("{name} deleted their account and left “{room}”.", name=who, room=room_name))
            await self.load_rooms()
            if frame["room"]["id"] == self.room_id:
                set_text("room-name", frame["room"]["name"])  # a member may have renamed it
                await self.refresh_members()


async def start() -> None:
    await App().start()
