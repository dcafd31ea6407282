"""Pinned contact keys: trust on first use, explicit verification, key changes.

Pure logic over plain dicts (what IndexedDB stores), so it runs and is
tested in CPython. A pin is::

    {"fingerprint": hex, "public_key": base64 SPKI, "verified": bool,
     "earlier": [{"fingerprint", "public_key", "verified"}, ...]}

``earlier`` keeps keys the user trusted before (a rotation the user
verified), so old messages signed under them still verify.
"""

import base64
import hashlib

FIRST_SEEN = "unverified"  # pinned on first use, safety number not compared yet
VERIFIED = "verified"      # the user compared safety numbers and said so
CHANGED = "changed"        # the server now shows another key than the pinned one


def first_pin(fingerprint: str, public_key: str, earlier_keys: list[str] = ()) -> dict:
    """Pin what the server shows on first sight: the current key and the keys
    it had before (rotations), so that its old messages verify too."""
    earlier = [{"fingerprint": _fingerprint_hex(key), "public_key": key, "verified": False} for key in earlier_keys]
    return {"fingerprint": fingerprint, "public_key": public_key, "verified": False, "earlier": earlier}


def _fingerprint_hex(public_key: str) -> str:
    return hashlib.sha256(base64.b64decode(public_key)).hexdigest()


def status(pin: dict, current_fingerprint: str) -> str:
    if pin["fingerprint"] != current_fingerprint:
        return CHANGED
    return VERIFIED if pin["verified"] else FIRST_SEEN


def mark_verified(pin: dict, fingerprint: str, public_key: str) -> dict:
    """The user compared safety numbers for ``fingerprint``: trust that key."""
    earlier = [k for k in pin.get("earlier", []) if k["fingerprint"] != fingerprint]
    if pin["fingerprint"] != fingerprint:
        earlier.append({k: pin[k] for k in ("fingerprint", "public_key", "verified")})
    return {"fingerprint": fingerprint, "public_key": public_key, "verified": True, "earlier": earlier}


def signer_keys(pin: dict | None, current_public_key: str, server_earlier: list[str] = ()) -> list[tuple[str, bool]]:
    """Keys to check a sender's signature with, as ``(base64 SPKI, trusted)``.

    The pinned key and the pin's earlier keys come first and count as
    trusted. The server's current key is tried next and, if it differs from
    the pin, a message it verifies is shown as "unverified key"; so are
    earlier keys the server lists that were not pinned.
    """
    if pin is None:
        keys = [(current_public_key, True)]
    else:
        keys = [(pin["public_key"], True)] + [(k["public_key"], True) for k in pin.get("earlier", [])]
    for key in (current_public_key, *server_earlier):
        if key not in {known for known, _ in keys}:
            keys.append((key, pin is None))
    return keys
