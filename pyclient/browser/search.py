"""Search in the page: people and rooms (server), and your own messages (local only).

People and rooms are searched as you type (debounced) through
``GET /api/search``. Message history is searched in this page alone, over
the messages it has decrypted (``pyclient.search.HistoryIndex``): neither
the plaintext nor the search terms ever go to the server.

Both lists work from the keyboard (arrow keys, Enter, Escape) and mark the
matched letters with <mark> elements built from text nodes: user data is
never parsed as HTML.
"""

import asyncio
from urllib.parse import quote

import js
from pyodide.ffi import to_js

from ..search import HistoryEntry, HistoryIndex, highlight_parts, words_with_spans
from .dom import by_id, clear, make, on, show, toast
from .env import document
from .dates import format_datetime
from .i18n import _, ngettext
from .net import ApiError

DEBOUNCE_SECONDS = 0.2
SNIPPET_CHARS = 90
def _options(**values):
    return to_js(values, dict_converter=js.Object.fromEntries)


def marked(text: str, spans, cls: str | None = None):
    """A <span> holding ``text`` with the ``spans`` wrapped in <mark>."""
    element = make("span", cls=cls)
    for piece, is_match in highlight_parts(text, spans):
        if is_match:
            element.appendChild(make("mark", piece))
        else:
            element.appendChild(document.createTextNode(piece))
    return element


def snippet(text: str, spans) -> tuple[str, list[tuple[int, int]]]:
    """At most SNIPPET_CHARS of ``text`` around the first match, spans shifted to fit."""
    if len(text) <= SNIPPET_CHARS or not spans:
        return text, list(spans)
    start = max(0, min(spans)[0] - SNIPPET_CHARS // 3)
    end = min(len(text), start + SNIPPET_CHARS)
    prefix = "…" if start else ""
    shifted = [(s - start + len(prefix), e - start + len(prefix)) for s, e in spans if s >= start and e <= end]
    return prefix + text[start:end] + ("…" if end < len(text) else ""), shifted


class ResultList:
    """A listbox under a text box: arrow keys move, Enter picks, Escape closes."""

    def __init__(self, input_id: str, list_id: str, empty_id: str, on_pick):
        self.input_id, self.list_id, self.empty_id = input_id, list_id, empty_id
        self.on_pick = on_pick
        self.items: list = []
        self.active = -1
        on(input_id, "keydown", self._on_key)

    def show(self, items: list, elements: list, empty_text: str) -> None:
        clear(self.list)
        self.items, self.active = items, -1
        for index, element in enumerate(elements):
            element.id = f"{self.list.id}-{index}"
            element.setAttribute("role", "option")
            element.setAttribute("aria-selected", "false")
            on(element, "mousedown", self._clicker(index))
            self.list.appendChild(element)
        self.list.hidden = not items
        self.input.setAttribute("aria-expanded", "true" if items else "false")
        self.empty.textContent = "" if items else empty_text
        self.empty.hidden = bool(items) or not empty_text
        if items:
            self._move_to(0)

    def close(self) -> None:
        self.show([], [], "")

    def _clicker(self, index: int):
        def listener(_event):
            asyncio.ensure_future(self.on_pick(self.items[index]))
        return listener

    def _move_to(self, index: int) -> None:
        children = self.list.children
        if 0 <= self.active < children.length:
            children.item(self.active).setAttribute("aria-selected", "false")
        self.active = index
        option = children.item(index)
        option.setAttribute("aria-selected", "true")
        option.scrollIntoView(_options(block="nearest"))
        self.input.setAttribute("aria-activedescendant", option.id)

    def _on_key(self, event) -> None:
        key = event.key
        if key == "Escape":
            self.input.value = ""
            self.close()
            return
        if not self.items or key not in ("ArrowDown", "ArrowUp", "Enter"):
            return
        if key == "ArrowDown":
            self._move_to((self.active + 1) % len(self.items))
        elif key == "ArrowUp":
            self._move_to((self.active - 1) % len(self.items))
        else:
            asyncio.ensure_future(self.on_pick(self.items[max(self.active, 0)]))

    # Looked up when first used, not while the page starts (each lookup is a
    # round trip to the page); last in the class body, where they shadow no builtin.
    input = property(lambda self: by_id(self.input_id))
    list = property(lambda self: by_id(self.list_id))
    empty = property(lambda self: by_id(self.empty_id))


class SearchPanel:
    """The page's two search boxes."""

    def __init__(self, session, rooms, *, load_rooms, open_room):
        """``rooms``: the RoomList; ``load_rooms()``: ask the server for it again;
        ``open_room(room_id)``: show a room."""
        self.session = session
        self.rooms = rooms
        self._load_rooms = load_rooms
        self._open_room = open_room
        self.history = HistoryIndex()
        self._pending: asyncio.Task | None = None
        self._asked = 0
        self.people_rooms: ResultList | None = None
        self.messages: ResultList | None = None

    def bind(self) -> None:
        self.people_rooms = ResultList("search-input", "search-results", "search-empty", self.pick)
        self.messages = ResultList("history-input", "history-results", "history-empty", self.pick_message)
        on("search-input", "input", lambda _event: self._debounce())
        on("history-input", "input", lambda _event: self.search_history())

    # ---- people and rooms (server) ------------------------------------------

    def _debounce(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
        self._pending = asyncio.ensure_future(self._search_later())

    async def _search_later(self) -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        query = by_id("search-input").value
        if not query.strip():
            self.people_rooms.close()
            return
        self._asked += 1
        asked = self._asked
        try:
            data = await self.session.api.call("GET", f"/api/search?q={quote(query)}")
        except ApiError as error:
            if asked == self._asked:
                self.people_rooms.show([], [], error.message)
            return
        if asked != self._asked:
            return  # a newer query is on its way; this answer is stale
        items = [("room", room) for room in data["rooms"]] + [("user", user) for user in data["users"]]
        self.people_rooms.show(items, [self._render(kind, hit) for kind, hit in items], (
            _("Nothing matches “{query}”. Rooms appear here only if you are a member. "
              "People you share no room with are found by their exact username.", query=query.strip())))
        by_id("search-results").dataset.query = query

    def _render(self, kind: str, hit: dict):
        item = make("li", cls=f"result result-{kind}", data_kind=kind, data_id=hit["id"],
                    data_match=hit["match"]["kind"])
        item.appendChild(make("span", _("Room") if kind == "room" else _("Person"), "result-kind"))
        on_name = hit["match"]["field"] == "name"
        if hit.get("display_name"):  # "display name (username)"
            item.appendChild(marked(hit["display_name"], [] if on_name else hit["match"]["spans"], "result-name"))
            spans = [(start + 1, end + 1) for start, end in hit["match"]["spans"]] if on_name else []
            item.appendChild(marked(f"({hit['name']})", spans, "result-detail"))
        else:
            item.appendChild(marked(hit["name"], hit["match"]["spans"] if on_name else [], "result-name"))
        if hit["match"]["kind"] == "fuzzy":
            item.appendChild(make("span", _("close match"), "result-detail"))
        if kind == "user" and hit["id"] != self.session.me["id"]:
            item.appendChild(make("span", _("Enter: start a room"), "result-action"))
        return item

    async def pick(self, item) -> None:
        kind, hit = item
        self.people_rooms.close()
        by_id("search-input").value = ""
        if kind == "room":
            if hit["id"] not in self.rooms:
                await self._load_rooms()
            await self._open_room(hit["id"])
            return
        if hit["id"] == self.session.me["id"]:
            toast(_("That is you."))
            return
        # Offer a room with this person: the form is filled in, the user confirms.
        show("new-room-form")
        by_id("new-room-members").value = hit["name"]
        name_input = by_id("new-room-name")
        name_input.value = f"{self.session.me['username']} & {hit['name']}"[:100]
        name_input.focus()
        name_input.select()
        toast(_("Press “Create room” to start a room with {name}.", name=hit["name"]))

    # ---- message history (this page only) ----------------------------------

    def remember(self, room_id: str, message: dict, sender: str, text: str) -> None:
        """Index a message this page decrypted and verified."""
        self.history.add(HistoryEntry(room_id, message["seq"], sender, text, message["created_at"]))

    def keep_rooms(self, room_ids) -> None:
        """Forget the history of rooms that are gone (expired, or left)."""
        self.history.keep_rooms(room_ids)

    def forget(self) -> None:
        """At sign-out: no decrypted text stays behind, not even in a cache."""
        self.history = HistoryIndex()
        words_with_spans.cache_clear()
        by_id("history-input").value = ""
        by_id("search-input").value = ""
        self.messages.close()
        self.people_rooms.close()

    def search_history(self) -> None:
        query = by_id("history-input").value
        if not query.strip():
            self.messages.close()
            return
        hits = self.history.search(query)
        self.messages.show(hits, [self._render_message(hit) for hit in hits], (
            ngettext("The one message opened in this tab does not match “{query}”. "
                     "Open a room to include its messages; the search runs in this page only.",
                     "None of the {count} messages opened in this tab match “{query}”. "
                     "Open a room to include its messages; the search runs in this page only.",
                     len(self.history), query=query.strip())))

    def _render_message(self, hit):
        entry = hit.entry
        item = make("li", cls="result result-message", data_room=entry.room_id, data_seq=entry.seq,
                    data_match=hit.match.kind_name)
        room = self.rooms.name(entry.room_id)
        item.appendChild(make("span", _("{sender} in {room} · {when}", sender=entry.sender, room=room,
                                        when=format_datetime(entry.created_at)), "result-kind"))
        text, spans = snippet(entry.text, hit.match.spans)
        item.appendChild(marked(text, spans, "result-name"))
        return item

    async def pick_message(self, hit) -> None:
        self.messages.close()
        if self.rooms.open_id != hit.entry.room_id:
            await self._open_room(hit.entry.room_id)
        found = by_id("messages").querySelector(f'[data-seq="{hit.entry.seq}"]')
        if found:
            found.scrollIntoView(_options(block="center"))
            found.classList.add("found")
