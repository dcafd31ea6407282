"""Small DOM helpers. User data is only ever set as text, never as HTML."""

import asyncio
import functools
import inspect
import json

from pyodide.ffi import create_proxy

from ..toasts import ToastQueue
from .env import document, window

_proxies = []  # event handlers must outlive the call that registered them
_pending: list[tuple[str, str, object]] = []  # listeners by element id, waiting for attach_listeners()


_elements: dict = {}  # element id -> the proxy last made for it


def by_id(element_id: str):
    """The element with this id. From the worker, making a proxy for an element
    costs 10–30 ms (PyScript learns the object's shape in many round trips to
    the page), and reading one property of it about 0.3 ms: so each element's
    proxy is kept, and used again while the element is still in the page."""
    element = _elements.get(element_id)
    if element is not None and element.isConnected:
        return element
    element = document.getElementById(element_id)
    if element is not None:
        _elements[element_id] = element
    return element


def show(element_id: str, visible: bool = True) -> None:
    by_id(element_id).hidden = not visible


def set_text(element_id: str, text: str) -> None:
    by_id(element_id).textContent = text


def make(tag: str, text: str | None = None, cls: str | None = None, **attrs):
    element = document.createElement(tag)
    if text is not None:
        element.textContent = text
    if cls:
        element.className = cls
    for name, value in attrs.items():
        element.setAttribute(name.replace("_", "-"), str(value))
    return element


def clear(element) -> None:
    element.replaceChildren()  # one call to the page, however many children


def show_error(element_id: str, message: str | None) -> None:
    element = by_id(element_id)
    element.textContent = message or ""
    element.hidden = not message


def _run(handler, evt) -> None:
    result = handler(evt)
    if inspect.isawaitable(result):
        asyncio.ensure_future(result)


def on(element, event: str, handler) -> None:
    """Run ``handler(event)`` (a function or a coroutine function) for each DOM event.

    ``element`` is an element, or the id of one ("window" and "document" name
    those): listeners by id wait for :func:`attach_listeners`, which adds them
    all in one call to the page instead of three round trips each.

    The handler runs after the event has been dispatched (in the worker), so it
    cannot cancel it: web/static/shell.js cancels the defaults the app needs.
    """
    if isinstance(element, str):
        _pending.append((element, event, handler))
        return
    proxy = create_proxy(lambda evt: _run(handler, evt))
    _proxies.append(proxy)
    element.addEventListener(event, proxy)


def attach_listeners() -> None:
    """Add every listener :func:`on` was given by id since the last call."""
    if not _pending:
        return
    bindings = list(_pending)
    _pending.clear()
    proxy = create_proxy(lambda index, evt: _run(bindings[index][2], evt))
    _proxies.append(proxy)
    window.sealroomDom.listen(json.dumps([[target, event] for target, event, _ in bindings]), proxy)


_toasts = ToastQueue()
_toast_timer = None
_toast_on_screen: str | None = None


def toast(message: str, seconds: float = 4.0) -> None:
    """Say ``message`` in ``#toast`` (announced through aria-live) for ``seconds``.

    A toast that comes while another is shown waits its turn (``pyclient.toasts``).
    """
    loop = asyncio.get_running_loop()
    _toasts.push(message, seconds, loop.time())
    _draw_toast(loop)


def _next_toast(loop) -> None:
    # A timer's callback: Pyodide runs it outside the loop, so asyncio.get_running_loop() would fail here.
    _toasts.next(loop.time())
    _draw_toast(loop)


def _draw_toast(loop) -> None:
    global _toast_timer, _toast_on_screen
    text = _toasts.shown.text if _toasts.shown is not None else None
    if text != _toast_on_screen:
        if text is not None:
            set_text("toast", text)
        show("toast", text is not None)
        _toast_on_screen = text
    if _toast_timer is not None:
        _toast_timer.cancel()
    due = _toasts.due()  # may be past already (shown long enough): Pyodide's loop refuses a time in the past
    _toast_timer = loop.call_later(max(0.0, due - loop.time()), _next_toast, loop) if due is not None else None


def tree(tag: str, *children, cls: str | None = None, **attrs) -> list:
    """A DOM element described as data, for :func:`append_trees`: ``children`` are text or trees."""
    attributes = {name.replace("_", "-"): str(value) for name, value in attrs.items() if value is not None}
    if cls:
        attributes["class"] = cls
    return [tag, attributes, *[child for child in children if child is not None]]


@functools.lru_cache(maxsize=64)
def qr_data_uri(text: str) -> str:
    """``text`` as a QR code, an SVG data URI (segno picks numeric mode for a
    safety number's digits). Kept: the member list is drawn again on every
    change, and its safety numbers rarely change."""
    import segno  # imported on first use: it is not needed to boot the page
    return segno.make(text, error="m", micro=False).svg_data_uri(scale=4)


AVATAR_TONES = 8  # colours in web/static/app.css (.avatar[data-tone])


def avatar_look(name: str, key: str) -> tuple[str, int]:
    """The first letter of ``name``, and a colour fixed by ``key`` (an id)."""
    return next((char for char in name if char.isalnum()), "#").upper(), sum(map(ord, key)) % AVATAR_TONES


def avatar(name: str, key: str) -> list:
    """A round badge with the name's first letter: decoration only."""
    letter, tone = avatar_look(name, key)
    return tree("span", letter, cls="avatar", data_tone=tone, aria_hidden="true")


TREES_PER_CALL = 40  # each call is one task on the page's main thread: keep it well under 50 ms


def append_trees(parent, trees: list, before=None) -> None:
    """Build and append many elements in a few calls to the page (web/static/shell.js)."""
    batches = [trees[start:start + TREES_PER_CALL] for start in range(0, len(trees), TREES_PER_CALL)]
    if before is not None:  # older items go on top: insert the last batch first, each above the previous
        for batch in reversed(batches):
            window.sealroomDom.append(parent, json.dumps(batch), before)
            before = parent.firstChild
        return
    for batch in batches:  # Python's None would not arrive as null, so "before" is left out
        window.sealroomDom.append(parent, json.dumps(batch))
