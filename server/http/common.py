"""Helpers every handler shares: the clock, DB transactions, JSON bodies, and
the one error path.

Every error under ``/api/`` (and ``/ws`` before the upgrade) leaves through
``api_errors`` as ``{"error": {"code": CODE, "message": TEXT}}``, whether it
began as a ``DomainError``, an ``ApiError``, an aiohttp ``HTTPException``
(404, 405, 413...) or a bug (500, logged, never shown). The WebSocket sends
the same codes in its error frames (``ws.error_frame``).
"""

import json
import logging
from contextlib import asynccontextmanager
from datetime import datetime

from aiohttp import web

from .. import app_keys, i18n
from ..clock import app_now
from ..domain.errors import DomainError, Invalid
from ..faults import DISK_FULL_MESSAGE, is_disk_full
from ..i18n import Message, _

log = logging.getLogger("sealroom.http")

# The codes a client can see, on HTTP and on the socket. A code missing here is a bug: 500.
STATUS_FOR_CODE = {
    "invalid": 400,
    "auth_failed": 401,
    "unauthenticated": 401,
    "forbidden": 403,
    "csrf": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "stale_members": 409,
    "gone": 410,
    "too_large": 413,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "too_many": 429,
    "internal": 500,
    "unavailable": 503,
    "storage_full": 507,
}
# aiohttp's own refusals (no route, wrong method, body over client_max_size...), by status.
CODE_FOR_STATUS = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                   405: "method_not_allowed", 409: "conflict", 410: "gone", 413: "too_large",
                   415: "unsupported_media_type", 429: "rate_limited", 503: "unavailable",
                   507: "storage_full"}
MESSAGE_FOR_STATUS = {
    404: _("There is nothing at this address."),
    405: _("This address does not accept that method."),
    413: _("The request body is too large."),
}
INTERNAL_MESSAGE = _("Something went wrong on the server. Try again; if it keeps happening, tell the administrator.")
MAX_JSON_BYTES = 64 * 1024


def utcnow(request: web.Request) -> datetime:
    """The server's time, which never goes back (server/clock.py)."""
    return app_now(request.app)


@asynccontextmanager
async def transaction(request: web.Request):
    async with request.app[app_keys.sessionmaker]() as db, db.begin():
        yield db


class ApiError(Exception):
    """Raised by handlers to stop with an error the client can read. An
    unknown code is a bug and is answered as a 500."""

    def __init__(self, code: str, message: Message | str, status: int | None = None, headers: dict | None = None):
        self.text = i18n.as_message(message)  # translated for its reader by api_errors
        self.code, self.message, self.headers = code, str(self.text), dict(headers or {})
        super().__init__(self.message)
        self.status = status or STATUS_FOR_CODE.get(code, 500)


def status_for(code: str) -> int:
    return STATUS_FOR_CODE.get(code, 500)


def error_body(code: str, message: str, retry_after: int | None = None) -> dict:
    error = {"code": code, "message": message}
    if retry_after:  # rate limited (or disk full): the number for the page, beside the header
        error["retry_after"] = retry_after
    return {"error": error}


def error_response(code: str, message: str, status: int | None = None, headers=None) -> web.Response:
    """The one error shape; a ``Retry-After`` header is repeated as ``retry_after`` in the body."""
    retry = (headers or {}).get("Retry-After")
    retry_after = int(retry) if retry and str(retry).isdigit() else None
    return web.json_response(error_body(code, message, retry_after), status=status or status_for(code),
                             headers=headers)


REQUEST_BODY = {"nested": _("The request body is nested too deeply."),
                "not_object": _("The request body must be a JSON object."),
                "surrogate": _("The request body is not valid Unicode text: it holds a lone surrogate.")}


def parse_json_object(raw: bytes | str, problems: dict[str, Message] = REQUEST_BODY) -> dict:
    """A JSON object, or ``Invalid`` with one of ``problems``: never a RecursionError or a TypeError."""
    try:
        body = json.loads(raw)
    except RecursionError:  # deeply nested arrays or objects
        raise Invalid(problems["nested"]) from None
    except (UnicodeDecodeError, ValueError, TypeError):
        raise Invalid(problems["not_object"]) from None
    if not isinstance(body, dict):
        raise Invalid(problems["not_object"])
    try:  # a \ud800 escape parses to a lone surrogate, which no database or encoder accepts
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(problems["surrogate"]) from None
    except RecursionError:
        raise Invalid(problems["nested"]) from None
    return body


async def json_body(request: web.Request, max_bytes: int = MAX_JSON_BYTES) -> dict:
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError("too_large", _("The request body is larger than {limit} bytes.", limit=max_bytes))
    raw = await request.content.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError("too_large", _("The request body is larger than {limit} bytes.", limit=max_bytes))
    return parse_json_object(raw)


def language(request: web.Request) -> str:
    """The reader's language: the page's choice (cookie), else Accept-Language by its q-weights."""
    return i18n.negotiate(request.headers.get("Accept-Language", ""), request.cookies.get(i18n.COOKIE))


def catalog(request: web.Request) -> i18n.Catalog:
    return request.app[app_keys.catalogs][language(request)]


def translated(request: web.Request, message: Message | str) -> str:
    """The message in the reader's language, its values filled in after translation."""
    return i18n.as_message(message).translate(catalog(request).translations)


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path == "/ws"


KEPT_HEADERS = ("Allow", "Retry-After")


@web.middleware
async def api_errors(request: web.Request, handler):
    """The one place where an error becomes an HTTP answer under /api."""
    try:
        return await handler(request)
    except DomainError as error:
        code, message, status, headers = error.code, error.text, status_for(error.code), None
        if getattr(error, "retry_after", None):  # RateLimited: the seconds to wait
            headers = {"Retry-After": str(error.retry_after)}
    except ApiError as error:
        code, message, status, headers = error.code, error.text, error.status, error.headers
    except web.HTTPException as error:
        if error.status < 400 or not is_api(request):
            raise
        code = CODE_FOR_STATUS.get(error.status, "internal" if error.status >= 500 else "invalid")
        message = MESSAGE_FOR_STATUS.get(error.status) or error.reason  # aiohttp's reasons stay English
        status = error.status
        headers = {name: error.headers[name] for name in KEPT_HEADERS if name in error.headers}
    except ConnectionError:  # the client went away mid-answer: there is no one to tell
        raise
    except Exception as error:
        if is_disk_full(error):  # a fault of the machine, not a bug: a sentence, and try later
            log.error("disk full while handling %s %s: %s", request.method, request.rel_url.path, error)
            code, message, status, headers = "storage_full", DISK_FULL_MESSAGE, 507, {"Retry-After": "60"}
            return error_response(code, translated(request, message), status, headers=headers)
        if not is_api(request):
            raise
        log.exception("%s %s failed", request.method, request.rel_url.path)
        code, message, status, headers = "internal", INTERNAL_MESSAGE, 500, None
    if code not in STATUS_FOR_CODE:  # a bug: say so in the log, answer as a server error
        log.error("unknown error code %r for %s %s", code, request.method, request.rel_url.path)
        code, status = "internal", 500
    return error_response(code, translated(request, message), status, headers=headers or None)
