"""Social sign-in in the page (docs/protocol.md 4.6): the key passphrase of an
account without a password, and the linked sign-in providers in settings.

The "Continue with …" links are painted by the server with the sign-in form
(web/templates/app.html), so they work before Python has started; the whole
redirect flow runs between the browser, the server and the provider. Python
takes over when the browser comes back signed in: an account without a
password unlocks (or, on sign-up, seals) its key with a passphrase that only
the person knows. It goes through the account key schedule (protocol 4) in
place of the password, and nothing derived from it is ever sent.
"""

import js

from ..account import account_keys
from ..errors import BadMac
from ..protocol.encoding import b64encode
from .dom import by_id, on, set_text, show, show_error, toast
from .env import document, window
from .dates import format_datetime
from .i18n import _
from .net import ApiError

MIN_NEW_PASSPHRASE = 12  # the server keeps a backup sealed under it: make guessing it offline expensive


def came_back_from_provider() -> tuple[bool, str]:
    """Whether this load ends the provider's redirect (``/?signed_in=1``, ``?signed_up=1``, ``?linked=NAME``,
    ``?oidc_error=CODE``), and why it failed, if it did.

    Then the session cookie, ``SameSite=Strict``, may have been held back from
    the page itself (the redirect chain began on another site), so the page
    asks ``/api/me`` even when the server painted the sign-in form. The
    address bar is cleaned, and a new link is announced. A failure's sentence
    is the one the server painted in ``#auth-error`` for the code (the address
    holds no text): the page shows it where the person lands.
    """
    query = js.URLSearchParams.new(window.location.search)
    if not any(query.has(marker) for marker in ("signed_in", "signed_up", "linked", "oidc_error")):
        return False, ""
    failure = by_id("auth-error").textContent if query.has("oidc_error") else ""
    window.history.replaceState(None, "", "/" + window.location.hash)
    if query.get("linked"):
        toast(_("Signing in with {provider} is now linked to your account.",
                provider=provider_label(query.get("linked"))), 8)
    return True, failure


def provider_label(name: str) -> str:
    """The label the server painted for a provider, or its name."""
    for row in document.querySelectorAll("#identity-list [data-provider]"):
        if row.getAttribute("data-provider") == name:
            return row.getAttribute("data-label")
    return name


class PassphraseScreen:
    """Asks an account without a password for its key passphrase, and hands the keystore key on."""

    def __init__(self, backend, unlock, sign_out):
        """``unlock(keystore_key)`` opens (or makes) the key; ``sign_out()`` ends the session."""
        self.backend, self.unlock, self.sign_out = backend, unlock, sign_out
        self.me: dict | None = None

    def bind(self) -> None:
        on("passphrase-form", "submit", self.on_submit)
        on("passphrase-sign-out", "click", self.on_sign_out)

    @property
    def creating(self) -> bool:
        return self.me is not None and self.me.get("public_key") is None

    def ask(self, me: dict, error: Exception | None = None) -> None:
        """Show the passphrase form; ``error`` is why the previous passphrase did not open the key."""
        self.me = me
        set_text("passphrase-username", me["username"])
        creating = self.creating
        set_text("passphrase-title", _("Choose a key passphrase") if creating else _("Enter your key passphrase"))
        intro = _("Your account is ready. Your private key is made next, in this page, and sealed under a passphrase "
                  "only you know: your provider and this server never see it. Nobody can reset it for you.") \
            if creating else _("Enter your key passphrase. It seals your private key; your sign-in provider and the "
                               "server never see it.")
        set_text("passphrase-intro", intro)
        set_text("passphrase-submit", _("Make my key") if creating else _("Unlock"))
        show("passphrase-again-label", creating)
        field = by_id("passphrase")
        field.setAttribute("autocomplete", "new-password" if creating else "current-password")
        field.value = ""
        by_id("passphrase-again").value = ""
        if isinstance(error, BadMac):
            show_error("passphrase-error", _("This passphrase does not open your key. Check it and try again."))
        elif error is not None:
            show_error("passphrase-error", _("Your key could not be unlocked: {reason}",
                                             reason=getattr(error, "message", str(error))))
        else:
            show_error("passphrase-error", None)
        # Shown last: each DOM call crosses from the worker, and what is typed must not meet a later reset.
        show("boot", False)
        show("chat", False)
        show("auth-form", False)
        show("passphrase-form")
        show("auth")
        field.focus()

    def done(self) -> None:
        show("passphrase-form", False)
        show("auth-form")

    async def on_submit(self, _event) -> None:
        passphrase = by_id("passphrase").value
        if self.creating:
            if len(passphrase) < MIN_NEW_PASSPHRASE:
                show_error("passphrase-error", _("Use a passphrase of at least {count} characters.",
                                                 count=MIN_NEW_PASSPHRASE))
                return
            if passphrase != by_id("passphrase-again").value:
                show_error("passphrase-error", _("The two passphrases differ."))
                return
        elif not passphrase:
            return
        button = by_id("passphrase-submit")
        button.disabled = True
        show_error("passphrase-error", None)
        set_text("passphrase-submit", _("Deriving your keys…"))
        try:
            _auth_key, keystore_key = await account_keys(self.backend, self.me["username"], passphrase)
        finally:
            button.disabled = False
        by_id("passphrase").value = ""
        by_id("passphrase-again").value = ""
        self.done()
        await self.unlock(keystore_key)

    async def on_sign_out(self, _event) -> None:
        self.done()
        await self.sign_out()


class LinkedSignIns:
    """Settings → Account → Sign-in providers: link (with the password) and unlink.

    The rows are painted by the server, one per configured provider
    (``#identity-list li[data-provider]``); this fills in their state.
    """

    def __init__(self, api, backend, me, set_me):
        """``me()`` is the signed-in user; ``set_me(user)`` records a changed one."""
        self.api, self.backend, self.me, self.set_me = api, backend, me, set_me
        self.linking: str | None = None
        self.failure = ""  # why the last link failed, shown once the rows are drawn

    def bind(self) -> None:
        on("identities-panel", "toggle", self.on_toggle)  # hidden when no provider is configured
        on("identity-list", "click", self.on_click)
        on("link-form", "submit", self.on_link)

    def show_failure(self, message: str) -> None:
        """A link that failed at the provider or on its way back: the panel opens with the reason."""
        self.failure = message
        by_id("identities-panel").open = True  # its toggle draws the rows, then the reason

    async def on_toggle(self, _event) -> None:
        if by_id("identities-panel").open:
            await self.refresh()

    async def refresh(self) -> None:
        try:
            reply = await self.api.call("GET", "/api/me/identities")
        except ApiError as error:
            show_error("identity-error", error.message)
            return
        show_error("identity-error", self.failure or None)
        self.failure = ""
        linked = {identity["provider"]: identity["created_at"] for identity in reply["identities"]}
        has_password = bool(reply["password"])
        for row in document.querySelectorAll("#identity-list [data-provider]"):
            name = row.getAttribute("data-provider")
            since = linked.get(name)
            row.dataset.linked = "true" if since else "false"
            row.querySelector(".identity-status").textContent = (
                _("linked since {when}", when=format_datetime(since)) if since else _("not linked"))
            # Linking needs the password (protocol 4.6): an account without one links nothing more.
            row.querySelector(".identity-link").hidden = bool(since) or not has_password
            row.querySelector(".identity-unlink").hidden = not since
        show("link-form", False)

    async def on_click(self, event) -> None:
        button = event.target.closest("button")
        if button is None:
            return
        name = button.closest("[data-provider]").getAttribute("data-provider")
        if "identity-unlink" in button.classList:
            await self.unlink(name)
        elif "identity-link" in button.classList:
            self.linking = name
            set_text("link-text", _("Confirm with your password, then sign in at {provider}: from then on it signs "
                                    "you in to this account too.", provider=provider_label(name)))
            set_text("link-submit", _("Continue to {provider}", provider=provider_label(name)))
            show("link-form")
            by_id("link-password").focus()

    async def on_link(self, _event) -> None:
        """The password first (the server checks it), then the provider's own sign-in, by redirect."""
        me, password = self.me(), by_id("link-password").value
        button = by_id("link-submit")
        button.disabled = True
        try:
            auth_key, _keystore_key = await account_keys(self.backend, me["username"], password)
            reply = await self.api.call("POST", "/api/me/identities", {"provider": self.linking,
                                                                       "auth_key": b64encode(auth_key)})
        except ApiError as error:
            show_error("identity-error", error.message)
            return
        finally:
            button.disabled = False
        by_id("link-password").value = ""
        window.location.href = reply["start"]

    async def unlink(self, name: str) -> None:
        try:
            reply = await self.api.call("DELETE", f"/api/me/identities/{name}")
        except ApiError as error:
            show_error("identity-error", error.message)  # e.g. the only way left to sign in
            return
        self.set_me(reply["user"])
        toast(_("{provider} no longer signs you in.", provider=provider_label(name)))
        await self.refresh()
