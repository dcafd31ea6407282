"""The open room's messages: verified and opened in this page, drawn as bubbles.

Which messages are new, whether older history remains, where day separators
go and which message starts a sender's run is ``pyclient.timeline`` (pure);
which key verifies a message is ``pyclient.messages`` (pure). This view
fetches pages of history, draws each batch in one DOM call (from the worker
every DOM call crosses to the page), keeps the reader's place, and offers
"jump to newest".

A verified message is a bubble: one's own on the right, others' on the left
with the sender's name above each run, the time and a compact ✓. A message
that failed its checks, or that only a key the reader has not verified
signs, is a full-width warning card, never a bubble.
"""

from ..errors import ProtocolError
from ..messages import open_message
from ..names import label
from ..protocol.envelope import parse_envelope
from ..timeline import Slot, Timeline
from .dom import append_trees, by_id, clear, on, show, toast, tree
from .i18n import _
from .net import ApiError

NEAR_END_PX = 80    # this close to the bottom, the reader is "at the newest message"
NEAR_TOP_PX = 200   # this close to the top, the previous page of history loads


class Conversation:
    def __init__(self, session, rooms, keyring, verification, files, dates, remember):
        """``verification()``: the current Verification (pins); ``files``: the attachments view;
        ``dates``: a Dates; ``remember(room_id, message, sender_name, text)``: index a message
        for the history search."""
        self.session = session
        self.dates = dates
        self.rooms = rooms
        self.keyring = keyring
        self._verification = verification
        self.files = files
        self._remember = remember
        self.timeline = Timeline()

    def bind(self) -> None:
        on("messages", "scroll", self.on_scroll)
        on("jump-newest", "click", self.on_jump_newest)

    def clear(self) -> None:
        clear(by_id("messages"))
        self.timeline = Timeline()

    async def fetch_newest(self, room_id: str) -> list[dict]:
        """The room's newest page of history (raises ApiError)."""
        return (await self.session.api.call("GET", f"/api/rooms/{room_id}/messages"))["messages"]

    async def show(self, messages: list[dict], *, older: bool = False, first_page: bool = False) -> int:
        """Verify, open and show messages in one DOM update; how many failed their security check.

        New messages go at the end, and the list follows them only if the reader
        was at the end; ``older`` ones go on top, keeping what the reader sees in
        place. ``first_page``: the room was just opened with these messages.
        """
        if first_page:
            self.timeline.page_loaded(messages)
        drawn, slots, autoload = [], [], []
        for message in self.timeline.fresh(messages):
            item, slot, keys = await self.message_tree(message)
            drawn.append(item)
            slots.append(slot)
            autoload += keys
        if not drawn:
            return 0
        refused = sum(1 for item in drawn if item[1].get("data-failed") not in (None, "key_changed"))
        layout = self.timeline.place(slots, older=older)
        items = []
        for item, slot, separator, head in zip(drawn, slots, layout.separators, layout.heads):
            if separator:
                items.append(tree("li", tree("span", self.dates.day_label(slot.day)), cls="day",
                                  data_day=slot.day.isoformat()))
            if head:
                item[1]["data-head"] = "1"
            items.append(item)
        container = by_id("messages")
        height, top = container.scrollHeight, container.scrollTop
        at_end = height - top - container.clientHeight < NEAR_END_PX
        old_top = container.firstChild if older else None
        if layout.same_run_as_top:  # the old top message's run began higher up: its name goes
            old_top.nextElementSibling.removeAttribute("data-head")
        if layout.same_day_as_top:  # and its day too: one separator for the day, above the older page
            old_top.remove()
            old_top = container.firstChild
        append_trees(container, items, old_top)
        for key in autoload:  # pictures, video and sound open by themselves
            self.files.open_by_key(container, key)
        if older:
            container.scrollTop = top + container.scrollHeight - height
        elif at_end or len(drawn) == len(self.timeline.seqs):
            container.scrollTop = container.scrollHeight
        else:
            show("jump-newest")
        return refused

    async def on_scroll(self, _event) -> None:
        """Near the top: the previous page of history. At the end: no "jump to newest"."""
        container = by_id("messages")
        if container.scrollHeight - container.scrollTop - container.clientHeight < NEAR_END_PX:
            show("jump-newest", False)
        before = self.timeline.older_cursor()
        if container.scrollTop > NEAR_TOP_PX or before is None:
            return
        timeline, room_id = self.timeline, self.rooms.open_id
        timeline.loading_older = True
        try:
            older = (await self.session.api.call("GET", f"/api/rooms/{room_id}/messages?before={before}"))["messages"]
        except ApiError as error:
            toast(error.message)
            return
        finally:
            timeline.loading_older = False
        if timeline is self.timeline:  # still the same room
            timeline.page_loaded(older)
            await self.show(older, older=True)

    async def on_jump_newest(self, _event) -> None:
        container = by_id("messages")
        container.scrollTop = container.scrollHeight
        show("jump-newest", False)

    async def open(self, message: dict):
        """Parse and verify a message; returns the envelope, its sender (a member) and what ``open_message`` gives."""
        envelope = parse_envelope(message["envelope"])
        sender = self.rooms.members.get(envelope.sender)
        candidates = [] if sender is None else self._verification().signer_keys(sender, self.keyring.public_keys())
        my_private_key, my_public_key = self.keyring.pair_for(envelope)
        opened = await open_message(self.session.backend, envelope, room=self.rooms.open_id,
                                    me=self.session.me["id"], sender=sender, candidates=candidates,
                                    my_private_key=my_private_key, my_public_key=my_public_key)
        return envelope, sender, opened

    async def message_tree(self, message: dict) -> tuple[list, Slot, list[str]]:
        """The message as a DOM tree (with its attachments if it verified), its place in the
        timeline, and the attachments to open at once."""
        iso = message["created_at"]
        sent_at = tree("time", self.dates.time(iso), datetime=iso, title=self.dates.full(iso))
        day = self.dates.day(iso)
        try:
            envelope, sender, opened = await self.open(message)
        except ProtocolError as error:
            warning = _("This message failed a security check ({check}): {reason}. It is not shown.",
                        check=error.kind.replace("_", " "), reason=_(error.message))
            return tree("li", tree("div", tree("span", _("⚠ Unverified"), cls="badge"), sent_at, cls="meta"),
                        tree("div", warning, cls="body warning"), cls="message warning-card",
                        data_seq=message["seq"], data_status="unverified", data_failed=error.kind), Slot(day, None), []
        name, payload = label(sender), opened.payload
        mine = sender["id"] == self.session.me["id"]
        self._remember(self.rooms.open_id, message, name, payload["body"])
        body = tree("div", payload["body"], cls="body") if payload["body"] else None
        if not opened.trusted:  # a key the reader has not verified signed it: they are told before they read it
            return tree("li", tree("div", tree("span", _("⚠ Unverified key: {name}'s key changed", name=name),
                                               cls="badge"), sent_at, cls="meta"),
                        body, tree("p", _("Compare safety numbers with {name} in the room's details before you "
                                          "trust this message.", name=name), cls="hint"),
                        cls="message warning-card", data_seq=message["seq"], data_status="unverified",
                        data_failed="key_changed", data_sender=sender["id"]), Slot(day, None), []
        boxes, autoload = [], []
        if payload["kind"] == "files":
            boxes, autoload = self.files.boxes(payload["files"], room=envelope.room, sender=sender,
                                               message_id=envelope.id, sender_key=opened.signer_key)
        # The badge reads "✓ Verified from NAME"; the page shows the ✓, the name is above the run.
        badge = tree("span", "✓", tree("span", " " + _("Verified from {name}", name=name), cls="visually-hidden"),
                     cls="badge", title=_("Verified from {name}", name=name))
        return tree("li", tree("div", _("You") if mine else name, cls="sender"), body, *boxes,
                    tree("div", sent_at, badge, cls="meta"), cls="message mine" if mine else "message theirs",
                    data_seq=message["seq"], data_status="verified", data_sender=sender["id"]), \
            Slot(day, sender["id"]), autoload
