"""OpenID Connect relying party: discovery, PKCE, state and nonce, ID-token checks.

Authlib supplies PKCE (RFC 7636) and its JOSE library joserfc verifies the
ID token: its RS256 signature against the issuer's JWKS, then ``iss``,
``aud`` (and ``azp`` when several audiences), ``exp``, ``iat`` and the
``nonce`` this login started with. HTTP goes through the app's aiohttp
client session (Authlib's own clients are for requests and httpx).

A login is one :class:`PendingLogin`, kept in the signed-in cookie session
and used once: a callback replayed, or a token replayed into another login,
fails its ``state`` or ``nonce`` check.

Not wired to routes yet: this is the checked core that sign-in and account
linking build on (issue 15).
"""

import hmac
import secrets
import time
from dataclasses import dataclass

import aiohttp
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from yarl import URL

from .domain.errors import AuthFailed
from .i18n import _

ALGORITHMS = ["RS256"]
LEEWAY_SECONDS = 60


class OidcError(AuthFailed):
    """The provider's answer was refused; the message says which check failed."""


class ProviderUnreachable(OidcError):
    """The provider did not answer, or answered something unreadable: trying later may work."""


class StateMismatch(OidcError):
    """The answer belongs to another sign-in than the one this browser started."""


@dataclass(frozen=True)
class ProviderConfig:
    name: str            # short id in URLs, e.g. "gitlab"
    issuer: str
    client_id: str
    client_secret: str
    label: str = ""      # "Continue with …"


@dataclass(frozen=True)
class PendingLogin:
    provider: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str

    @classmethod
    def new(cls, provider: str, redirect_uri: str) -> "PendingLogin":
        return cls(provider, secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(48),
                   redirect_uri)


class Provider:
    def __init__(self, config: ProviderConfig, http: aiohttp.ClientSession):
        self.config, self.http = config, http
        self.metadata: dict | None = None
        self.keys: KeySet | None = None

    async def _get_json(self, url: str) -> dict:
        try:
            async with self.http.get(url) as response:
                if response.status != 200:
                    raise ProviderUnreachable(_("The sign-in provider answered {status} at {url}.", status=response.status, url=str(url)))
                return await response.json(content_type=None)
        except (aiohttp.ClientError, ValueError):
            raise ProviderUnreachable(_("The sign-in provider cannot be reached or sent something unreadable.")) from None

    async def discover(self, *, refresh_keys: bool = False) -> dict:
        """OpenID Connect Discovery 1.0; the issuer it names must be the configured one."""
        if self.metadata is None:
            metadata = await self._get_json(self.config.issuer.rstrip("/") + "/.well-known/openid-configuration")
            if metadata.get("issuer") != self.config.issuer:
                raise OidcError(_("The sign-in provider's discovery document names another issuer."))
            for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(metadata.get(field), str):
                    raise OidcError(_("The sign-in provider's discovery document has no {field}.", field=field))
            self.metadata = metadata
        if self.keys is None or refresh_keys:
            self.keys = KeySet.import_key_set(await self._get_json(self.metadata["jwks_uri"]))
        return self.metadata

    async def authorization_url(self, login: PendingLogin) -> str:
        metadata = await self.discover()
        return str(URL(metadata["authorization_endpoint"]).update_query({
            "response_type": "code", "client_id": self.config.client_id, "redirect_uri": login.redirect_uri,
            "scope": "openid profile email", "state": login.state, "nonce": login.nonce,
            "code_challenge": create_s256_code_challenge(login.code_verifier), "code_challenge_method": "S256"}))

    async def finish(self, login: PendingLogin, *, state: str, code: str, now: float | None = None) -> dict:
        """Check ``state``, exchange the code (with the PKCE verifier), verify the ID token; its claims."""
        if not isinstance(state, str) or not hmac.compare_digest(state, login.state):
            raise StateMismatch(_("This sign-in answer does not belong to the sign-in you started. Start again."))
        metadata = await self.discover()
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": login.redirect_uri,
                "code_verifier": login.code_verifier}
        try:
            basic = aiohttp.encode_basic_auth(self.config.client_id, self.config.client_secret)
            async with self.http.post(metadata["token_endpoint"], data=form,
                                      headers={"Authorization": basic}) as response:
                tokens = await response.json(content_type=None)
                status = response.status
        except (aiohttp.ClientError, ValueError):
            raise ProviderUnreachable(_("The sign-in provider's token endpoint cannot be reached.")) from None
        if status != 200 or not isinstance(tokens, dict) or not isinstance(tokens.get("id_token"), str):
            raise OidcError(_("The sign-in provider refused the sign-in code."))
        return await self.verify_id_token(tokens["id_token"], nonce=login.nonce, now=now)

    async def verify_id_token(self, id_token: str, *, nonce: str, now: float | None = None) -> dict:
        await self.discover()
        try:
            token = jwt.decode(id_token, self.keys, algorithms=ALGORITHMS)
        except JoseError:
            # The provider may have rotated its signing key since the JWKS was read: read it once more.
            await self.discover(refresh_keys=True)
            try:
                token = jwt.decode(id_token, self.keys, algorithms=ALGORITHMS)
            except (JoseError, ValueError):
                raise OidcError(_("The sign-in provider's ID token has a bad signature.")) from None
        except ValueError:
            raise OidcError(_("The sign-in provider's ID token is malformed.")) from None
        claims = token.claims
        moment = int(time.time() if now is None else now)
        registry = jwt.JWTClaimsRegistry(
            now=moment, leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": self.config.issuer},
            aud={"essential": True, "value": self.config.client_id},
            sub={"essential": True}, exp={"essential": True}, iat={"essential": True})
        try:
            registry.validate(claims)
        except JoseError as error:
            raise OidcError(_("The sign-in provider's ID token was refused: {reason}.",
                              reason=error.description or error.error)) from None
        if isinstance(claims.get("aud"), list) and len(claims["aud"]) > 1 and claims.get("azp") != self.config.client_id:
            raise OidcError(_("The sign-in provider's ID token was issued to another party."))
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
            raise OidcError(_("The sign-in provider's ID token was made for another sign-in (nonce)."))
        return claims


class Providers(dict):
    """name -> Provider, sharing one aiohttp client session."""


async def oidc_ctx(app):
    """The configured providers (none by default), and the HTTP client they use."""
    from . import app_keys
    configs = [ProviderConfig(**entry) for entry in app[app_keys.config].oidc_providers]
    http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
    app[app_keys.oidc] = Providers({config.name: Provider(config, http) for config in configs})
    yield
    await http.close()
