"""The open room's messages: verified and opened in this page, drawn as bubbles.

Which messages are new and whether older history remains is
``pyclient.timeline`` (pure); which key verifies a message is
``pyclient.messages`` (pure). This view fetches pages of history, draws each
batch in one DOM call (from the worker every DOM call crosses to the page),
keeps the reader's place, and offers "jump to newest".
"""

from ..errors import ProtocolError
from ..messages import open_message
from ..names import label
from ..protocol.envelope import parse_envelope
from ..timeline import Timeline
from .dom import append_trees, by_id, clear, on, show, toast, tree
from .i18n import _
from .net import ApiError

NEAR_END_PX = 80    # this close to the bottom, the reader is "at the newest message"
NEAR_TOP_PX = 200   # this close to the top, the previous page of history loads


class Conversation:
    def __init__(self, session, rooms, keyring, verification, files, remember):
        """``verification()``: the current Verification (pins); ``files``: the attachments view;
        ``remember(room_id, message, sender_name, text)``: index a message for the history search."""
        self.session = session
        self.rooms = rooms
        self.keyring = keyring
        self._verification = verification
        self.files = files
        self._remember = remember
        self.timeline = Timeline()

    def bind(self) -> None:
        on(by_id("messages"), "scroll", self.on_scroll)
        on(by_id("jump-newest"), "click", self.on_jump_newest)

    def clear(self) -> None:
        clear(by_id("messages"))
        self.timeline = Timeline()

    async def fetch_newest(self, room_id: str) -> list[dict]:
        """The room's newest page of history (raises ApiError)."""
        return (await self.session.api.call("GET", f"/api/rooms/{room_id}/messages"))["messages"]

    async def show(self, messages: list[dict], *, older: bool = False, first_page: bool = False) -> None:
        """Verify, open and show messages in one DOM update.

        New messages go at the end, and the list follows them only if the reader
        was at the end; ``older`` ones go on top, keeping what the reader sees in
        place. ``first_page``: the room was just opened with these messages.
        """
        if first_page:
            self.timeline.page_loaded(messages)
        items, autoload = [], []
        for message in self.timeline.fresh(messages):
            item, keys = await self.message_tree(message)
            items.append(item)
            autoload += keys
        if not items:
            return
        container = by_id("messages")
        height, top = container.scrollHeight, container.scrollTop
        at_end = height - top - container.clientHeight < NEAR_END_PX
        append_trees(container, items, container.firstChild if older else None)
        for key in autoload:  # pictures, video and sound open by themselves
            self.files.open_by_key(container, key)
        if older:
            container.scrollTop = top + container.scrollHeight - height
        elif at_end or len(items) == len(self.timeline.seqs):
            container.scrollTop = container.scrollHeight
        else:
            show("jump-newest")

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

    async def message_tree(self, message: dict) -> tuple[list, list[str]]:
        """The message as a DOM tree (with its attachments if it verified), and the attachments to open at once."""
        sent_at = tree("time", message["created_at"][11:16])
        try:
            envelope, sender, opened = await self.open(message)
        except ProtocolError as error:
            warning = _("This message failed a security check ({check}): {reason}. It is not shown.",
                        check=error.kind.replace("_", " "), reason=_(error.message))
            return tree("li", tree("div", tree("span", _("⚠ Unverified"), cls="badge"), sent_at, cls="meta"),
                        tree("div", warning, cls="body warning"), cls="message", data_seq=message["seq"],
                        data_status="unverified", data_failed=error.kind), []
        name, payload = label(sender), opened.payload
        if opened.trusted:
            status, failed, badge = "verified", None, _("✓ Verified from {name}", name=name)
        else:
            status, failed, badge = "unverified", "key_changed", _("⚠ Unverified key: {name}'s key changed", name=name)
        boxes, autoload = [], []
        if payload["kind"] == "files" and opened.trusted:
            boxes, autoload = self.files.boxes(payload["files"], room=envelope.room, sender=sender,
                                               message_id=envelope.id, sender_key=opened.signer_key)
        self._remember(self.rooms.open_id, message, name, payload["body"])
        mine = "mine" if sender["id"] == self.session.me["id"] else "theirs"
        body = tree("div", payload["body"], cls="body") if payload["body"] else None
        return tree("li", tree("div", tree("span", badge, cls="badge"), sent_at, cls="meta"), body, *boxes,
                    cls=f"message {mine}", data_seq=message["seq"], data_status=status,
                    data_failed=failed), autoload
