"""The sign-in and registration form.

The password never leaves the page: it derives the sign-in key the server
checks and the keystore key that seals the private key (docs/protocol.md 4).
The keystore key is kept in this tab's sessionStorage, so that a reload does
not ask again; it is gone when the tab closes or the person signs out.
"""

from ..account import account_keys
from ..protocol.encoding import b64decode, b64encode
from .account import MIN_PASSWORD
from .dom import by_id, on, set_text, show, show_error
from .env import window
from .i18n import _
from .net import ApiError

UNLOCK_KEY = "sealroom.keystore"


def remembered_unlock(user_id: str) -> bytes | None:
    """The keystore key this tab was unlocked with, if any."""
    text = window.sessionStorage.getItem(f"{UNLOCK_KEY}.{user_id}")
    return b64decode(text, "keystore key") if text else None


def remember_unlock(user_id: str, keystore_key: bytes) -> None:
    window.sessionStorage.setItem(f"{UNLOCK_KEY}.{user_id}", b64encode(keystore_key))


def forget_unlock(user_id: str) -> None:
    window.sessionStorage.removeItem(f"{UNLOCK_KEY}.{user_id}")


class SignIn:
    def __init__(self, session, on_unlock):
        """``on_unlock(keystore_key)`` runs once the server accepted the password."""
        self.session = session
        self._on_unlock = on_unlock
        self.registering = False

    def bind(self) -> None:
        on("auth-form", "submit", self.on_submit)
        on("auth-switch", "click", self.on_switch)

    def show(self, username: str = "", note: str = "") -> None:
        show("boot", False)
        show("chat", False)
        show("whoami", False)
        show("auth")
        if username:
            by_id("auth-username").value = username
        show_error("auth-error", note or None)
        self.render_mode()

    def render_mode(self) -> None:
        set_text("auth-title", _("Create your account") if self.registering else _("Sign in"))
        set_text("auth-submit", _("Create account") if self.registering else _("Sign in"))
        set_text("auth-switch", _("Have an account? Sign in") if self.registering else _("New here? Create an account"))
        by_id("auth-password").setAttribute("autocomplete", "new-password" if self.registering else "current-password")
        show("auth-backup-label", self.registering)
        show("auth-display-name-label", self.registering)

    async def on_switch(self, _event) -> None:
        self.registering = not self.registering
        self.render_mode()

    async def on_submit(self, _event) -> None:
        session = self.session
        username = by_id("auth-username").value.strip()
        password = by_id("auth-password").value
        if len(password) < MIN_PASSWORD:
            show_error("auth-error", _("Use a password of at least 8 characters."))
            return
        button = by_id("auth-submit")
        button.disabled = True
        show_error("auth-error", None)
        try:
            set_text("auth-submit", _("Deriving your keys…"))
            auth_key, keystore_key = await account_keys(session.backend, username, password)
            path = "/api/register" if self.registering else "/api/login"
            body = {"username": username, "auth_key": b64encode(auth_key)}
            if self.registering and by_id("auth-display-name").value.strip():
                body["display_name"] = by_id("auth-display-name").value
            session.me = (await session.api.call("POST", path, body))["user"]
        except ApiError as error:
            show_error("auth-error", error.message)
            return
        finally:
            button.disabled = False
            self.render_mode()
        by_id("auth-password").value = ""
        await self._on_unlock(keystore_key)
