"""Social sign-in routes (OpenID Connect). The checks are in ``server/oidc.py``.

    GET    /api/oidc/providers                  -> {providers: [{name, label}]}
    GET    /auth/oidc/{provider}/start          -> 302 to the provider (sign in, or sign up)
    POST   /api/me/identities {provider, auth_key} -> {start}   linking needs the password
    GET    /auth/oidc/{provider}/start?link=1   -> 302 (only right after that confirmation)
    GET    /auth/oidc/{provider}/callback       -> 302 to /?signed_in=1, /?signed_up=1 or /?linked=NAME
    GET    /api/me/identities                   -> {identities: [{provider, created_at}]}
    DELETE /api/me/identities/{provider}        unlink, if another way to sign in is left

The login in progress (state, nonce, PKCE verifier, mode) travels in its own
encrypted cookie with ``SameSite=Lax``: the session cookie is ``Strict``, so
a browser would not send it on the provider's redirect back. That cookie
binds the callback to the browser that started it and is used once.
"""

import base64
import json
import time

from aiohttp import web
from aiohttp_session import get_session
from cryptography.fernet import Fernet, InvalidToken

from pyclient.protocol.kdf import hkdf_sha256

from .. import app_keys
from ..domain import accounts, identities
from ..domain.errors import Forbidden, NotFound
from ..i18n import _
from ..oidc import OidcError, PendingLogin
from .api import _check_current_password, me_json
from .common import json_body, transaction, utcnow
from .search import index_user
from .sessions import authenticate, begin_login

routes = web.RouteTableDef()

PENDING_COOKIE = "sealroom_oidc"
PENDING_SECONDS = 600
LINK_SECONDS = 300
COOKIE_LABEL = b"sealroom/v1/oidc-cookie"


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


@routes.get("/auth/oidc/{provider}/start")
async def start(request: web.Request) -> web.Response:
    provider = _provider(request)
    mode, user_id = "signin", None
    if request.query.get("link") == "1":
        user = await authenticate(request)
        intent = (await get_session(request)).pop("oidc_link", None) or {}
        if intent.get("provider") != provider.config.name or intent.get("user") != user.id \
                or intent.get("until", 0) < time.time():
            raise Forbidden(_("Confirm your password before you link a sign-in to your account."))
        mode, user_id = "link", user.id
    redirect_uri = f"{request.scheme}://{request.host}/auth/oidc/{provider.config.name}/callback"
    login = PendingLogin.new(provider.config.name, redirect_uri)
    location = await provider.authorization_url(login)
    pending = {"login": login.__dict__, "mode": mode, "user": user_id}
    response = _redirect(location)
    response.set_cookie(PENDING_COOKIE, _fernet(request.app).encrypt(json.dumps(pending).encode()).decode(),
                        max_age=PENDING_SECONDS, path="/auth/oidc/", httponly=True, samesite="Lax",
                        secure=request.app[app_keys.config].secure_cookies)
    return response


@routes.get("/auth/oidc/{provider}/callback")
async def callback(request: web.Request) -> web.Response:
    provider = _provider(request)
    try:
        pending = json.loads(_fernet(request.app).decrypt(request.cookies.get(PENDING_COOKIE, "").encode(),
                                                          ttl=PENDING_SECONDS))
    except (InvalidToken, ValueError):
        raise OidcError(_("This sign-in has expired or was started in another browser. Start again.")) from None
    login = PendingLogin(**pending["login"])
    if login.provider != provider.config.name:
        raise OidcError(_("This sign-in answer came back to the wrong provider. Start again."))
    if "error" in request.query:
        raise OidcError(_("The sign-in provider did not sign you in ({reason}).", reason=request.query["error"][:64]))
    claims = await provider.finish(login, state=request.query.get("state", ""), code=request.query.get("code", ""))
    subject, now, created = str(claims["sub"]), utcnow(request), False
    async with transaction(request) as db:
        if pending["mode"] == "link":
            user = await accounts.get_user(db, pending["user"])
            await identities.link(db, user, provider.config.name, subject, now=now)
        else:
            user = await identities.find_user(db, provider.config.name, subject)
            if user is None:
                user = await identities.create_social_user(db, provider=provider.config.name, subject=subject,
                                                           claims=claims, now=now)
                created = True
        if user.disabled:
            raise accounts.login_failed()
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
