"""Helpers every handler shares: the clock, DB transactions, JSON bodies, errors."""

import json
from contextlib import asynccontextmanager
from datetime import datetime, timezone

from aiohttp import web

from .. import app_keys, i18n
from ..domain.errors import DomainError

STATUS_FOR_CODE = {
    "invalid": 400,
    "auth_failed": 401,
    "unauthenticated": 401,
    "forbidden": 403,
    "csrf": 403,
    "not_found": 404,
    "conflict": 409,
    "stale_members": 409,
    "gone": 410,
    "too_large": 413,
    "rate_limited": 429,
    "too_many": 429,
}


def app_now(app: web.Application) -> datetime:
    """The time: the app's injected clock if a test set one, else UTC now."""
    clock = app.get(app_keys.clock)
    return clock() if clock else datetime.now(timezone.utc)


def utcnow(request: web.Request) -> datetime:
    return app_now(request.app)


@asynccontextmanager
async def transaction(request: web.Request):
    async with request.app[app_keys.sessionmaker]() as db, db.begin():
        yield db


def error_response(code: str, message: str, status: int | None = None, headers=None,
                   retry_after: int | None = None) -> web.Response:
    body = {"error": code, "message": message}
    if retry_after:  # rate limited: the header for any client, the number for the page
        body["retry_after"] = retry_after
        headers = {**(headers or {}), "Retry-After": str(retry_after)}
    return web.json_response(body, status=status or STATUS_FOR_CODE.get(code, 400), headers=headers)


class ApiError(web.HTTPException):
    """Raised by handlers to stop with a JSON error body."""

    def __init__(self, code: str, message: str, status: int | None = None, headers: dict | None = None):
        self.status_code = status or STATUS_FOR_CODE.get(code, 400)
        super().__init__(text=json.dumps({"error": code, "message": message}), content_type="application/json",
                         headers=headers)


async def json_body(request: web.Request, max_bytes: int = 64 * 1024) -> dict:
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError("too_large", f"The request body is larger than {max_bytes} bytes.")
    raw = await request.content.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ApiError("too_large", f"The request body is larger than {max_bytes} bytes.")
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError("invalid", "The request body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise ApiError("invalid", "The request body must be a JSON object.")
    return body


def translated(request: web.Request, message: str) -> str:
    """The message in the reader's language, when the catalog has it."""
    catalogs = request.app.get(app_keys.catalogs, {})
    return i18n.translate(catalogs.get(i18n.pick_language(request), {}), message)


@web.middleware
async def domain_errors(request: web.Request, handler):
    """Domain errors and ApiErrors become JSON bodies in the reader's language."""
    try:
        return await handler(request)
    except DomainError as error:
        return error_response(error.code, translated(request, error.message),
                              retry_after=getattr(error, "retry_after", None))
    except ApiError as error:
        body = json.loads(error.text)
        retry = {"Retry-After": error.headers["Retry-After"]} if "Retry-After" in error.headers else None
        return error_response(body["error"], translated(request, body["message"]), error.status_code, headers=retry)
