"""A message as its reader gets it: which key verifies it, and how far to trust it. Pure.

Receivers verify before they decrypt (docs/protocol.md 5). The sender's
signature is checked against, in order:

- for one's own messages (another device, or history): every key pair this
  person has held, all trusted;
- for anyone else's: the pinned key and the keys the pin trusted before it,
  then the server's current key and the earlier keys it lists, which count as
  trusted only if nothing is pinned yet (``pyclient.trust.signer_keys``).

A message that verifies only under an untrusted key is opened but shown as
"unverified key"; one that verifies under none is refused.
"""

from dataclasses import dataclass

from . import trust
from .errors import BadSignature, ProtocolError
from .protocol.encoding import b64decode
from .protocol.envelope import Envelope, open_envelope, parse_envelope

NOT_A_MEMBER = "the sender is not a member of this room"


@dataclass(frozen=True)
class Opened:
    payload: dict
    trusted: bool      # verified under a key the reader trusts (pinned, verified, or their own)
    signer_key: bytes  # the SPKI that verified it (attachments are checked against the same key)


def signer_candidates(sender: dict, *, me: str, own_keys: list[bytes], pin: dict | None) -> list[tuple[bytes, bool]]:
    """``(SPKI, trusted)`` to try in order for a message from ``sender`` (a room member)."""
    if sender["id"] == me:
        return [(public_key, True) for public_key in own_keys]
    keys = trust.signer_keys(pin, sender["public_key"], sender.get("earlier_keys", []))
    return [(b64decode(key, "public_key"), trusted) for key, trusted in keys]


async def open_message(backend, envelope: Envelope, *, room: str, me: str, sender: dict | None,
                       candidates: list[tuple[bytes, bool]], my_private_key: bytes,
                       my_public_key: bytes) -> Opened:
    """Verify with the first candidate key that fits, then decrypt; raises the last ``ProtocolError``."""
    if sender is None or sender.get("public_key") is None or not candidates:
        raise BadSignature(NOT_A_MEMBER)
    failure = None
    for public_key, trusted in candidates:
        try:
            payload = await open_envelope(backend, envelope, room=room, sender_public_key=public_key, me=me,
                                          my_private_key=my_private_key, my_public_key=my_public_key)
        except BadSignature as error:
            failure = error
            continue
        return Opened(payload, trusted, public_key)
    raise failure


def claimed_sender(envelope: dict) -> str | None:
    """Who an envelope says sent it, before any check: for notices only, never for showing content."""
    try:
        return parse_envelope(envelope).sender
    except ProtocolError:
        return None
