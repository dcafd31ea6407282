"""Settings that are this person's own: display name, theme, and the first-run steps.

The key panel is ``pyclient.browser.keys``, signed-in browsers
``pyclient.browser.sessions``, notifications ``pyclient.browser.notify``.
"""

from ..names import label
from .dom import by_id, on, set_text, show, show_error, toast
from .env import document, window
from .i18n import _
from .net import ApiError

THEME_KEY = "sealroom.theme"  # "system", "light" or "dark" (read early by web/static/shell.js)
ONBOARDED_KEY = "sealroom.onboarded"  # the three first-run steps were read in this browser


class Profile:
    """Who is signed in, and their display name."""

    def __init__(self, session):
        self.session = session

    def bind(self) -> None:
        on("profile-form", "submit", self.on_submit)

    def render(self) -> None:
        set_text("me-name", label(self.session.me))
        by_id("profile-display-name").value = self.session.me.get("display_name") or ""

    async def on_submit(self, _event) -> None:
        """The display name shown beside the username; empty removes it."""
        session = self.session
        try:
            user = (await session.api.call("PATCH", "/api/me",
                                           {"display_name": by_id("profile-display-name").value}))["user"]
        except ApiError as error:
            show_error("profile-error", error.message)
            return
        show_error("profile-error", None)
        session.me = {**session.me, **user}
        set_text("me-name", label(session.me))
        toast(_("Your display name is saved."))


class Theme:
    """System, light or dark: kept in this browser and applied at once (and by shell.js on the next load)."""

    def bind(self) -> None:
        on("theme-choice", "change", self.on_change)  # shell.js set the select from localStorage

    @staticmethod
    async def on_change(event) -> None:
        choice = event.target.value
        window.localStorage.setItem(THEME_KEY, choice)
        if choice in ("light", "dark"):
            document.documentElement.dataset.theme = choice
        else:
            document.documentElement.removeAttribute("data-theme")


class Onboarding:
    """Three short steps on the first run in this browser."""

    def bind(self) -> None:
        on("onboarding-done", "click", self.on_done)

    @staticmethod
    def render() -> None:
        show("onboarding", window.localStorage.getItem(ONBOARDED_KEY) != "1")

    @staticmethod
    async def on_done(_event) -> None:
        window.localStorage.setItem(ONBOARDED_KEY, "1")
        show("onboarding", False)
        by_id("new-room-toggle").focus()
