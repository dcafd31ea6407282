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
    <- {type: "error", ref: STR|null, error: CODE, message: TEXT}   CODE as in HTTP errors (common.STATUS_FOR_CODE),
                                                                    e.g. storage_full: not stored, send again later

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

from aiohttp import WSCloseCode, WSMsgType, web

from .. import app_keys
from ..domain import rooms
from ..domain.errors import DomainError
from ..faults import DISK_FULL_MESSAGE, is_disk_full
from .api import message_json
from .common import INTERNAL_MESSAGE, STATUS_FOR_CODE, ApiError, parse_json_object, transaction, translated, utcnow
from .sessions import authenticate, same_origin

log = logging.getLogger("sealroom.ws")
MAX_FRAME_BYTES = 256 * 1024


class FrameError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


async def handle_ping(request, user, frame) -> dict:
    return {"type": "pong"}


async def handle_send(request, user, frame) -> dict:
    room_id, envelope = frame.get("room"), frame.get("envelope")
    if not isinstance(room_id, str):
        raise FrameError("invalid", "A 'send' frame needs a room id.")
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, room_id, user.id, now=utcnow(request))
        row = await rooms.store_envelope(db, room, user, envelope, now=utcnow(request))
        member_ids = [m.id for m in await rooms.room_members(db, room.id)]
    await request.app[app_keys.bus].publish(
        member_ids, {"type": "message", **message_json(row), "expires_at": room.expires_at.isoformat()})
    return {"type": "sent", "room": room.id, "seq": row.seq}


HANDLERS = {"ping": handle_ping, "send": handle_send}


def error_frame(code: str, message: str, ref: str | None = None) -> dict:
    """The socket's error frame, with the same codes as the HTTP error bodies."""
    if code not in STATUS_FOR_CODE:
        code = "internal"
    return {"type": "error", "ref": ref, "error": code, "message": message}


async def _dispatch(request, user, raw: str) -> dict:
    ref = None
    try:
        if len(raw) > MAX_FRAME_BYTES:
            raise FrameError("too_large", f"Frames are at most {MAX_FRAME_BYTES} bytes.")
        frame = parse_json_object(raw, "A frame")
        ref = frame.get("ref") if isinstance(frame.get("ref"), str) else None
        kind = frame.get("type")
        handler = HANDLERS.get(kind) if isinstance(kind, str) else None
        if not isinstance(kind, str):
            raise FrameError("invalid", "A frame's type must be a string.")
        if handler is None:
            raise FrameError("invalid", f"Unknown frame type {kind[:40]!r}.")
        reply = await handler(request, user, frame)
    except (FrameError, DomainError) as error:
        reply = error_frame(error.code, translated(request, error.message))
    except Exception as error:  # a bug or a full disk must not close the sender's socket (protocol section 8)
        if is_disk_full(error):  # the frame was not stored, and says so
            log.error("disk full while handling a WebSocket frame: %s", error)
            reply = error_frame("storage_full", translated(request, DISK_FULL_MESSAGE))
        else:
            log.exception("a %d-character frame failed", len(raw))
            reply = error_frame("internal", translated(request, INTERNAL_MESSAGE))
    reply["ref"] = ref
    return reply


SESSION_ENDED = '{"type":"session_ended"'


async def _pump(request: web.Request, ws: web.WebSocketResponse, subscription) -> None:
    while not ws.closed:
        text, expires_at = await subscription.queue.get()
        if subscription.overflowed:
            await ws.close(code=4008, message=b"too far behind; reload")
            return
        if text.startswith(SESSION_ENDED):  # control frame from a sign-out or a revocation, never forwarded
            ended = json.loads(text)
            if ended["session"] == request[app_keys.session_id]:
                await ws.close(code=4001, message=(ended.get("reason") or "signed_out").encode())
                return
        elif expires_at is None or expires_at > utcnow(request):  # the room may have expired since
            await ws.send_str(text)


async def websocket(request: web.Request) -> web.StreamResponse:
    if not same_origin(request):
        raise ApiError("forbidden", "WebSocket connections are accepted from this site only.")
    user = await authenticate(request)
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=MAX_FRAME_BYTES * 2)
    await ws.prepare(request)
    bus = request.app[app_keys.bus]
    subscription = bus.subscribe(user.id)
    request.app[app_keys.websockets].add(ws)
    pump = asyncio.create_task(_pump(request, ws, subscription))
    try:
        await ws.send_json({"type": "hello", "user": user.id})
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                await ws.send_json(await _dispatch(request, user, message.data))
            elif message.type == WSMsgType.BINARY:
                await ws.send_json(error_frame("invalid", translated(request, "Send JSON text frames.")))
    finally:
        pump.cancel()
        bus.unsubscribe(subscription)
        request.app[app_keys.websockets].discard(ws)
    return ws


async def close_all(app: web.Application) -> None:
    """on_shutdown: open sockets would otherwise hold the shutdown for a minute."""
    for ws in tuple(app[app_keys.websockets]):
        await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")
