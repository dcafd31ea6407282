"""WebSocket endpoint ``/ws``: JSON frames, one connection per page.

Frames (``->`` client to server, ``<-`` server to client):

    <- {type: "hello", user: USER_ID}
    -> {type: "send", ref: STR, room: ROOM_ID, envelope: ENVELOPE}
    <- {type: "sent", ref: STR, room: ROOM_ID, seq: INT}
    <- {type: "message", room: ROOM_ID, seq: INT, created_at: ISO8601, expires_at: ISO8601, envelope: ENVELOPE}
    <- {type: "room", room: ROOM}                 you were added, or members changed
    <- {type: "room", room: ROOM, change: {kind, user, username}}   left | removed | account_deleted
    <- {type: "room_expired", room: ROOM_ID}      the room passed expires_at and was deleted
    <- {type: "room_removed", room: ROOM_ID, reason}   left | removed | deleted: the room is gone for you
    -> {type: "ping"}            <- {type: "pong"}
    <- {type: "error", ref: STR|null, error: CODE, message: TEXT, retry_after?: SECONDS}
          CODE as in HTTP errors (common.STATUS_FOR_CODE), e.g. storage_full: not stored, send again
          later; rate_limited: with retry_after, not acted on; too_many: a connection cap (then 1013)

A frame over a rate limit (SEALROOM_RATE_FRAME for any frame, SEALROOM_RATE_MESSAGE
for ``send``) gets an error frame with ``retry_after`` and the connection stays
open. Past the connection caps the socket gets one error frame (``too_many``)
and is closed with 1013 (try again later). A socket that falls too far behind
is closed with 4008 and catches up from history (GET messages?after=SEQ); a
shutting-down server closes its sockets with 1001.

A sign-out, a revoked session, a password change elsewhere or a deleted
account closes that session's sockets at once, on every process, with
close code 4001 and the reason as the close message: ``signed_out``,
``password_changed`` or ``account_deleted``.

The handler parses a frame, dispatches it to ``handle_<type>`` and turns
domain errors into error frames. A bad frame never closes the connection.
A queued frame about a room that has expired since is dropped, not delivered.
"""

import asyncio
import json
import logging
import time

from aiohttp import WSCloseCode, WSMsgType, web

from .. import app_keys
from ..domain import rooms
from ..domain.errors import DomainError, RateLimited, TooMany
from ..faults import DISK_FULL_MESSAGE, is_disk_full
from ..i18n import Message, _
from .api import message_json
from .common import INTERNAL_MESSAGE, STATUS_FOR_CODE, ApiError, parse_json_object, transaction, translated, utcnow
from .sessions import authenticate, same_origin
from .throttle import limit

log = logging.getLogger("sealroom.ws")
MAX_FRAME_BYTES = 256 * 1024


class FrameError(Exception):
    def __init__(self, code: str, message: Message):
        super().__init__(str(message))
        self.code, self.text = code, message


async def handle_ping(request, user, frame) -> dict:
    return {"type": "pong"}


async def handle_send(request, user, frame) -> dict:
    room_id, envelope = frame.get("room"), frame.get("envelope")
    if not isinstance(room_id, str):
        raise FrameError("invalid", _("A 'send' frame needs a room id."))
    await limit(request, "message", user.id, message=_("You are sending messages too fast."))
    started = time.monotonic()
    bus = request.app[app_keys.bus]
    # This process publishes a room's messages in the order they were stored. SQLite has one
    # writer: there every send queues here, first come first served, rather than in SQLite's
    # busy handler, which sleeps and gives up after busy_timeout (and the message with it).
    single_writer = request.app[app_keys.engine].dialect.name == "sqlite"
    async with bus.in_order("" if single_writer else room_id):
        async with transaction(request) as db:
            now = utcnow(request)
            room, members = await rooms.room_for_sending(db, room_id, user.id, now=now)
            row = await rooms.store_envelope(db, room, user, envelope, now=now, members=members)
        await bus.publish([member.id for member in members],
                          {"type": "message", **message_json(row), "expires_at": room.expires_at.isoformat()})
    metrics = request.app[app_keys.metrics]
    metrics.messages.inc()
    metrics.store_latency.observe(time.monotonic() - started)
    return {"type": "sent", "room": room.id, "seq": row.seq}


HANDLERS = {"ping": handle_ping, "send": handle_send}
FRAME_PROBLEMS = {"nested": _("A frame is nested too deeply."), "not_object": _("A frame must be a JSON object."),
                  "surrogate": _("A frame is not valid Unicode text: it holds a lone surrogate.")}


def error_frame(code: str, message: str, ref: str | None = None) -> dict:
    """The socket's error frame, with the same codes as the HTTP error bodies."""
    if code not in STATUS_FOR_CODE:
        code = "internal"
    return {"type": "error", "ref": ref, "error": code, "message": message}


async def _dispatch(request, user, raw: str) -> dict:
    ref = None
    try:
        if len(raw) > MAX_FRAME_BYTES:
            raise FrameError("too_large", _("Frames are at most {limit} bytes.", limit=MAX_FRAME_BYTES))
        frame = parse_json_object(raw, FRAME_PROBLEMS)
        ref = frame.get("ref") if isinstance(frame.get("ref"), str) else None
        kind = frame.get("type")
        handler = HANDLERS.get(kind) if isinstance(kind, str) else None
        if not isinstance(kind, str):
            raise FrameError("invalid", _("A frame's type must be a string."))
        request.app[app_keys.metrics].frame_received(kind)
        if handler is None:
            raise FrameError("invalid", _("Unknown frame type {type}.", type=repr(kind[:40])))
        reply = await handler(request, user, frame)
    except (FrameError, DomainError) as error:
        reply = error_frame(error.code, translated(request, error.text))
        if getattr(error, "retry_after", None):
            reply["retry_after"] = error.retry_after
    except Exception as error:  # a bug or a full disk must not close the sender's socket (protocol section 8)
        if is_disk_full(error):  # the frame was not stored, and says so
            log.error("disk full while handling a WebSocket frame: %s", error)
            reply = error_frame("storage_full", translated(request, DISK_FULL_MESSAGE))
        else:
            log.exception("a %d-character frame failed", len(raw))
            reply = error_frame("internal", translated(request, INTERNAL_MESSAGE))
    reply["ref"] = ref
    return reply


SESSION_ENDED = b'{"type":"session_ended"'


SLOW_CLOSE_TIMEOUT = 30.0  # seconds a too-slow socket gets to read up to the close frame before it is cut


FRESH = 0.01  # seconds: a frame written this soon after the bus checked its room's expiry is not checked again


async def _pump(request: web.Request, ws: web.WebSocketResponse, subscription) -> None:
    """The socket's one writer: it writes every frame queued since it last
    ran (one wake-up for the lot under load), each the same bytes for every
    socket. The bus drops the frames of a room that has expired when they are
    published; a frame that has waited here since is checked again."""
    deliveries = request.app[app_keys.metrics].deliveries
    while not ws.closed:
        await subscription.wait()
        while subscription.frames and not ws.closed:
            data, expires_at, queued_at = subscription.pop()
            if data.startswith(SESSION_ENDED):  # control frame from a sign-out or a revocation, never forwarded
                ended = json.loads(data)
                if ended["session"] == request[app_keys.session_id]:
                    await ws.close(code=4001, message=(ended.get("reason") or "signed_out").encode())
                    return
                continue
            if expires_at is not None and time.monotonic() - queued_at > FRESH and expires_at <= utcnow(request):
                continue  # the room expired while the frame waited
            await ws.send_frame(data, WSMsgType.TEXT)  # UTF-8 JSON, encoded once for every socket
            deliveries.delivered(time.monotonic() - queued_at)


async def _close_when_behind(request: web.Request, ws: web.WebSocketResponse, subscription, pump) -> None:
    """The bus never waits for a socket: one that falls a backlog behind is closed here."""
    await subscription.overflow.wait()
    pump.cancel()
    request.app[app_keys.metrics].slow_consumers.inc()
    try:
        await asyncio.wait_for(ws.close(code=4008, message=b"too far behind; catch up from history"),
                               SLOW_CLOSE_TIMEOUT)
    except asyncio.TimeoutError:
        if request.transport is not None:
            request.transport.abort()


async def _refuse(request: web.Request, ws: web.WebSocketResponse, error: TooMany) -> web.WebSocketResponse:
    """A browser cannot read the body of a refused upgrade: accept, say why, close."""
    message = translated(request, error.text)
    await ws.send_json({"type": "error", "ref": None, "error": error.code, "message": message, "retry_after": 60})
    reason = message.encode()[:120].decode("utf-8", "ignore").encode()  # a close reason fits in 123 bytes
    await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=reason)
    return ws


async def websocket(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        raise ApiError("forbidden", _("WebSocket connections are accepted from this site only."))
    user = await authenticate(request)
    app = request.app
    # No permessage-deflate: it would compress each frame once per socket (zlib, most of the
    # fan-out's CPU when browsers ask for it), and sealed envelopes are base64 of random bytes.
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES * 2, compress=False)
    await ws.prepare(request)
    metrics = app[app_keys.metrics]
    if app[app_keys.draining]:
        metrics.connections_refused.labels("shutdown").inc()
        return await _refuse(request, ws, TooMany(_("This server is shutting down. Reconnect in a moment.")))
    try:
        claim = await app[app_keys.connections].claim(user.id)
    except TooMany as error:
        metrics.connections_refused.labels("caps").inc()
        return await _refuse(request, ws, error)
    bus = app[app_keys.bus]
    subscription = bus.subscribe(user.id)
    app[app_keys.websockets].add(ws)
    metrics.connections.inc()
    pump = asyncio.create_task(_pump(request, ws, subscription))
    watcher = asyncio.create_task(_close_when_behind(request, ws, subscription, pump))
    try:
        await ws.send_json({"type": "hello", "user": user.id})
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                try:
                    await limit(request, "frame", user.id, message=_("You are sending frames too fast."))
                except RateLimited as error:  # not even parsed; the socket stays open
                    await ws.send_json({**error_frame(error.code, translated(request, error.text)),
                                        "retry_after": error.retry_after})
                    continue
                await ws.send_json(await _dispatch(request, user, message.data))
            elif message.type == WSMsgType.BINARY:
                await ws.send_json(error_frame("invalid", translated(request, _("Send JSON text frames."))))
    finally:
        pump.cancel()
        watcher.cancel()
        bus.unsubscribe(subscription)
        app[app_keys.websockets].discard(ws)
        metrics.connections.dec()
        await app[app_keys.connections].release(claim)
    return ws


async def close_all(app: web.Application) -> None:
    """on_shutdown (SIGTERM): the listener is closed already; /readyz now
    fails, new sockets are refused, and every open one is closed with 1001 so
    that its client reconnects, to another process if there is one."""
    app[app_keys.draining]["since"] = time.time()
    await asyncio.gather(*(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
                           for ws in tuple(app[app_keys.websockets])), return_exceptions=True)
