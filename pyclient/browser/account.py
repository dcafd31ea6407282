"""Settings → Account: change the password, delete the account (docs/protocol.md 4.5).

The request bodies come from ``pyclient.account``, the same code as the
``sealroom`` CLI, so the page and the terminal send the same bytes. The new
password never leaves the page: it derives a new ``auth_key`` (sent) and a
new ``keystore_key`` (kept), under which every private key is sealed again,
here and in the server's backup.
"""

import os

from ..account import MissingKey, account_keys, password_change_request
from ..protocol.encoding import b64decode, b64encode
from .dom import by_id, on, set_text, show, show_error, toast
from .i18n import _, ngettext
from .net import ApiError

MIN_PASSWORD = 8


class AccountSettings:
    def __init__(self, api, backend, keyring, me, set_me, remember_unlock, signed_out):
        """``me()`` is the signed-in user and ``set_me(user)`` records a changed one;
        ``remember_unlock(keystore_key)`` keeps this tab unlocked under a new secret;
        ``signed_out(note)`` returns the page to sign-in."""
        self.api, self.backend, self.keyring = api, backend, keyring
        self.me, self.set_me = me, set_me
        self.remember_unlock, self.signed_out = remember_unlock, signed_out
        self.deleting: str | None = None  # the username while this tab deletes the account

    def signed_out_note(self, reason: str) -> str:
        """Why the server ended this session, from the socket's close reason (protocol 8)."""
        if reason == "account_deleted" and self.deleting:  # the socket may close before the answer arrives
            return self.deleted_note(self.deleting)
        if reason == "password_changed":
            return _("You were signed out because your password was changed in another browser. "
                     "Sign in with the new password.")
        if reason == "account_deleted":
            return _("This account was deleted in another browser. Everything it held is gone from the server.")
        return _("This browser was signed out. Sign in again to continue.")

    @staticmethod
    def deleted_note(username: str) -> str:
        return _("Your account {name} was deleted, with its keys. The messages you sent stay in their rooms until "
                 "the rooms expire.", name=username)

    def bind(self) -> None:
        on("password-form", "submit", self.on_change_password)
        on("delete-account-form", "submit", self.on_delete_account)

    def render(self) -> None:
        """A social account has no password to change or to type: its passphrase is explained instead."""
        has_password = self.me().get("password") is not False
        show("password-panel", has_password)
        show("account-passphrase-note", not has_password)
        show("delete-account-password-label", has_password)
        show("delete-account-social", not has_password)
        by_id("delete-account-password").required = has_password

    # ---- change password -------------------------------------------------------

    async def on_change_password(self, _event) -> None:
        current, new = by_id("password-current").value, by_id("password-new").value
        if len(new) < MIN_PASSWORD:
            show_error("password-error", _("Use a password of at least 8 characters."))
            return
        if new != by_id("password-new-again").value:
            show_error("password-error", _("The two new passwords differ."))
            return
        if new == current:
            show_error("password-error", _("The new password is the same as the current one."))
            return
        show_error("password-error", None)
        button = by_id("password-submit")
        button.disabled = True
        set_text("password-submit", _("Sealing your key under the new password…"))
        try:
            reply, keystore_key = await self.change_password(current, new)
        except MissingKey:
            show_error("password-error", _("A key of yours that the server backs up is not in this browser, so it "
                                           "cannot be sealed again here. Import your latest key file first."))
            return
        except ApiError as error:  # a wrong current password is auth_failed: the server changed nothing
            show_error("password-error", error.message)
            return
        finally:
            button.disabled = False
            set_text("password-submit", _("Change password"))
        await self.keyring.reseal(keystore_key)
        self.remember_unlock(keystore_key)
        self.set_me(reply["user"])
        for field in ("password-current", "password-new", "password-new-again"):
            by_id(field).value = ""
        by_id("password-panel").open = False
        ended = reply["sessions_ended"]
        toast(ngettext("Your password is changed and your key is sealed under it. {count} other browser was "
                       "signed out.", "Your password is changed and your key is sealed under it. {count} other "
                       "browsers were signed out.", ended)
              if ended else _("Your password is changed and your key is sealed under it."), 8)

    async def change_password(self, current: str, new: str) -> tuple[dict, bytes]:
        """As ``sealroom password``: re-seal what the server backs up, then send it with both auth keys."""
        me = (await self.api.call("GET", "/api/me"))["user"]
        backed_up = None
        if me["key_backup"]:
            backup = await self.api.call("GET", "/api/me/key-backup")
            backed_up = [b64decode(entry["public_key"], "public_key") for entry in backup.get("earlier", [])]
        body, keystore_key = await password_change_request(
            self.backend, username=me["username"], user_id=me["id"], current_password=current, new_password=new,
            pairs=self.keyring.pairs, backed_up=backed_up, random_bytes=os.urandom)
        return await self.api.call("POST", "/api/me/password", body), keystore_key

    # ---- delete account -------------------------------------------------------

    async def on_delete_account(self, _event) -> None:
        me = self.me()
        body = {}
        button = by_id("delete-account-submit")
        button.disabled = True
        self.deleting = me["username"]
        try:
            if me.get("password") is not False:
                auth_key, _keystore_key = await account_keys(self.backend, me["username"],
                                                             by_id("delete-account-password").value)
                body["auth_key"] = b64encode(auth_key)
            await self.api.call("DELETE", "/api/me", body)
        except ApiError as error:
            self.deleting = None
            show_error("delete-account-error", error.message)
            return
        finally:
            button.disabled = False
        by_id("delete-account-password").value = ""
        await self.keyring.forget(me["id"])
        self.signed_out(self.deleted_note(me["username"]))
        self.deleting = None
