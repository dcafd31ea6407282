"""Verifying contacts in the page: pins, safety numbers, QR codes, key changes.

The rules are in ``pyclient.trust`` (pure); this module keeps the pins in
IndexedDB (store ``pins``, key ``"<me>:<contact>"``), and ``MemberList`` draws
the members in the room's details drawer. Everything a user typed or the
server sent is set as text, never HTML; the QR code is an SVG data URI made
by segno in this page.
"""

import base64

from .. import trust
from ..messages import signer_candidates
from ..names import label
from ..protocol.keys import format_fingerprint, format_safety_number, safety_number
from .dom import append_trees, avatar, by_id, clear, on, qr_data_uri, set_text, show, toast, tree
from .i18n import _

BANNER_ID = "key-warning"


class Verification:
    def __init__(self, store, me: dict, my_public_key: bytes):
        self.store, self.me, self.my_public_key = store, me, my_public_key
        self.pins: dict[str, dict] = {}
        self.statuses: dict[str, str] = {}
        self._told: set[tuple[str, str]] = set()  # (member, fingerprint) key changes already announced

    def _pin_id(self, user_id: str) -> str:
        return f"{self.me['id']}:{user_id}"

    async def load(self, members: dict) -> None:
        """Pin every contact seen for the first time; note any changed key."""
        self.statuses = {}
        for member in members.values():
            if member["id"] == self.me["id"] or member["public_key"] is None:
                continue
            pin = await self.store.get("pins", self._pin_id(member["id"]))
            if pin is None or "public_key" not in pin:  # pins from before keys were kept in them
                pin = trust.first_pin(member["fingerprint"], member["public_key"], member.get("earlier_keys", []))
                await self.store.put("pins", self._pin_id(member["id"]), pin)
            self.pins[member["id"]] = pin
            self.statuses[member["id"]] = trust.status(pin, member["fingerprint"])

    def changed(self) -> set[str]:
        return {user_id for user_id, state in self.statuses.items() if state == trust.CHANGED}

    def untold_changes(self, members: dict) -> list[str]:
        """Names of members whose changed key this page has not announced yet (each new key once)."""
        untold = sorted((members[user_id]["username"], (user_id, members[user_id]["fingerprint"]))
                        for user_id in self.changed() if user_id in members)
        names = [name for name, told in untold if told not in self._told]
        self._told.update(told for _, told in untold)
        return names

    def signer_keys(self, member: dict, own_keys: list[bytes]) -> list[tuple[bytes, bool]]:
        """Keys to check ``member``'s messages with (``own_keys``: this person's own, for their messages)."""
        return signer_candidates(member, me=self.me["id"], own_keys=own_keys, pin=self.pins.get(member["id"]))

    async def mark_verified(self, member: dict) -> None:
        pin = trust.mark_verified(self.pins[member["id"]], member["fingerprint"], member["public_key"])
        await self.store.put("pins", self._pin_id(member["id"]), pin)
        self.pins[member["id"]] = pin
        self.statuses[member["id"]] = trust.VERIFIED


class MemberList:
    """The drawer's members: verified state at a glance, safety number and QR code, "Mark as verified".

    A member who still needs comparing (first seen, or key changed) is shown
    open; verified members and oneself fold into one row. The rows are drawn
    in one DOM call, and one listener on the list handles every button.
    """

    def __init__(self, verification, members, on_verified):
        """``verification()``: the current Verification; ``members()``: the open room's members
        by id; ``on_verified()``: after a key was marked as verified."""
        self._verification = verification
        self._members = members
        self._on_verified = on_verified

    def bind(self) -> None:
        on("member-list", "click", self.on_click)

    async def on_click(self, event) -> None:
        button = event.target.closest(".verify-button")
        member = self._members().get(button.dataset.userId) if button is not None else None
        if member is None:
            return
        button.disabled = True
        await self._verification().mark_verified(member)
        toast(_("You verified {name}'s key.", name=member["username"]))
        await self._on_verified()

    def render(self) -> None:
        """Fill ``#member-list`` and the room's key-change banner."""
        verification, members = self._verification(), self._members()
        member_list = by_id("member-list")
        clear(member_list)
        me = verification.me["id"]
        ordered = sorted(members.values(), key=lambda member: (member["id"] != me, member["username"]))
        append_trees(member_list, [self._item(verification, member) for member in ordered])
        set_text("member-count", str(len(members)))
        names = sorted(members[user_id]["username"] for user_id in verification.changed() if user_id in members)
        set_text(BANNER_ID, _("⚠ Security warning: the key of {names} changed. Messages under the new key are marked "
                              "“unverified key” until you compare safety numbers and mark it as verified.",
                              names=", ".join(names)) if names else "")
        show(BANNER_ID, bool(names))

    @staticmethod
    def _item(verification, member: dict) -> list:
        is_me = member["id"] == verification.me["id"]
        state = "self" if is_me else verification.statuses.get(member["id"], "")
        chip = {trust.VERIFIED: _("Verified"), trust.FIRST_SEEN: _("Not verified"),
                trust.CHANGED: _("Key changed")}.get(state)
        row = [avatar(member["username"], member["id"]),
               tree("span", label(member) + (_(" (you)") if is_me else ""), cls="member-name"),
               tree("span", chip, cls="trust-chip", data_trust=state) if chip else None]
        attributes = {"cls": "member", "data_user": member["username"], "data_user_id": member["id"],
                      "data_trust": state}
        if member["public_key"] is None:
            return tree("li", tree("div", *row, cls="member-row"),
                        tree("p", _("Has no key yet: cannot receive messages."), cls="hint"), **attributes)
        fingerprint = tree("p", _("Fingerprint: ") + format_fingerprint(bytes.fromhex(member["fingerprint"])),
                           cls="fingerprint")
        if is_me:
            return tree("li", tree("details", tree("summary", *row, cls="member-row"),
                                   tree("div", fingerprint, cls="member-body")), **attributes)
        number = safety_number(verification.me["id"], verification.my_public_key, member["id"],
                               base64.b64decode(member["public_key"]))
        name = member["username"]
        verified = state == trust.VERIFIED
        body = [
            tree("p", _("⚠ {name}'s key has changed since you first saw it. It may be a new device, or someone (even the "
                        "server) pretending to be them. Compare safety numbers in person or on a call before you trust it.",
                        name=name), cls="error key-changed") if state == trust.CHANGED else None,
            tree("p", _("✓ You verified this key"), cls="trust-verified") if verified else
            tree("p", _("Compare the safety number with {name} (read it aloud or scan the QR code), then "
                        "mark the key as verified.", name=name), cls="hint"),
            tree("div", tree("span", _("Safety number"), cls="safety-label"),
                 tree("span", *[tree("span", group) for group in format_safety_number(number).split()],
                      cls="safety-digits"),
                 cls="safety-number", data_number=number),
            None if verified else tree("button", _("Mark as verified"), cls="verify-button", type="button",
                                       data_user_id=member["id"]),
            tree("details", tree("summary", _("Show as QR code")),
                 tree("img", cls="safety-qr-code", src=qr_data_uri(number), data_number=number,
                      alt=_("QR code of your safety number with {name}", name=name)), cls="safety-qr"),
            fingerprint,
        ]
        return tree("li", tree("details", tree("summary", *row, cls="member-row"), tree("div", *body, cls="member-body"),
                               open=None if verified else ""), **attributes)
