"""The page controller: boot, unlocking, and routing the server's frames to the views.

It builds the shared state (``Session``, the pure ``RoomList``) and the views,
hands each view only what it needs, and wires them together. The rules live
in pure modules (``pyclient.rooms``, ``timeline``, ``messages``, ``sending``,
``unread``, ``trust``, ``expiry``) that CPython tests cover; the views are
thin. A new panel is one module with a ``bind()`` and one line in ``panels``.
Plaintext exists only in this page; the server gets envelopes.
"""

import js

from ..errors import ProtocolError
from ..messages import claimed_sender
from ..names import label
from ..protocol.keys import fingerprint, format_fingerprint
from ..rooms import RoomList
from ..unread import is_news, toasts
from . import i18n, share
from .account import AccountSettings
from .auth import SignIn, forget_unlock, remember_unlock, remembered_unlock
from .composer import Composer
from .conversation import Conversation
from .dates import page_dates
from .details import RoomDetails
from .dom import attach_listeners, on, set_text, show, toast
from .env import IN_WORKER, document, now_ms, page_state, window
from .expiry import Countdowns
from .files import Attachments
from .i18n import _
from .identities import LinkedSignIns, PassphraseScreen, came_back_from_provider
from .idb import Store
from .invites import Invites, remember_invite_from_url
from .keys import KeyRing, NeedKeyFile
from .membership import RoomLife
from .net import Api, ApiError, Socket
from .notify import Notifier
from .room_list import RoomListView
from .screens import Screens
from .search import SearchPanel
from .session import Session
from .sessions import SessionsPanel
from .settings import Onboarding, Profile, Theme
from .verify import MemberList, Verification


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


def step(text: str) -> None:
    """What boot is doing, under the progress bar."""
    set_text("boot-step", text)


class App:
    def __init__(self):
        state = page_state()
        i18n.load(state["catalog"], state["language"])
        session = self.session = Session(Api(state["csrf"]), make_backend(state["backend"] == "pure"))
        rooms = self.rooms = RoomList()
        dates = page_dates()
        self.socket: Socket | None = None
        self.verification: Verification | None = None
        self.keyring = KeyRing(session, step=step, on_rotated=self.on_key_rotated)
        self.countdowns = Countdowns(lambda: rooms.rooms, self.remove_room)
        self.notifier = Notifier(self.open_room, self.render_rooms)
        self.screens = Screens(self.open_room_from_url, lambda: rooms.open_id,
                               on_room_shown=lambda room_id: self.notifier.read(room_id))
        self.sign_in = SignIn(session, self.enter_remembered)
        self.profile = Profile(session)
        self.files = Attachments(session, Composer.error)
        self.search = SearchPanel(session, rooms, load_rooms=self.load_rooms, open_room=self.open_room)
        self.room_list = RoomListView(rooms, session.api, dates, unread=self.notifier.unread.count,
                                      countdown=Countdowns.label, open_room=self.open_room)
        self.details = RoomDetails(rooms, session.api, dates, countdown=Countdowns.label,
                                   refresh_members=self.refresh_members, on_renamed=self.render_rooms)
        self.conversation = Conversation(session, rooms, self.keyring, lambda: self.verification, self.files,
                                         dates, remember=self.search.remember)
        self.composer = Composer(session, rooms, self.files, socket=lambda: self.socket,
                                 refresh_members=self.refresh_members,
                                 key_changed=lambda: bool(self.verification.changed()))
        self.invites = Invites(session.api, rooms, self.open_room)
        self.member_list = MemberList(lambda: self.verification, lambda: rooms.members, self.on_verified)
        me, set_me = (lambda: session.me), (lambda user: setattr(session, "me", user))
        self.passphrase = PassphraseScreen(session.backend, self.enter_remembered, lambda: self.on_logout(None))
        self.account = AccountSettings(session.api, session.backend, self.keyring, me, set_me,
                                       lambda keystore_key: remember_unlock(session.me["id"], keystore_key),
                                       self.forget_session)
        self.linked_sign_ins = LinkedSignIns(session.api, session.backend, me, set_me)
        self.provider_failure = ""  # why the trip through a sign-in provider failed, if it did
        self.room_life = RoomLife(session.api, me, lambda: rooms.get(rooms.open_id), lambda: rooms.members,
                                  self.remove_room, self.refresh_members)
        # Everything with event handlers on the page; a new panel is one more line here.
        self.panels = [self.sign_in, self.profile, Theme(), Onboarding(), self.room_list, self.details,
                       self.member_list, self.conversation, self.composer, self.files, self.screens, self.notifier,
                       SessionsPanel(session.api), self.invites, self.search, self.passphrase, self.account,
                       self.linked_sign_ins, self.room_life]

    # ---- boot and account ------------------------------------------------

    async def start(self) -> None:
        body = document.body
        body.dataset.backend = self.session.backend.name
        body.dataset.thread = "worker" if IN_WORKER else "main"
        self.session.store = await Store.open()
        remember_invite_from_url()
        # The provider's redirect may hold back the session cookie.
        returning, self.provider_failure = came_back_from_provider()
        for panel in self.panels:
            panel.bind()
        on("logout", "click", self.on_logout)
        on("document", "visibilitychange", self.on_visibility)
        attach_listeners()  # before pyReady: from then on, shell.js no longer keeps a submit for Python
        body.dataset.pyReady = "1"
        body.dataset.bootMs = str(round(now_ms()))
        if body.getAttribute("data-queued-switch") == "1":  # "Create an account" chosen while Python was starting
            self.sign_in.registering = True
            self.sign_in.render_mode()
        if body.getAttribute("data-queued-submit") == "auth-form":  # submitted while Python was starting
            body.removeAttribute("data-queued-submit")
            await self.sign_in.on_submit(None)
            return
        if not page_state()["session"] and not returning:
            self.sign_in.show()
            return
        try:
            self.session.me = (await self.session.api.call("GET", "/api/me"))["user"]
        except ApiError:
            self.sign_in.show(note=self.provider_failure)
            return
        me = self.session.me
        unlock = remembered_unlock(me["id"])
        if not unlock:
            # Signed in, but this tab has never held the password (or passphrase): ask again.
            if me.get("password") is False:
                self.passphrase.ask(me)
            else:
                self.sign_in.show(username=me["username"], note=_("Enter your password to unlock your key in this tab."))
            return
        await self.enter(unlock)

    async def enter_remembered(self, keystore_key: bytes) -> None:
        """The password (or passphrase) was accepted: a reload of this tab stays unlocked; a new tab asks again."""
        remember_unlock(self.session.me["id"], keystore_key)
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
            if self.session.me.get("password") is False:
                self.passphrase.ask(self.session.me, error)
            else:
                self.sign_in.show(username=self.session.me["username"],
                                  note=_("Your key could not be unlocked: {reason}", reason=error.message))
            return
        await self.unlocked()

    def use_current_key(self) -> None:
        session = self.session
        session.private_key, session.public_key = self.keyring.current
        self.verification = Verification(session.store, session.me, session.public_key)
        set_text("my-fingerprint", format_fingerprint(fingerprint(session.public_key)))

    async def unlocked(self) -> None:
        self.use_current_key()
        show("auth", False)
        show("whoami")
        self.profile.render()
        self.account.render()
        self.files.max_bytes = (await self.session.api.call("GET", "/api/me"))["limits"]["max_upload_bytes"]
        self.keyring.render()
        Onboarding.render()
        self.socket = Socket(self.on_frame, self.on_signed_out,
                             on_lost=lambda: toast(_("Connection lost. Reconnecting…"), seconds=6),
                             on_restored=lambda: toast(_("Connected again.")))
        self.socket.connect()
        await self.load_rooms()
        # The chat replaces the loading screen only now, drawn whole: nothing in it
        # moves once it is on screen (Lighthouse's Cumulative Layout Shift).
        show("boot", False)
        show("chat")
        self.countdowns.start()
        await self.screens.apply_url()  # a deep link (#/room/ID) opens its room
        await share.receive(self.files.add, lambda: self.screens.go("list"))
        await self.invites.accept_pending()
        if self.provider_failure:  # signed in, so it was a link: its reason goes where linking began
            self.screens.go("settings")
            self.linked_sign_ins.show_failure(self.provider_failure)
            self.provider_failure = ""
        document.body.dataset.ready = "1"

    async def on_key_rotated(self) -> None:
        self.use_current_key()
        if self.rooms.open_id is not None:
            await self.open_room(self.rooms.open_id, navigate=False)

    async def on_signed_out(self, reason: str) -> None:
        """The server ended this session: signed out elsewhere, password changed, or account deleted."""
        self.forget_session(self.account.signed_out_note(reason))

    async def on_logout(self, _event) -> None:
        if self.session.me and self.session.public_key and not self.keyring.confirm_logout():
            return
        try:
            await self.session.api.call("POST", "/api/logout")
        except ApiError as error:
            toast(error.message)
        self.forget_session(_("You are signed out."))

    def forget_session(self, note: str) -> None:
        """Drop everything this tab unlocked, and show the sign-in form."""
        if self.session.me:
            forget_unlock(self.session.me["id"])
        if self.socket:
            self.socket.close()
        self.countdowns.stop()
        self.session.forget()
        self.rooms.close()
        self.search.forget()
        window.history.replaceState(None, "", "/")
        self.sign_in.show(note=note)

    # ---- rooms ----------------------------------------------------------

    async def load_rooms(self) -> None:
        self.rooms.replace((await self.session.api.call("GET", "/api/rooms"))["rooms"])
        self.search.keep_rooms(self.rooms.rooms)
        self.render_rooms()

    def render_rooms(self) -> None:
        self.room_list.render()

    async def refresh_members(self) -> None:
        room = (await self.session.api.call("GET", f"/api/rooms/{self.rooms.open_id}"))["room"]
        self.rooms.put(room)
        self.rooms.open(room["id"], room["members"], label)
        await self.verification.load(self.rooms.members)
        self.member_list.render()
        self.room_life.render()
        for name in self.verification.untold_changes(self.rooms.members):
            toast(_("⚠ {name}'s key changed. Compare safety numbers in the room's details before you trust it.",
                    name=name), seconds=8)

    async def on_verified(self) -> None:
        await self.open_room(self.rooms.open_id, navigate=False)  # messages under the newly verified key lose their warning

    async def open_room(self, room_id: str, navigate: bool = True) -> bool:
        """Show the room; ``navigate`` also makes it the current screen (a history entry)."""
        if room_id not in self.rooms:
            toast(_("This room does not exist any more, or you are not a member."))
            return False
        self.rooms.open_id = room_id
        self.render_rooms()
        show("room")
        show("invite-panel", False)
        self.conversation.clear()
        try:
            await self.refresh_members()
            messages = await self.conversation.fetch_newest(room_id)
        except ApiError as error:
            toast(error.message)
            return False
        self.details.show(self.rooms.get(room_id))
        await self.conversation.show(messages, first_page=True)
        self.notifier.seen(room_id, [message["seq"] for message in messages])
        if navigate:
            self.screens.go("room", room_id)
        return True

    async def open_room_from_url(self, room_id: str) -> bool:
        return await self.open_room(room_id, navigate=False)

    async def remove_room(self, room_id: str, note: str | None = None) -> None:
        """The room expired, was deleted, or this user left it: drop it from the page."""
        was_open = self.rooms.open_id == room_id
        room = self.rooms.pop(room_id)
        if room is None:
            return
        if was_open:
            show("room", False)
            self.conversation.clear()
            self.member_list.render()
            self.details.clear()
            self.files.pending = []  # files chosen for this room will never be sent
            self.files.render_pending()
            self.screens.go("list")
        self.notifier.forget(room_id)
        self.render_rooms()
        toast(note or _("“{room}” reached its expiry and was deleted, with everything in it.", room=room["name"]))

    # ---- what the server says -----------------------------------------------

    async def on_visibility(self, _event) -> None:
        if document.visibilityState == "visible":
            self.notifier.read(self.rooms.open_id)

    async def catch_up(self) -> None:
        """After a reconnect: anything sent while the socket was down."""
        await self.load_rooms()
        room_id = self.rooms.open_id
        if room_id in self.rooms:
            await self.conversation.show(await self.conversation.fetch_newest(room_id))

    async def on_frame(self, frame: dict) -> None:
        kind = frame.get("type")
        if kind in ("sent", "error") and self.composer.answered(frame):
            return
        if kind == "hello":
            document.body.dataset.connections = str(self.socket.connections)  # how many times the server said hello
            if self.socket.connections > 1:
                await self.catch_up()
        elif kind == "error":
            toast(frame.get("message", _("The server refused a request.")))
        elif kind == "message":
            await self.on_message(frame)
        elif kind == "room_expired":
            await self.remove_room(frame["room"])
        elif kind == "room_removed":  # left, removed by its creator, or deleted by its creator
            name = self.rooms.name(frame["room"])
            await self.remove_room(frame["room"], {
                "left": _("You left “{room}”.", room=name),
                "removed": _("You were removed from “{room}”.", room=name),
            }.get(frame.get("reason"), _("“{room}” was deleted by its creator, with everything in it.", room=name)))
        elif kind == "room":
            await self.on_room_changed(frame)

    async def on_message(self, frame: dict) -> None:
        room_id, sender = frame["room"], claimed_sender(frame["envelope"])
        if self.rooms.touch(room_id, frame["created_at"]):  # the room moves up the list
            self.render_rooms()
        if is_news(sender, self.session.me["id"]):
            room_name = self.rooms.name(room_id)
            looking_at = self.rooms.open_id if self.screens.viewing_room() else None
            self.notifier.arrived(room_id, frame["seq"], open_room=looking_at, room_name=room_name,
                                  sender_name=self.rooms.people.get(sender, "…"))
            if toasts(room_id, self.rooms.open_id):
                toast(_("New message in {room}.", room=room_name))
        if room_id == self.rooms.open_id and await self.conversation.show([frame]):
            toast(_("⚠ A message in “{room}” failed a security check and is not shown.",
                    room=self.rooms.name(room_id)), seconds=8)

    async def on_room_changed(self, frame: dict) -> None:
        """A member left, was removed or deleted their account, or the room was renamed or joined."""
        change, room_name = frame.get("change") or {}, frame["room"]["name"]
        who = change.get("username", "…")
        if change.get("kind") == "left":
            toast(_("{name} left “{room}”.", name=who, room=room_name))
        elif change.get("kind") == "removed":
            toast(_("{name} was removed from “{room}”.", name=who, room=room_name))
        elif change.get("kind") == "account_deleted":
            toast(_("{name} deleted their account and left “{room}”.", name=who, room=room_name))
        await self.load_rooms()
        if frame["room"]["id"] == self.rooms.open_id:
            await self.refresh_members()
            self.details.show(self.rooms.get(frame["room"]["id"]))  # a member may have renamed it


async def start() -> None:
    await App().start()
