"""HTTP and WebSocket adapters over the browser's fetch and WebSocket."""

import asyncio
import json

import js
from pyodide.ffi import create_proxy, to_js

from .env import window
from .i18n import _


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Api:
    """JSON calls to /api/ with the session cookie and the anti-forgery token."""

    def __init__(self, csrf: str):
        self.csrf = csrf
        # Absolute: in the worker a relative URL would resolve against the worker's script.
        self.origin = window.location.origin

    async def fetch(self, method: str, path: str, body=None, headers: dict | None = None):
        """The raw Response; ``body`` is text, bytes, or JS bytes (a Uint8Array
        or a Blob). Network failures become ApiError."""
        headers = {"Accept": "application/json", **(headers or {})}
        if method not in ("GET", "HEAD"):
            headers["X-CSRF-Token"] = self.csrf
        options = {"method": method, "credentials": "same-origin", "headers": headers}
        if body is not None:
            # Bytes go as a Blob: a Uint8Array body costs Chromium seconds per
            # megabytes-long request in this worker, a Blob body almost nothing.
            options["body"] = body if isinstance(body, str) else \
                js.Blob.new(to_js([to_js(body) if isinstance(body, bytes) else body]))
        try:
            return await js.fetch(self.origin + path, to_js(options, dict_converter=js.Object.fromEntries))
        except Exception:
            raise ApiError(0, "network", _("The server cannot be reached. Check your connection and try again.")) from None

    async def call(self, method: str, path: str, body: dict | None = None, headers: dict | None = None,
                   raw: bytes | None = None) -> dict:
        if body is not None:
            raw = json.dumps(body)
            headers = {"Content-Type": "application/json", **(headers or {})}
        response = await self.fetch(method, path, raw, headers)
        return await self.json(response)

    async def json(self, response) -> dict:
        text = await response.text()
        try:
            data = json.loads(text) if text else {}
        except ValueError:
            data = {}
        if not response.ok:
            error = data.get("error") if isinstance(data, dict) else None  # {"error": {"code", "message"}}
            error = error if isinstance(error, dict) else {}
            raise ApiError(response.status, error.get("code", "error"),
                           error.get("message", _("The server answered {status}.", status=response.status)))
        if "csrf" in data:
            self.csrf = data["csrf"]
        return data


SIGNED_OUT = 4001  # close code: this session was signed out or revoked


class Socket:
    """One WebSocket with reconnects; frames go to ``on_frame``.

    ``on_lost()`` runs once when an open socket drops (not when this page closes
    it), ``on_restored()`` when a reconnect after that opens again.
    """

    def __init__(self, on_frame, on_signed_out=None, on_lost=None, on_restored=None):
        self._on_frame = on_frame
        self.on_signed_out = on_signed_out
        self._on_lost, self._on_restored = on_lost, on_restored
        self.lost = False  # an open socket dropped and has not reopened yet
        self._ws = None
        self._closed = False
        self._proxies = []
        self.ready = asyncio.Event()
        self.connections = 0  # how many times the socket has opened

    def connect(self) -> None:
        if self._closed:  # a reconnect that was due when the page closed the socket
            return
        scheme = "wss" if window.location.protocol == "https:" else "ws"
        ws = js.WebSocket.new(f"{scheme}://{window.location.host}/ws")
        self._ws = ws

        def on_message(event):
            asyncio.ensure_future(self._on_frame(json.loads(event.data)))

        def on_open(_event):
            self.connections += 1
            self.ready.set()
            if self.lost:
                self.lost = False
                if self._on_restored is not None:
                    self._on_restored()

        def on_close(event):
            self.ready.clear()
            if self._closed:  # this page closed it (signed out here): the server's reason is stale
                return
            if event.code == SIGNED_OUT:
                self._closed = True
                if self.on_signed_out is not None:  # the close reason says why (protocol 8)
                    asyncio.ensure_future(self.on_signed_out(event.reason))
            else:
                if self.connections and not self.lost:  # said once, however many reconnects fail
                    self.lost = True
                    if self._on_lost is not None:
                        self._on_lost()
                asyncio.get_running_loop().call_later(2.0, self.connect)

        for name, handler in (("message", on_message), ("open", on_open), ("close", on_close)):
            proxy = create_proxy(handler)
            self._proxies.append(proxy)
            ws.addEventListener(name, proxy)

    async def send(self, frame: dict) -> None:
        await asyncio.wait_for(self.ready.wait(), 15)
        self._ws.send(json.dumps(frame))

    def close(self) -> None:
        self._closed = True
        if self._ws is not None:
            self._ws.close()
