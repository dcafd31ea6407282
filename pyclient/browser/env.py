"""Where the client runs: the one place that knows about the worker boundary.

The client normally runs in a PyScript worker (docs/architecture.md, "The
worker boundary"). There, ``js`` is the worker's own global scope: fetch,
WebSocket, IndexedDB, WebCrypto, Blob and timers are native and fast, and
keys and plaintext never leave the worker except as DOM text. ``document``
and ``window`` are PyScript's synchronous proxies to the page: every access
is a round trip to the main thread, so views touch the DOM sparingly.

Without cross-origin isolation the page runs Python on the main thread
(web/static/shell.js decides), and the same names are the page's own.
"""

import functools
import json

import js
from pyodide.ffi import create_proxy
from pyscript import RUNNING_IN_WORKER, document, window

__all__ = ["IN_WORKER", "document", "window", "on_files", "now_ms", "page_state"]

IN_WORKER = RUNNING_IN_WORKER
_listeners = []  # proxies must outlive the call that registered them


def on_files(callback) -> None:
    """``callback(files)`` for each batch of Files that web/static/shell.js hands over.

    The File objects are native to this thread (structured clone), so reading
    them never goes through the DOM proxies.
    """
    def on_message(event):
        data = event.data
        if IN_WORKER:
            message = data
        else:  # main thread: window.postMessage, checked to come from this page
            if event.origin != window.location.origin or not getattr(data, "sealroom", None):
                return
            message = data.sealroom
        if getattr(message, "type", None) == "files":
            callback(list(message.files))

    proxy = create_proxy(on_message)
    _listeners.append(proxy)
    if IN_WORKER:
        import polyscript

        polyscript.xworker.onmessage = proxy
    else:
        js.window.addEventListener("message", proxy)


@functools.cache
def page_state() -> dict:
    """What the page held before Python started, in one round trip (web/static/shell.js):
    ``catalog`` (translations), ``language`` (``<html lang>``), ``csrf``, ``session`` (a
    session cookie came with the page) and ``backend`` (the "sealroom.backend" setting
    in localStorage, or None)."""
    return json.loads(window.sealroomDom.state())


def now_ms() -> float:
    """Milliseconds since the page's navigation started (the worker has its own clock origin)."""
    return window.performance.now()
