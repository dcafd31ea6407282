"""Social sign-in routes (OpenID Connect). The checks are in ``server/oidc.py``.

    GET    /api/oidc/providers                  -> {providers: [{name, label}]}
    GET    /auth/oidc/{provider}/start          -> 302 to the provider (sign in, or sign up)
    POST   /api/me/identities {provider, auth_key} -> {start}   linking needs the password
    GET    /auth/oidc/{provider}/start?link=1   -> 302 (only right after that confirmation)
    GET    /auth/oidc/{provider}/callback       -> 302 to /?signed_in=1, /?signed_up=1 or /?linked=NAME
    start or callback failing                   -> 302 to /?oidc_error=CODE (a code of FAILURES)
    GET    /api/me/identities                   -> {identities: [{provider, created_at}]}
    DELETE /api/me/identities/{provider}        unlink, if another way to sign in is left

The login in progress (state, nonce, PKCE verifier, mode) travels in its own
encrypted cookie with ``SameSite=Lax``: the session cookie is ``Strict``, so
a browser would not send it on the provider's redirect back. That cookie
binds the callback to the browser that started it and is used once.

Start and callback are navigations of the browser, not API calls: when
they fail, the person is sent back to the page with a code from
``FAILURES`` (``/?oidc_error=denied``), and the page shows its sentence
where the person lands: on the sign-in form, or in settings after a link.
Only a code travels, never text, so nothing the provider or a crafted
address says is shown. A code is used rather than a flash in the session
for the same reason as the marker of success: the redirect back from the
provider may come without the ``Strict`` session cookie.
"""

import base64
import functools
import hmac
import json
import logging
import time

from aiohttp import web
from aiohttp_session import get_session
from cryptography.fernet import Fernet, InvalidToken

from pyclient.protocol.kdf import hkdf_sha256

from .. import app_keys
from ..domain import accounts, identities
from ..domain.errors import Conflict, DomainError, NotFound
from ..i18n import Message, _
from ..oidc import OidcError, PendingLogin, ProviderUnreachable, StateMismatch
from .api import _check_current_password, me_json
from .common import ApiError, json_body, transaction, utcnow
from .search import index_user
from .sessions import authenticate, begin_login

log = logging.getLogger("sealroom.oidc")
routes = web.RouteTableDef()

PENDING_COOKIE = "sealroom_oidc"
PENDING_SECONDS = 600
LINK_SECONDS = 300
COOKIE_LABEL = b"sealroom/v1/oidc-cookie"


# What the page says when a sign-in through a provider fails, by the code in /?oidc_error=CODE.
FAILURES = {
    "denied": _("The sign-in was cancelled or refused at the provider. Nothing was changed."),
    "expired": _("This sign-in has expired or was started in another browser. Start again."),
    "linked_elsewhere": _("This sign-in is already linked to another SealRoom account."),
    "unknown_provider": _("This server has no such sign-in provider."),
    "unconfirmed": _("Confirm your password before you link a sign-in to your account."),
    "refused": _("The sign-in provider's answer did not pass this server's checks. Nobody was signed in. "
                 "Start again."),
    "unavailable": _("The sign-in provider cannot be reached right now. Try again in a moment."),
    "no_username": _("No free username could be made for this sign-in. Register with a password instead."),
}
FAILED = _("Signing in through the provider did not work. Start again.")


def failure_message(code: str) -> Message:
    """The sentence for a code from the address; any other code gets the general one."""
    return FAILURES.get(code, FAILED)


class SignInFailed(Exception):
    """A trip through a provider ended early: ``code`` names why (a key of FAILURES, or "failed")."""

    def __init__(self, code: str, detail: object = ""):
        super().__init__(code)
        self.code, self.detail = code, str(detail)


def lands_on_the_page(handler):
    """A failure sends the browser back to the page with its code (never a JSON error page), and the
    login in progress is dropped. The detail goes to the log for the operator."""
    @functools.wraps(handler)
    async def navigation(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except SignInFailed as failure:
            code = failure.code
            log.info("social sign-in at %s ended: %s %r", request.path, code, failure.detail)
        except (DomainError, ApiError) as error:
            code = "failed"
            log.info("social sign-in at %s ended: %r", request.path, error.message)
        except Exception:
            code = "failed"
            log.exception("social sign-in at %s failed", request.path)
        response = _redirect(f"/?oidc_error={code}")
        response.del_cookie(PENDING_COOKIE, path="/auth/oidc/")
        return response
    return navigation


def _fernet(app: web.Application) -> Fernet:
    # A key of its own, so that this cookie can never be read as the session cookie or the other way round.
    return Fernet(base64.urlsafe_b64encode(hkdf_sha256(app[app_keys.config].secret_key(), COOKIE_LABEL, 32)))


def _provider(request: web.Request, name: str | None = None):
    provider = request.app[app_keys.oidc].get(request.match_info["provider"] if name is None else name)
    if provider is None:
        raise NotFound(_("This server has no such sign-in provider."))
    return provider


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


@routes.get("/api/oidc/providers")
async def list_providers(request: web.Request) -> web.Response:
    return web.json_response({"providers": [
        {"name": p.config.name, "label": p.config.label or p.config.name} for p in request.app[app_keys.oidc].values()]})


@routes.post("/api/me/identities")
async def confirm_link(request: web.Request) -> web.Response:
    """Linking a social sign-in to this account needs the account's password, just before."""
    user = await authenticate(request)
    body = await json_body(request)
    provider = _provider(request, str(body.get("provider", "")))
    await _check_current_password(request, user, body.get("auth_key"))
    (await get_session(request))["oidc_link"] = {"provider": provider.config.name, "user": user.id,
                                                 "until": time.time() + LINK_SECONDS}
    return web.json_response({"start": f"/auth/oidc/{provider.config.name}/start?link=1"})


def _page_provider(request: web.Request):
    try:
        return _provider(request)
    except NotFound:
        raise SignInFailed("unknown_provider", request.match_info["provider"][:64]) from None


@routes.get("/auth/oidc/{provider}/start")
@lands_on_the_page
async def start(request: web.Request) -> web.Response:
    provider = _page_provider(request)
    mode, user_id = "signin", None
    if request.query.get("link") == "1":
        try:
            user = await authenticate(request)
        except ApiError as error:  # signed out since the password was confirmed
            raise SignInFailed("unconfirmed", error.message) from None
        intent = (await get_session(request)).pop("oidc_link", None) or {}
        if intent.get("provider") != provider.config.name or intent.get("user") != user.id \
                or intent.get("until", 0) < time.time():
            raise SignInFailed("unconfirmed")
        mode, user_id = "link", user.id
    redirect_uri = f"{request.scheme}://{request.host}/auth/oidc/{provider.config.name}/callback"
    login = PendingLogin.new(provider.config.name, redirect_uri)
    try:
        location = await provider.authorization_url(login)
    except OidcError as error:  # discovery: unreachable, or a document this server refuses
        raise SignInFailed("unavailable", error.message) from None
    pending = {"login": login.__dict__, "mode": mode, "user": user_id}
    response = _redirect(location)
    response.set_cookie(PENDING_COOKIE, _fernet(request.app).encrypt(json.dumps(pending).encode()).decode(),
                        max_age=PENDING_SECONDS, path="/auth/oidc/", httponly=True, samesite="Lax",
                        secure=request.app[app_keys.config].secure_cookies)
    return response


@routes.get("/auth/oidc/{provider}/callback")
@lands_on_the_page
async def callback(request: web.Request) -> web.Response:
    provider = _page_provider(request)
    try:
        pending = json.loads(_fernet(request.app).decrypt(request.cookies.get(PENDING_COOKIE, "").encode(),
                                                          ttl=PENDING_SECONDS))
    except (InvalidToken, ValueError):
        raise SignInFailed("expired", "no readable login cookie") from None
    login = PendingLogin(**pending["login"])
    if login.provider != provider.config.name:
        raise SignInFailed("expired", f"the login began at {login.provider}")
    state = request.query.get("state", "")
    if "error" in request.query:
        # Only an answer to this login may end it as refused; the provider's own words go to the log alone.
        if not hmac.compare_digest(state, login.state):
            raise SignInFailed("expired", "an error answer with another state")
        reason = request.query["error"][:64]
        raise SignInFailed("denied" if reason == "access_denied" else "refused", reason)
    try:
        claims = await provider.finish(login, state=state, code=request.query.get("code", ""))
    except StateMismatch as error:
        raise SignInFailed("expired", error.message) from None
    except ProviderUnreachable as error:
        raise SignInFailed("unavailable", error.message) from None
    except OidcError as error:
        raise SignInFailed("refused", error.message) from None
    subject, now, created = str(claims["sub"]), utcnow(request), False
    async with transaction(request) as db:
        if pending["mode"] == "link":
            user = await accounts.get_user(db, pending["user"])
            try:
                await identities.link(db, user, provider.config.name, subject, now=now)
            except Conflict as error:
                raise SignInFailed("linked_elsewhere", error.message) from None
        else:
            user = await identities.find_user(db, provider.config.name, subject)
            if user is None:
                try:
                    user = await identities.create_social_user(db, provider=provider.config.name, subject=subject,
                                                               claims=claims, now=now)
                except Conflict as error:
                    raise SignInFailed("no_username", error.message) from None
                created = True
        if user.disabled:
            raise SignInFailed("failed", "the account is disabled")
    if created:
        await index_user(request.app, user)
    if pending["mode"] == "signin":
        await begin_login(request, user)
    # Always a marker: this redirect ends a chain that began at the provider, another site, so the browser
    # may hold back the SameSite=Strict session cookie from it; the page then asks /api/me itself.
    response = _redirect("/?linked=" + provider.config.name if pending["mode"] == "link" else
                         "/?signed_up=1" if created else "/?signed_in=1")
    response.del_cookie(PENDING_COOKIE, path="/auth/oidc/")
    return response


@routes.get("/api/me/identities")
async def get_identities(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with transaction(request) as db:
        found = await identities.list_identities(db, user.id)
    return web.json_response({"identities": [{"provider": i.provider, "created_at": i.created_at.isoformat()}
                                             for i in found], "password": identities.has_password(user)})


@routes.delete("/api/me/identities/{provider}")
async def unlink(request: web.Request) -> web.Response:
    user = await authenticate(request)
    async with transaction(request) as db:
        user = await accounts.get_user(db, user.id)
        await identities.unlink(db, user, request.match_info["provider"])
    return web.json_response({"user": me_json(user), "unlinked": request.match_info["provider"]})
