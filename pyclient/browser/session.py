"""Who is signed in in this tab, and what they act with: the state views share.

Views get this object (or a few callables), never the whole page controller:
``api`` for JSON calls, ``backend`` for crypto, ``store`` for IndexedDB,
``me`` (the server's user dict, replaced when the server returns a newer one)
and the current key pair once unlocked.
"""

from dataclasses import dataclass


@dataclass
class Session:
    api: object      # pyclient.browser.net.Api
    backend: object  # a pyclient.crypto backend
    store: object = None  # pyclient.browser.idb.Store, once opened
    me: dict | None = None
    private_key: bytes = b""  # PKCS#8 of the current key pair
    public_key: bytes = b""   # SPKI of the current key pair

    def forget(self) -> None:
        """At sign-out: nothing of the person or their key stays in this object."""
        self.me, self.private_key, self.public_key = None, b"", b""
