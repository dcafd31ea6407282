"""Pinned contact keys: trust on first use, explicit verification, key changes.

Pure logic over plain dicts (what IndexedDB stores), so it runs and is
tested in CPython. A pin is::

    {"fingerprint": hex, "public_key": base64 SPKI, "verified": bool,
     "earlier": [{"fingerprint", "public_key", "verified"}, ...]}

``earlier`` keeps keys the user trusted before (a rotation the user
verified), so old messages signed under them still verify.
"""

FIRST_SEEN = "unverified"  # pinned on first use, safety number not compared yet
VERIFIED = "verified"      # the user compared safety numbers and said so
CHANGED = "changed"        # the server now shows another key than the pinned one


def first_pin(fingerprint: str, public_key: str) -> dict:
    return {"fingerprint": fingerprint, "public_key": public_key, "verified": False, "earlier": []}


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


def signer_keys(pin: dict | None, current_public_key: str) -> list[tuple[str, bool]]:
    """Keys to check a sender's signature with, as ``(base64 SPKI, trusted)``.

    The pinned key and earlier trusted keys come first and count as trusted.
    The server's current key is tried last and, if it differs from the pin,
    a message it verifies is shown as "unverified key".
    """
    if pin is None:
        return [(current_public_key, True)]
    keys = [(pin["public_key"], True)] + [(k["public_key"], True) for k in pin.get("earlier", [])]
    if current_public_key not in {key for key, _ in keys}:
        keys.append((current_public_key, False))
    return keys
