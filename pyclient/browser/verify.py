"""Verifying contacts in the page: pins, safety numbers, QR codes, key changes.

The rules are in ``pyclient.trust`` (pure); this module keeps the pins in
IndexedDB (store ``pins``, key ``"<me>:<contact>"``) and draws the member
list. Everything a user typed or the server sent is set as text, never HTML;
the QR code is an SVG data URI made by segno in this page.
"""

import base64

from .. import trust
from ..messages import signer_candidates
from ..protocol.keys import format_fingerprint, format_safety_number, safety_number
from .dom import by_id, clear, make, on
from .i18n import _

BANNER_ID = "key-warning"


def safety_qr_data_uri(number: str) -> str:
    """The 60 digits as a QR code (numeric mode), for the other phone to scan."""
    import segno  # imported on first use: it is not needed to boot the page
    return segno.make(number, error="m", micro=False).svg_data_uri(scale=4)


class Verification:
    def __init__(self, store, me: dict, my_public_key: bytes):
        self.store, self.me, self.my_public_key = store, me, my_public_key
        self.pins: dict[str, dict] = {}
        self.statuses: dict[str, str] = {}
        self.banner = None

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

    def signer_keys(self, member: dict, own_keys: list[bytes]) -> list[tuple[bytes, bool]]:
        """Keys to check ``member``'s messages with (``own_keys``: this person's own, for their messages)."""
        return signer_candidates(member, me=self.me["id"], own_keys=own_keys, pin=self.pins.get(member["id"]))

    async def mark_verified(self, member: dict) -> None:
        pin = trust.mark_verified(self.pins[member["id"]], member["fingerprint"], member["public_key"])
        await self.store.put("pins", self._pin_id(member["id"]), pin)
        self.pins[member["id"]] = pin
        self.statuses[member["id"]] = trust.VERIFIED

    def render(self, members: dict, on_verified) -> None:
        """Fill ``#member-list`` and the room's key-change banner."""
        member_list = by_id("member-list")
        clear(member_list)
        for member in members.values():
            member_list.appendChild(self._member_item(member, on_verified))
        self._render_banner(members)

    def _member_item(self, member: dict, on_verified):
        is_me = member["id"] == self.me["id"]
        state = self.statuses.get(member["id"], "")
        item = make("li", cls="member", data_user=member["username"], data_trust=state or "self")
        item.appendChild(make("strong", member["username"] + (_(" (you)") if is_me else "")))
        if member["public_key"] is None:
            item.appendChild(make("div", _("Has no key yet: cannot receive messages."), "hint"))
            return item
        item.appendChild(make("div", _("Fingerprint: ") + format_fingerprint(bytes.fromhex(member["fingerprint"])),
                              "fingerprint"))
        if is_me:
            return item
        number = safety_number(self.me["id"], self.my_public_key, member["id"],
                               base64.b64decode(member["public_key"]))
        item.appendChild(make("div", _("Safety number: ") + format_safety_number(number), "safety-number"))
        details = make("details", cls="safety-qr")
        details.appendChild(make("summary", _("Show as QR code")))
        details.appendChild(make("img", cls="safety-qr-code", src=safety_qr_data_uri(number),
                                 alt=_("QR code of your safety number with {name}", name=member["username"]),
                                 data_number=number))
        item.appendChild(details)
        if state == trust.CHANGED:
            item.appendChild(make("div", _("⚠ {name}'s key has changed since you first saw it. It may be a new device, or someone (even the server) "
                                           "pretending to be them. Compare safety numbers in person or on a call before you trust it.",
                                           name=member["username"]),
                                  "error key-changed"))
        if state == trust.VERIFIED:
            item.appendChild(make("div", _("✓ You verified this key"), "trust-verified"))
        else:
            button = make("button", _("Mark as verified"), "verify-button", type="button")
            item.appendChild(make("div", _("Compare the safety number with {name} (read it aloud or scan the QR code), "
                                           "then mark the key as verified.", name=member["username"]), "hint"))

            async def verify(_event, member=member):
                await self.mark_verified(member)
                await on_verified()

            on(button, "click", verify)
            item.appendChild(button)
        return item

    def _render_banner(self, members: dict) -> None:
        if self.banner is None:  # made once per page, above the member list
            self.banner = make("div", cls="error key-warning", id=BANNER_ID, role="alert")
            by_id("room").insertBefore(self.banner, by_id("messages"))  # above the conversation
        banner = self.banner
        names = sorted(members[user_id]["username"] for user_id in self.changed() if user_id in members)
        banner.textContent = _("⚠ Security warning: the key of {names} changed. Messages under the new key are marked "
                               "“unverified key” until you compare safety numbers and mark it as verified.",
                               names=", ".join(names)) if names else ""
        banner.hidden = not names
