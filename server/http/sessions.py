"""Login sessions on top of aiohttp-session.

The encrypted cookie holds only a random server-side session id and the
CSRF token. The session row in the database carries the idle and absolute
timeouts and can be listed and revoked, from any server process.
"""

import hmac
import secrets
from datetime import timedelta

from aiohttp import web
from aiohttp_session import get_session, new_session

from .. import app_keys
from ..domain import accounts
from ..i18n import _
from .common import ApiError, transaction, utcnow

CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


async def csrf_token(request: web.Request) -> str:
    session = await get_session(request)
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def _printable(text: str) -> str:
    """Header text as the database can store it: undecodable bytes arrive as lone surrogates."""
    return text.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")


async def begin_login(request: web.Request, user) -> str:
    """Rotate the cookie session (fixation defence) and start a server session."""
    async with transaction(request) as db:
        row = await accounts.start_session(db, user, now=utcnow(request),
                                           user_agent=_printable(request.headers.get("User-Agent", "")))
    session = await new_session(request)
    session["sid"] = row.id
    session["csrf"] = token = secrets.token_urlsafe(32)
    return token


async def end_login(request: web.Request) -> str:
    session = await get_session(request)
    user_id, sid = request.get(app_keys.user_id), session.get("sid")
    if sid and user_id:
        async with transaction(request) as db:
            await accounts.revoke_session(db, user_id, sid)
    session.invalidate()
    session = await new_session(request)
    session["csrf"] = token = secrets.token_urlsafe(32)
    return token


async def forget_login(request: web.Request) -> str:
    """Drop the cookie session whose server-side row is already gone (a deleted account)."""
    (await get_session(request)).invalidate()
    session = await new_session(request)
    session["csrf"] = token = secrets.token_urlsafe(32)
    return token


async def authenticate(request: web.Request):
    """The signed-in user, or a 401 with a clear message."""
    config = request.app[app_keys.config]
    session = await get_session(request)
    sid = session.get("sid")
    if sid:
        async with transaction(request) as db:
            found = await accounts.resolve_session(
                db, sid, now=utcnow(request),
                idle=timedelta(seconds=config.session_idle_seconds),
                absolute=timedelta(seconds=config.session_absolute_seconds))
        if found is not None:
            request[app_keys.session_id], request[app_keys.user_id] = sid, found[1].id
            return found[1]
        async with transaction(request) as db:  # ended for a reason its owner should hear
            reason = await accounts.session_end_reason(db, sid)
        if reason in accounts.END_REASONS:
            raise ApiError("unauthenticated", accounts.END_REASONS[reason])
    raise ApiError("unauthenticated", _("Sign in first: your session is missing or has expired."))


def same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    return origin is None or origin == f"{request.scheme}://{request.host}"


@web.middleware
async def csrf_protection(request: web.Request, handler):
    if request.method in UNSAFE_METHODS and request.path.startswith("/api/"):
        session = await get_session(request)
        expected = session.get("csrf") or ""
        # Compared as bytes: compare_digest refuses non-ASCII text with a TypeError.
        given = request.headers.get(CSRF_HEADER, "").encode("utf-8", "replace")
        if not same_origin(request) or not expected or not hmac.compare_digest(expected.encode(), given):
            raise ApiError("csrf", _("This request is missing its anti-forgery token. Reload the page and try again."))
    return await handler(request)
