"""``GET /api/openapi.json``: an OpenAPI 3.1 description of the REST API.

Kept true by tests/test_openapi.py: every route under /api/ is described
here and every path described here is routed; the error schema is the one
``common.api_errors`` sends. Normative details (signatures, envelopes, the
WebSocket frames) stay in docs/protocol.md, which the descriptions cite.
"""

from aiohttp import web

from .common import STATUS_FOR_CODE

routes = web.RouteTableDef()

ID = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
B64 = {"type": "string", "contentEncoding": "base64"}
TIME = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties, "required": required or list(properties)}


SCHEMAS = {
    "Error": _object({"error": _object({
        "code": {"type": "string", "enum": sorted(STATUS_FOR_CODE)},
        "message": {"type": "string", "description": "A sentence for the person, in their language."},
        "retry_after": {"type": "integer", "minimum": 1,
                        "description": "With a Retry-After header (429 rate_limited, 507): whole seconds to wait."},
    }, ["code", "message"])}),
    "User": _object({"id": ID, "username": {"type": "string"},
                     "display_name": {"type": ["string", "null"], "maxLength": 64,
                                      "description": "shown beside the username; NFC, no invisible characters"},
                     "public_key": {**B64, "type": ["string", "null"]},
                     "fingerprint": {"type": ["string", "null"], "description": "SHA-256 of the SPKI, hex"}}),
    "Me": {"allOf": [_ref("User"), _object({
        "key_backup": {"type": "boolean"},
        "password": {"type": "boolean", "description": "false: social sign-in only (protocol 4.6)"}})]},
    "Room": _object({"id": ID, "name": {"type": "string", "maxLength": 100}, "created_at": TIME, "expires_at": TIME,
                     "created_by": {**ID, "type": ["string", "null"],
                                    "description": "the creator, who may remove members and delete the room"},
                     "members": {"type": "array", "items": _ref("User")},
                     "last_message_at": {**TIME, "type": ["string", "null"],
                                         "description": "in the room list only: when its newest message was stored"}},
                    ["id", "name", "created_at", "expires_at", "created_by"]),
    "Message": _object({"seq": {"type": "integer"}, "room": ID, "created_at": TIME,
                        "envelope": {"type": "object", "description": "protocol section 5"}}),
    "Credentials": _object({"username": {"type": "string", "minLength": 3, "maxLength": 32},
                            "auth_key": {"type": "string", "minLength": 16, "maxLength": 256,
                                         "description": "base64 of HKDF(master, account-auth), protocol 4"}}),
    "Registration": {"allOf": [_ref("Credentials"), _object(
        {"display_name": {"type": ["string", "null"], "maxLength": 64}}, [])]},
    "NewKey": _object({"public_key": {**B64, "description": "SPKI DER"},
                       "key_backup": {**B64, "type": ["string", "null"], "description": "sealed key, protocol 4.1"},
                       "proof": {**B64, "description": "signature over the key challenge, protocol 4.4"}},
                      ["public_key", "proof"]),
}

SIGNED = ("Needs the session and a fresh RFC 9421 signature by the user's private key "
          "(Signature-Input, Signature, Content-Digest headers; protocol section 7).")


def _json(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def _ok(status: int, schema: dict, description: str = "Done.") -> dict:
    return {str(status): {"description": description, **_json(schema)}}


def _body(schema: dict) -> dict:
    return {"requestBody": {"required": True, **_json(schema)}}


def _op(summary: str, responses: dict, *, body: dict | None = None, public: bool = False, signed: bool = False,
        parameters: list | None = None) -> dict:
    operation = {"summary": summary, "responses": {**responses, "default": {
        "description": "Any error: 400, 401, 403, 404, 405, 409, 410, 413, 415, 429 (with Retry-After), 500, "
                       "503, 507 (disk full, with Retry-After).",
        **_json(_ref("Error"))}}}
    if body is not None:
        operation.update(_body(body))
    if parameters:
        operation["parameters"] = parameters
    if public:
        operation["security"] = []
    if signed:
        operation["description"] = SIGNED
    return operation


def _path_id(name: str) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": ID}


USER_AND_CSRF = _object({"user": _ref("Me"), "csrf": {"type": "string"}})
ROOM = _object({"room": _ref("Room")})

SEALED_KEY = _object({"public_key": B64, "key_backup": B64})
PROVIDER = {"name": "provider", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 64}}

PATHS = {
    "/api/openapi.json": {"get": _op("This description.", _ok(200, {"type": "object"}), public=True)},
    "/api/csrf": {"get": _op("The anti-forgery token before sign-in, for clients without the page (the CLI).",
                             _ok(200, _object({"csrf": {"type": "string"}})), public=True)},
    "/api/register": {"post": _op("Create an account and sign in.", _ok(201, USER_AND_CSRF),
                                  body=_ref("Registration"), public=True)},
    "/api/login": {"post": _op("Sign in (the session id is rotated).", _ok(200, USER_AND_CSRF),
                               body=_ref("Credentials"), public=True)},
    "/api/logout": {"post": _op("Sign out; the session's sockets close with 4001.",
                                _ok(200, _object({"csrf": {"type": "string"}})))},
    "/api/me": {"get": _op("The signed-in user, the CSRF token and the server's limits.", _ok(200, _object({
        "user": _ref("Me"), "csrf": {"type": "string"},
        "limits": _object({"max_upload_bytes": {"type": "integer"}, "user_quota_bytes": {"type": "integer"}})}))),
               "patch": _op("Set or remove (null or \"\") the display name; rooms' members see it at once.",
                            _ok(200, _object({"user": _ref("Me")})),
                            body=_object({"display_name": {"type": ["string", "null"], "maxLength": 64}})),
               "delete": _op("Delete the account after the password check (protocol 4.5); the name stays held.",
                             _ok(200, _object({"deleted": {"type": "string"}, "csrf": {"type": "string"}})),
                             body=_object({"auth_key": {"type": "string"}}, []))},
    "/api/me/password": {"post": _op(
        "Change the password; every sealed key comes re-sealed under the new one (protocol 4.5).",
        _ok(200, _object({"user": _ref("Me"), "sessions_ended": {"type": "integer"}})),
        body=_object({"current_auth_key": {"type": "string"}, "auth_key": {"type": "string"},
                      "key_backup": {**B64, "type": ["string", "null"]},
                      "earlier": {"type": "array", "items": SEALED_KEY}}, ["current_auth_key", "auth_key"]))},
    "/api/oidc/providers": {"get": _op("The configured social sign-in providers (protocol 4.6).", _ok(200, _object({
        "providers": {"type": "array", "items": _object({"name": {"type": "string"}, "label": {"type": "string"}})}})),
        public=True)},
    "/api/me/identities": {
        "get": _op("The social sign-ins linked to this account.", _ok(200, _object({
            "identities": {"type": "array", "items": _object({"provider": {"type": "string"}, "created_at": TIME})},
            "password": {"type": "boolean"}}))),
        "post": _op("Confirm the password before linking a social sign-in (then /auth/oidc/NAME/start?link=1).",
                    _ok(200, _object({"start": {"type": "string"}})),
                    body=_object({"provider": {"type": "string"}, "auth_key": {"type": "string"}})),
    },
    "/api/me/identities/{provider}": {"delete": _op(
        "Unlink a social sign-in, only while the account keeps another way in.",
        _ok(200, _object({"user": _ref("Me"), "unlinked": {"type": "string"}})), parameters=[PROVIDER])},
    "/api/me/key/challenge": {"post": _op("A challenge for the proof of possession of a new key (protocol 4.4).",
                                          _ok(200, _object({"challenge": B64, "expires_in": {"type": "integer"}})))},
    "/api/me/key": {"put": _op("Register the account's first public key.", _ok(200, _object({"user": _ref("Me")})),
                               body=_ref("NewKey"))},
    "/api/me/key/rotate": {"post": _op("Replace the key; the old one is kept for old messages (protocol 4.3).",
                                       _ok(200, _object({"user": _ref("Me")})), body=_ref("NewKey"))},
    "/api/me/key-backup": {
        "get": _op("The sealed private keys, current and earlier (opaque to the server).", _ok(200, _object({
            "public_key": B64, "key_backup": B64,
            "earlier": {"type": "array", "items": _object({"public_key": B64, "key_backup": B64})}}))),
        "put": _op("Turn the server-side backup on (a sealed blob) or off (null).",
                   _ok(200, _object({"user": _ref("Me"), "key_backup": {"type": "boolean"}})),
                   body=_object({"key_backup": {**B64, "type": ["string", "null"]}})),
    },
    "/api/sessions": {"get": _op("This account's live sessions.", _ok(200, _object({"sessions": {
        "type": "array", "items": _object({"id": {"type": "string"}, "created_at": TIME, "last_seen_at": TIME,
                                           "user_agent": {"type": "string"}, "current": {"type": "boolean"}})}})))},
    "/api/sessions/{session_id}": {"delete": _op(
        "Revoke a session; its sockets close at once.", _ok(200, _object({"revoked": {"type": "string"}})),
        parameters=[{"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}])},
    "/api/rooms": {
        "get": _op("The user's live rooms.", _ok(200, _object({"rooms": {"type": "array", "items": _ref("Room")}}))),
        "post": _op("Create a room that expires after the retention period.", _ok(201, ROOM),
                    body=_object({"name": {"type": "string"},
                                  "members": {"type": "array", "items": {"type": "string"}}}, ["name"])),
    },
    "/api/rooms/{room_id}": {
        "get": _op("A room with its members and their earlier keys.", _ok(200, ROOM),
                   parameters=[_path_id("room_id")]),
        "patch": _op("Rename a room.", _ok(200, ROOM), body=_object({"name": {"type": "string"}}),
                     parameters=[_path_id("room_id")]),
        "delete": _op("Delete the room now, as at expiry; its creator only (protocol 8.2).",
                      _ok(200, _object({"deleted": ID})), parameters=[_path_id("room_id")]),
    },
    "/api/rooms/{room_id}/leave": {"post": _op(
        "Leave the room; the last member leaving deletes it (protocol 8.2).", _ok(200, _object({"left": ID})),
        parameters=[_path_id("room_id")])},
    "/api/rooms/{room_id}/members/{user_id}": {"delete": _op(
        "Remove a member; the room's creator only; its share links are revoked (protocol 8.2).",
        _ok(200, _object({"removed": ID})), parameters=[_path_id("room_id"), _path_id("user_id")])},
    "/api/rooms/{room_id}/members": {"post": _op(
        "Add a member by username.", _ok(201, _object({"member": _ref("User")})),
        body=_object({"username": {"type": "string"}}), parameters=[_path_id("room_id")])},
    "/api/rooms/{room_id}/messages": {"get": _op(
        "Up to 200 envelopes, oldest first: the latest, those before `before`, or the first after `after` "
        "(catching up after a reconnect: repeat with the last seq until a page is empty; protocol 8).",
        _ok(200, _object({"messages": {"type": "array", "items": _ref("Message")}})),
        parameters=[_path_id("room_id"),
                    {"name": "before", "in": "query", "required": False, "description": "messages before this seq",
                     "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}},
                    {"name": "after", "in": "query", "required": False, "description": "messages after this seq",
                     "schema": {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}}])},
    "/api/rooms/{room_id}/invites": {"post": _op(
        "A share link valid 48 hours (never past the room's expiry).",
        _ok(201, _object({"token": {"type": "string"}, "path": {"type": "string"}, "expires_at": TIME})),
        parameters=[_path_id("room_id")])},
    "/api/invites/accept": {"post": _op("Join a room through a share link.", _ok(200, ROOM),
                                        body=_object({"token": {"type": "string", "maxLength": 64}}))},
    "/api/rooms/{room_id}/uploads": {"post": _op(
        "Start an upload of an encrypted attachment; reserves quota.",
        _ok(201, _object({"upload": ID, "part_size": {"type": "integer"}})),
        body=_object({"size": {"type": "integer", "minimum": 1}}), parameters=[_path_id("room_id")], signed=True)},
    "/api/uploads/{upload_id}/parts/{number}": {"put": _op(
        "One part of 8 encrypted chunks; parts may arrive in any order.", _ok(200, _object({"received": {"type": "integer"}})), signed=True,
        body={"type": "string", "contentMediaType": "application/octet-stream"},
        parameters=[_path_id("upload_id"), {"name": "number", "in": "path", "required": True,
                                            "schema": {"type": "integer", "minimum": 0, "maximum": 999999}}])},
    "/api/uploads/{upload_id}/complete": {"post": _op(
        "Assemble the parts into one blob (once).", _ok(201, _object({"blob": ID, "size": {"type": "integer"}})),
        parameters=[_path_id("upload_id")], signed=True)},
    "/api/uploads/{upload_id}": {"delete": _op(
        "Cancel an upload.", _ok(200, _object({"cancelled": ID})), parameters=[_path_id("upload_id")], signed=True)},
    "/api/blobs/{blob_id}": {"get": _op(
        "Download a blob's ciphertext.", {"200": {"description": "The ciphertext, chunked.", "content": {
            "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}}}},
        parameters=[_path_id("blob_id")], signed=True)},
    "/api/search": {"get": _op(
        "People and rooms, ranked (see search_index).", _ok(200, _object({
            "users": {"type": "array", "items": {"type": "object"}},
            "rooms": {"type": "array", "items": {"type": "object"}}})),
        parameters=[{"name": "q", "in": "query", "required": True, "schema": {"type": "string", "maxLength": 100}}])},
}

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "SealRoom", "version": "1",
             "description": "End-to-end encrypted chat rooms. The server stores and relays ciphertext only. "
                            "Every state-changing request needs the X-CSRF-Token header; every error is "
                            "{\"error\": {\"code\", \"message\"}} (docs/protocol.md 8.1). WebSocket frames: "
                            "docs/protocol.md section 8, at /ws."},
    "servers": [{"url": "/"}],
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "sealroom_session"},
            "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
        },
    },
    "security": [{"session": [], "csrf": []}],
    "paths": PATHS,
}


@routes.get("/api/openapi.json")
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)
