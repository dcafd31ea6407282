"""The signed-in devices panel: list sessions and sign any of them out."""

from .dom import by_id, clear, make, on, toast
from .dates import format_datetime
from .i18n import _
from .net import ApiError


class SessionsPanel:
    def __init__(self, api):
        self.api = api

    def bind(self) -> None:
        on("sessions-panel", "toggle", self.on_toggle)

    async def on_toggle(self, _event) -> None:
        if by_id("sessions-panel").open:
            await self.refresh()

    async def refresh(self) -> None:
        try:
            sessions = (await self.api.call("GET", "/api/sessions"))["sessions"]
        except ApiError as error:
            toast(error.message)
            return
        listing = by_id("session-list")
        clear(listing)
        for session in sessions:
            agent = session["user_agent"][:60] or _("unknown browser")
            started = format_datetime(session["created_at"])
            item = make("li", _("{agent} · since {started}", agent=agent, started=started), "session",
                        data_current=str(session["current"]).lower())
            if session["current"]:
                item.appendChild(make("strong", _(" (this browser)")))
            else:
                button = make("button", _("Sign out"), "link", type="button")
                on(button, "click", self._revoker(session["id"]))
                item.appendChild(button)
            listing.appendChild(item)

    def _revoker(self, session_id: str):
        async def revoke(_event):
            try:
                await self.api.call("DELETE", f"/api/sessions/{session_id}")
            except ApiError as error:
                toast(error.message)
                return
            toast(_("That session is signed out."))
            await self.refresh()
        return revoke
