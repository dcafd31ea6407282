"""Items shared into SealRoom from another app (the manifest's share target).

The service worker (web/static/sw.js) keeps them in this origin's cache and
opens ``/?share=1``; here they are taken out, the cache is emptied, and they
wait in the composer until the person picks a room and sends them, encrypted
like anything else. The server never sees them in the clear.
"""

import js
from pyodide.ffi import to_js

from .dom import by_id, toast
from .env import window
from .i18n import _

SHARE_CACHE = "sealroom-share"


def pending_share() -> str:
    """``"1"`` when the service worker holds a share, ``"unavailable"`` when it could not take one, else ``""``.

    (``URLSearchParams.get`` answers JavaScript's null, which Pyodide hands over as ``jsnull``, not None.)
    """
    return js.URLSearchParams.new(window.location.search).get("share") or ""


async def take_shared() -> tuple[str, list]:
    """The shared text and File objects; the cache holds nothing afterwards."""
    cache = await js.caches.open(SHARE_CACHE)
    text, files = "", []
    for request in await cache.keys():
        response = await cache.match(request)
        if js.URL.new(request.url).pathname == "/shared/text":
            text = await response.text()
            continue
        blob = await response.blob()
        name = js.decodeURIComponent(response.headers.get("X-Name") or "file")
        files.append(js.File.new(to_js([blob]), name, to_js({"type": blob.type}, dict_converter=js.Object.fromEntries)))
    await js.caches.delete(SHARE_CACHE)
    return text, files


async def receive(add_files, show_rooms) -> None:
    """What another app shared waits in the composer until the person picks a room.

    ``add_files(files)`` attaches files to the composer; ``show_rooms()`` shows the room list.
    """
    state = pending_share()
    if not state:
        return
    window.history.replaceState(None, "", "/" + window.location.hash)
    if state != "1":
        toast(_("Sharing into SealRoom works once the app is installed on this device. Nothing was sent."), 8)
        return
    text, files = await take_shared()
    if text:
        by_id("composer-text").value = text
    add_files(files)
    if text or files:
        show_rooms()
        toast(_("Pick a room for what you shared: it is encrypted before it leaves this page."), 8)
