"""Crypto backends with one async interface (see ``base.Backend``).

``pure`` (python-rsa, pyaes) is the reference and runs everywhere;
``native`` (the ``cryptography`` library) is the fast one in CPython;
``webcrypto`` is the browser's. :func:`make_backend` picks one by name.
"""

import os

BACKENDS = ("native", "pure")
ENV_VARIABLE = "SEALROOM_CRYPTO"


class UnknownBackend(ValueError):
    pass


def make_backend(name: str | None = None):
    """``name``, else ``$SEALROOM_CRYPTO``, else ``native``."""
    name = name or os.environ.get(ENV_VARIABLE) or "native"
    if name == "native":
        from .native import NativeBackend
        return NativeBackend()
    if name == "pure":
        from .pure import PureBackend
        return PureBackend()
    raise UnknownBackend(f"unknown crypto backend {name!r}: choose one of {', '.join(BACKENDS)}")
