"""REST API under /api/. Thin: validate, call the domain, shape JSON."""

import asyncio
import base64
import binascii
import json
import secrets
from datetime import timedelta

from aiohttp import web
from aiohttp_session import get_session

from pyclient.protocol import key_proof
from pyclient.protocol.keys import fingerprint

from .. import app_keys, jobs, lifecycle
from ..domain import accounts, identities, rooms
from ..domain.errors import AuthFailed, Forbidden, Invalid
from ..i18n import _
from .common import ApiError, json_body, transaction, utcnow
from .search import index_room, index_user
from .sessions import authenticate, begin_login, csrf_token, end_login, forget_login
from .throttle import account_subject, client_address, known_device, limit, remember_device

routes = web.RouteTableDef()


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _unb64(value, field: str) -> bytes:
    if not isinstance(value, str):
        raise Invalid(_("{field} must be base64 text.", field=field))
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(_("{field} is not valid base64.", field=field)) from None


def _optional_b64(value, field: str) -> bytes | None:
    return None if value is None else _unb64(value, field)


def user_json(user) -> dict:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "public_key": _b64(user.public_key),
        "fingerprint": fingerprint(user.public_key).hex() if user.public_key else None,
    }


def me_json(user) -> dict:
    """The signed-in user; only they learn whether the server holds their key backup."""
    return {**user_json(user), "key_backup": user.key_backup is not None,
            "password": identities.has_password(user)}  # false: social sign-in only; a passphrase seals the key


def room_json(room, members=None) -> dict:
    data = {
        "id": room.id,
        "name": room.name,
        "created_at": room.created_at.isoformat(),
        "expires_at": room.expires_at.isoformat(),
        "created_by": room.created_by,  # the creator may remove members and delete the room (null once gone)
    }
    if members is not None:
        data["members"] = [user_json(user) for user in members]
    return data


def message_json(row) -> dict:
    return {"seq": row.seq, "room": row.room_id, "created_at": row.created_at.isoformat(),
            "envelope": json.loads(row.body)}


KEY_CHALLENGE_SECONDS = 300


async def announce_room(request: web.Request, room, members) -> None:
    """After a room is created, renamed or joined: the search index and every member's page follow."""
    await index_room(request.app, room, members)
    await request.app[app_keys.bus].publish([m.id for m in members], {"type": "room", "room": room_json(room)})


@routes.get("/api/csrf")
async def get_csrf(request: web.Request) -> web.Response:
    """The anti-forgery token before sign-in, for clients without the page (the CLI)."""
    return web.json_response({"csrf": await csrf_token(request)})


@routes.post("/api/register")
async def register(request: web.Request) -> web.Response:
    body = await json_body(request)
    await limit(request, "register_address", client_address(request), message=_("Too many sign-ups from your network."))
    username = accounts.validate_username(body.get("username"))
    display_name = accounts.validate_display_name(body.get("display_name"))
    auth_key = accounts.validate_auth_key(body.get("auth_key"))
    password_hash = await asyncio.get_running_loop().run_in_executor(None, accounts.hash_auth_key, auth_key)
    async with transaction(request) as db:
        user = await accounts.create_user(db, username=username, password_hash=password_hash, now=utcnow(request),
                                          display_name=display_name)
    await index_user(request.app, user)
    token = await begin_login(request, user)
    response = web.json_response({"user": me_json(user), "csrf": token}, status=201)
    remember_device(request, response, account_subject(accounts.username_key(username)))
    return response


@routes.post("/api/login")
async def login(request: web.Request) -> web.Response:
    body = await json_body(request)
    username, auth_key = body.get("username"), body.get("auth_key")
    if not isinstance(username, str) or not isinstance(auth_key, str):
        raise accounts.login_failed()
    # The sign-in policy (docs/operations.md): a browser that signed in to this
    # account before is limited on its own; any other attempt per address, per
    # (account, address) and per account. A stranger never uses up the owner's budget.
    address, account = client_address(request), account_subject(accounts.username_key(username))
    message = _("Too many sign-in attempts.")
    device = known_device(request, account)
    if device is not None:
        await limit(request, "login_device", account, device, message=message)
    else:
        await limit(request, "login_address", address, message=message)
        await limit(request, "login_account_address", account, address, message=message)
        await limit(request, "login_account", account, message=message)
    async with transaction(request) as db:
        user = await accounts.find_user(db, username)
    password_hash = user.password_hash if user else accounts.DUMMY_HASH
    ok = await asyncio.get_running_loop().run_in_executor(None, accounts.check_auth_key, password_hash, auth_key)
    if user is None or not ok or user.disabled:
        raise accounts.login_failed()
    token = await begin_login(request, user)
    response = web.json_response({"user": me_json(user), "csrf": token})
    remember_device(request, response, account)
    return response


@routes.post("/api/logout")
async def logout(request: web.Request) -> web.Response:
    user = await authenticate(request)
    session_id = request[app_keys.session_id]
    csrf = await end_login(request)
    await request.app[app_keys.bus].publish([user.id], {"type": "session_ended", "session": session_id})
    return web.json_response({"csrf": csrf})


@routes.get("/api/me")
async def me(request: web.Request) -> web.Response:
    user = await authenticate(request)
    config = request.app[app_keys.config]
    limits = {"max_upload_bytes": config.max_upload_bytes, "user_quota_bytes": config.user_quota_bytes}
    return web.json_response({"user": me_json(user), "csrf": await csrf_token(request), "limits": limits})


@routes.patch("/api/me")
async def update_me(request: web.Request) -> web.Response:
    """``{"display_name": str | null}``: the name shown beside the username; null or "" removes it."""
    user = await authenticate(request)
    body = await json_body(request)
    if set(body) != {"display_name"}:
        raise Invalid(_("Send {\"display_name\": ...}: it is the only part of your profile you can change here."))
    display_name = accounts.validate_display_name(body["display_name"])
    async with transaction(request) as db:
        user = await accounts.get_user(db, user.id)
        user.display_name = display_name
        room_list = await rooms.list_rooms(db, user.id, now=utcnow(request))
        member_ids = {room.id: [m.id for m in await rooms.room_members(db, room.id)] for room in room_list}
    await index_user(request.app, user)
    for room in room_list:  # members reload the member list and see the new name
        await request.app[app_keys.bus].publish(member_ids[room.id], {"type": "room", "room": room_json(room)})
    return web.json_response({"user": me_json(user)})


@routes.post("/api/me/key/challenge")
async def key_challenge(request: web.Request) -> web.Response:
    """A fresh challenge for the proof of possession of a new key (protocol 4.4)."""
    await authenticate(request)
    challenge = secrets.token_bytes(key_proof.CHALLENGE_BYTES)
    session = await get_session(request)  # the encrypted cookie: only this session can use it
    session["key_challenge"] = [_b64(challenge), int(utcnow(request).timestamp())]
    return web.json_response({"challenge": _b64(challenge), "expires_in": KEY_CHALLENGE_SECONDS})


async def take_key_challenge(request: web.Request) -> bytes | None:
    """This session's key challenge, used up by this request; None if missing or stale."""
    session = await get_session(request)
    stored = session.pop("key_challenge", None)
    try:
        challenge, issued = base64.b64decode(stored[0], validate=True), int(stored[1])
    except (TypeError, IndexError, ValueError, binascii.Error):
        return None
    return challenge if 0 <= utcnow(request).timestamp() - issued <= KEY_CHALLENGE_SECONDS else None


@routes.put("/api/me/key")
async def put_key(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    public_key = _unb64(body.get("public_key"), "public_key")
    key_backup = _optional_b64(body.get("key_backup"), "key_backup")
    proof = _optional_b64(body.get("proof"), "proof")
    challenge = await take_key_challenge(request)
    async with transaction(request) as db:
        user = await accounts.get_user(db, user.id)
        await accounts.set_public_key(db, user, public_key=public_key, key_backup=key_backup,
                                      challenge=challenge, proof=proof)
    return web.json_response({"user": me_json(user)})


@routes.get("/api/me/key-backup")
async def get_key_backup(request: web.Request) -> web.Response:
    user = await authenticate(request)
    if user.key_backup is None:
        raise ApiError("not_found", _("There is no key backup on this server for your account."))
    async with transaction(request) as db:
        earlier = await accounts.earlier_keys(db, user.id)
    return web.json_response({"public_key": _b64(user.public_key), "key_backup": _b64(user.key_backup),
                              "earlier": [{"public_key": _b64(k.public_key), "key_backup": _b64(k.key_backup)}
                                          for k in earlier if k.key_backup is not None]})


@routes.put("/api/me/key-backup")
async def put_key_backup(request: web.Request) -> web.Response:
    """``{"key_backup": base64}`` turns the server-side backup on, ``null`` off."""
    user = await authenticate(request)
    body = await json_body(request)
    async with transaction(request) as db:
        user = await accounts.get_user(db, user.id)
        await accounts.set_key_backup(db, user, _optional_b64(body.get("key_backup"), "key_backup"))
    return web.json_response({"user": me_json(user), "key_backup": user.key_backup is not None})


@routes.post("/api/me/key/rotate")
async def rotate_key(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    await limit(request, "key_rotate", user.id, message=_("You are rotating your key too often."))
    public_key = _unb64(body.get("public_key"), "public_key")
    proof = _optional_b64(body.get("proof"), "proof")
    challenge = await take_key_challenge(request)
    async with transaction(request) as db:
        user = await accounts.get_user(db, user.id)
        await accounts.rotate_key(db, user, public_key=public_key,
                                  key_backup=_optional_b64(body.get("key_backup"), "key_backup"),
                                  now=utcnow(request), challenge=challenge, proof=proof)
        room_list = await rooms.list_rooms(db, user.id, now=utcnow(request))
        member_ids = {room.id: [m.id for m in await rooms.room_members(db, room.id)] for room in room_list}
    for room in room_list:  # members reload the member list and see the key change
        await request.app[app_keys.bus].publish(member_ids[room.id], {"type": "room", "room": room_json(room)})
    return web.json_response({"user": me_json(user)})


@routes.get("/api/sessions")
async def get_sessions(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with transaction(request) as db:
        sessions = await accounts.list_sessions(db, user.id)
    return web.json_response({"sessions": [
        {"id": s.id, "created_at": s.created_at.isoformat(), "last_seen_at": s.last_seen_at.isoformat(),
         "user_agent": s.user_agent, "current": s.id == request[app_keys.session_id]} for s in sessions]})


@routes.delete("/api/sessions/{session_id}")
async def delete_session(request: web.Request) -> web.Response:
    user = await authenticate(request)
    session_id = request.match_info["session_id"]
    async with transaction(request) as db:
        await accounts.revoke_session(db, user.id, session_id)
    await request.app[app_keys.bus].publish([user.id], {"type": "session_ended", "session": session_id})
    return web.json_response({"revoked": session_id})


@routes.get("/api/rooms")
async def list_rooms(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with transaction(request) as db:
        found = await rooms.list_rooms(db, user.id, now=utcnow(request))
        latest = await rooms.last_message_times(db, [room.id for room in found])
    return web.json_response({"rooms": [
        {**room_json(room), "last_message_at": latest[room.id].isoformat() if room.id in latest else None}
        for room in found]})


@routes.post("/api/rooms")
async def create_room(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    await limit(request, "room_create", user.id, message=_("You are creating rooms too fast."))
    config = request.app[app_keys.config]
    async with transaction(request) as db:
        room = await rooms.create_room(
            db, creator=user, name=body.get("name"), member_names=body.get("members", []),
            now=utcnow(request), retention=timedelta(seconds=config.room_retention_seconds),
            max_members=config.max_room_members)
        members = await rooms.room_members(db, room.id)
    await announce_room(request, room, members)
    return web.json_response({"room": room_json(room, members)}, status=201)


@routes.get("/api/rooms/{room_id}")
async def get_room(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, request.match_info["room_id"], user.id, now=utcnow(request))
        members = await rooms.room_members(db, room.id)
        earlier = await accounts.earlier_public_keys(db, [m.id for m in members])
    data = room_json(room, members)
    for member in data["members"]:  # rotated keys, so that old messages still verify
        member["earlier_keys"] = [_b64(key) for key in earlier[member["id"]]]
    return web.json_response({"room": data})


@routes.patch("/api/rooms/{room_id}")
async def rename_room(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, request.match_info["room_id"], user.id, now=utcnow(request))
        await rooms.rename_room(db, room, body.get("name"))
        members = await rooms.room_members(db, room.id)
    await announce_room(request, room, members)
    return web.json_response({"room": room_json(room, members)})


@routes.post("/api/rooms/{room_id}/members")
async def add_member(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    await limit(request, "member_add", user.id, message=_("You are adding members too fast."))
    config = request.app[app_keys.config]
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, request.match_info["room_id"], user.id, now=utcnow(request))
        added = await rooms.add_member(db, room, body.get("username"), now=utcnow(request),
                                       max_members=config.max_room_members)
        members = await rooms.room_members(db, room.id)
    await announce_room(request, room, members)
    return web.json_response({"member": user_json(added)}, status=201)


@routes.get("/api/rooms/{room_id}/messages")
async def get_messages(request: web.Request) -> web.Response:
    user = await authenticate(request)
    before = rooms.parse_sequence(request.query.get("before"), "'before'")
    after = rooms.parse_sequence(request.query.get("after"), "'after'")
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, request.match_info["room_id"], user.id, now=utcnow(request))
        rows = await rooms.history(db, room, before=before, after=after)
    return web.json_response({"messages": [message_json(row) for row in rows]})


@routes.post("/api/rooms/{room_id}/invites")
async def create_invite(request: web.Request) -> web.Response:
    user = await authenticate(request)
    await limit(request, "invite", user.id, message=_("You are creating invite links too fast."))
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, request.match_info["room_id"], user.id, now=utcnow(request))
        token, expires_at = await rooms.create_invite(db, room, user, now=utcnow(request))
    return web.json_response({"token": token, "path": f"/?invite={token}", "expires_at": expires_at.isoformat()},
                             status=201)


@routes.post("/api/invites/accept")
async def accept_invite(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    await limit(request, "member_add", user.id, message=_("You are joining rooms too fast."))
    config = request.app[app_keys.config]
    async with transaction(request) as db:
        room = await rooms.accept_invite(db, body.get("token"), user, now=utcnow(request),
                                         max_members=config.max_room_members)
        members = await rooms.room_members(db, room.id)
    await announce_room(request, room, members)
    return web.json_response({"room": room_json(room, members)})


# ---- account and room life ---------------------------------------------------------
#   POST   /api/me/password   {current_auth_key, auth_key, key_backup|null, earlier: [{public_key, key_backup}]}
#   DELETE /api/me            {auth_key}
#   POST   /api/rooms/{room}/leave
#   DELETE /api/rooms/{room}/members/{user}     the creator removes a member
#   DELETE /api/rooms/{room}                    the creator deletes the room now


async def _check_current_password(request: web.Request, user, auth_key) -> None:
    """A wrong password stops the request before anything changes (and counts as a guess)."""
    # Counted per account like sign-in from a known browser: the session holder
    # has its own budget, which guessers at /api/login cannot use up.
    await limit(request, "login_device", account_subject(accounts.username_key(user.username)), f"user:{user.id}",
                message=_("Too many password attempts."))
    ok = isinstance(auth_key, str) and await asyncio.get_running_loop().run_in_executor(
        None, accounts.check_auth_key, user.password_hash, auth_key)
    if not ok:
        raise AuthFailed(_("The current password is wrong. Nothing was changed."))


def _earlier_backups(value) -> dict[bytes, bytes]:
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise Invalid(_("'earlier' must be a list of {public_key, key_backup}."))
    return {_unb64(entry.get("public_key"), "public_key"): _unb64(entry.get("key_backup"), "key_backup")
            for entry in value}


@routes.post("/api/me/password")
async def change_password(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    auth_key = accounts.validate_auth_key(body.get("auth_key"))
    key_backup = _optional_b64(body.get("key_backup"), "key_backup")
    earlier = _earlier_backups(body.get("earlier", []))
    await _check_current_password(request, user, body.get("current_auth_key"))
    password_hash = await asyncio.get_running_loop().run_in_executor(None, accounts.hash_auth_key, auth_key)
    async with transaction(request) as db:
        user = await accounts.get_user(db, user.id)
        ended = await accounts.change_password(db, user, password_hash=password_hash, key_backup=key_backup,
                                               earlier_backups=earlier, keep_session=request[app_keys.session_id])
    for session_id in ended:  # their sockets close at once (4001) and say why
        await request.app[app_keys.bus].publish([user.id], {"type": "session_ended", "session": session_id,
                                                            "reason": accounts.PASSWORD_CHANGED})
    return web.json_response({"user": me_json(user), "sessions_ended": len(ended)})


RECENT_SIGN_IN_SECONDS = 600


@routes.delete("/api/me")
async def delete_account(request: web.Request) -> web.Response:
    user = await authenticate(request)
    body = await json_body(request)
    if identities.has_password(user):
        await _check_current_password(request, user, body.get("auth_key"))
    else:  # social sign-in only: a sign-in at the provider within the last minutes stands for the password
        async with transaction(request) as db:
            session = await accounts.get_session_row(db, request[app_keys.session_id])
        if utcnow(request) - session.created_at > timedelta(seconds=RECENT_SIGN_IN_SECONDS):
            raise Forbidden(_("Sign in again with your provider, then delete the account within 10 minutes."))
    app = request.app
    gone = await lifecycle.delete_account(
        app[app_keys.sessionmaker], app[app_keys.blob_store], user.id, now=utcnow(request),
        hold=timedelta(seconds=app[app_keys.config].room_retention_seconds),
        publish=app[app_keys.bus].publish, publish_event=app[app_keys.bus].publish_event)
    return web.json_response({"deleted": gone.username, "csrf": await forget_login(request)})


async def _member_gone(request: web.Request, room, user_id: str, username: str, reason: str,
                       members, part_blobs: list[str]) -> None:
    """The one who left (or was removed) loses the room; everyone else sees who went."""
    app = request.app
    for blob_id in part_blobs:
        await app[app_keys.blob_store].delete(blob_id)
    await app[app_keys.bus].publish([user_id], {"type": "room_removed", "room": room.id, "reason": reason})
    if not members:  # nobody is left to read it: deleted now, as at expiry
        await jobs.delete_rooms_now(app, [room.id], reason="deleted")
        return
    await index_room(app, room, members)
    await app[app_keys.bus].publish([m.id for m in members], {
        "type": "room", "room": room_json(room), "change": {"kind": reason, "user": user_id, "username": username}})


@routes.post("/api/rooms/{room_id}/leave")
async def leave_room(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, request.match_info["room_id"], user.id, now=utcnow(request))
        part_blobs = await rooms.leave_room(db, room, user)
        members = await rooms.room_members(db, room.id)
    await _member_gone(request, room, user.id, user.username, "left", members, part_blobs)
    return web.json_response({"left": room.id})


@routes.delete("/api/rooms/{room_id}/members/{user_id}")
async def remove_member(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, request.match_info["room_id"], user.id, now=utcnow(request))
        removed, part_blobs = await rooms.remove_member(db, room, user, request.match_info["user_id"])
        members = await rooms.room_members(db, room.id)
    await _member_gone(request, room, removed.id, removed.username, "removed", members, part_blobs)
    return web.json_response({"removed": removed.id})


@routes.delete("/api/rooms/{room_id}")
async def delete_room(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with transaction(request) as db:
        room = await rooms.get_room_for_member(db, request.match_info["room_id"], user.id, now=utcnow(request))
        rooms.require_creator(room, user, _("Only the person who created this room can delete it."))
    await jobs.delete_rooms_now(request.app, [room.id], reason="deleted")
    return web.json_response({"deleted": room.id})
