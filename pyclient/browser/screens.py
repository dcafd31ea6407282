"""Which screen shows: the room list, a conversation, its details, or settings.

The screen lives in the URL fragment (``pyclient.routes``), so browser history
and a phone's back gesture move between screens and ``#/room/ID`` is a deep
link. The CSS lays the screens out by width (web/static/app.css): on a phone
``body[data-screen]`` picks the one screen shown; on a desktop the details
drawer sits beside the conversation and can be closed.
"""

from ..routes import fragment, parse
from .dom import by_id, on, show
from .env import document, window

WIDE = "(min-width: 1024px)"
IN_APP = 1  # history.state of the entries this page pushed: "back" stays inside SealRoom
PHONE = "(max-width: 600px)"


class Screens:
    def __init__(self, open_room, current_room, on_room_shown):
        """``open_room(room_id)`` shows a room; ``current_room()`` is the open room's id or None;
        ``on_room_shown(room_id)`` runs whenever the conversation comes into view."""
        self._open_room = open_room
        self._current_room = current_room
        self._on_room_shown = on_room_shown
        self.drawer_open = bool(window.matchMedia(WIDE).matches)
        self.screen = "list"

    def bind(self) -> None:
        on("window", "popstate", self.on_route)  # back, forward, or a fragment typed in the address bar
        on("room-back", "click", self.on_back)
        on("settings-back", "click", self.on_back)
        on("settings-open", "click", self.on_settings)
        on("details-toggle", "click", self.on_details_toggle)
        on("details-back", "click", self.on_details_close)
        on("details", "keydown", self.on_details_key)
        on("new-room-toggle", "click", self.on_new_room_toggle)

    @staticmethod
    def phone() -> bool:
        return bool(window.matchMedia(PHONE).matches)

    def go(self, screen: str, room_id: str | None = None) -> None:
        """Show ``screen`` as a new history entry (the room, if any, is already open)."""
        target = fragment(screen, room_id)
        if window.location.hash != target:
            window.history.pushState(IN_APP, "", target)
        self.draw(screen)

    def draw(self, screen: str) -> None:
        self.screen = screen
        document.body.dataset.screen = screen
        room_open = self._current_room() is not None
        show("settings", screen == "settings")
        show("details", room_open and (screen == "details" or (not self.phone() and self.drawer_open)))
        by_id("details-toggle").setAttribute("aria-expanded", "true" if self.drawer_open else "false")
        focus = {"list": "search-input", "room": "composer-text", "settings": "settings-back",
                 "details": "details-back"}[screen]
        if screen != "room" or not self.phone():  # no keyboard popping up on a phone
            by_id(focus).focus()
        if self.viewing_room():
            self._on_room_shown(self._current_room())

    def viewing_room(self) -> bool:
        """Whether the open room's messages are on the screen."""
        return self.screen in ("room", "details") and self._current_room() is not None

    async def apply_url(self) -> None:
        screen, room_id = parse(window.location.hash)
        if room_id is not None and room_id != self._current_room():
            if not await self._open_room(room_id):
                screen = "list"
        self.draw(screen)

    async def on_route(self, _event) -> None:
        await self.apply_url()

    async def on_back(self, _event) -> None:
        self._back_to("list")

    def _back_to(self, screen: str) -> None:
        if window.history.state == IN_APP:
            window.history.back()
        else:  # opened straight on this screen (a deep link): up to ``screen``, not off the site
            window.history.replaceState(None, "", fragment(screen, self._current_room()))
            self.draw(screen)

    async def on_settings(self, _event) -> None:
        self.go("settings")

    async def on_details_toggle(self, _event) -> None:
        if self.phone():
            self.go("details", self._current_room())
        else:
            self.drawer_open = not self.drawer_open
            self.draw(self.screen)
            by_id("details-back" if self.drawer_open else "details-toggle").focus()

    async def on_details_close(self, _event) -> None:
        if self.phone():
            self._back_to("room")
        else:
            self.drawer_open = False
            self.draw(self.screen)
            by_id("details-toggle").focus()  # the focus goes back where the drawer was opened

    async def on_details_key(self, event) -> None:
        """Escape closes the drawer (on a phone: goes back to the conversation)."""
        if event.key == "Escape" and event.target.tagName != "INPUT":  # in a field, Escape is the field's
            await self.on_details_close(event)

    async def on_new_room_toggle(self, _event) -> None:
        form = by_id("new-room-form")
        opening = bool(form.hidden)
        form.hidden = not opening
        by_id("new-room-toggle").setAttribute("aria-expanded", "true" if opening else "false")
        if opening:
            by_id("new-room-name").focus()
