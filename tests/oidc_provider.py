"""A real OpenID Connect provider on loopback, for the tests.

Built on aiohttp and Authlib's JOSE library (joserfc) rather than the
``oidc-provider`` or ``oauth2-mock-server`` npm packages: it runs inside the
test's own event loop (no Node process to start and stop per test), and a
test can make it misbehave in one precise way (sign with a key it does not
publish, name another audience, issue an expired token) to prove that each
ID-token check really refuses. It speaks the authorization-code flow with
PKCE (S256), discovery and JWKS, as Google, GitLab or Keycloak do.
"""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field

from aiohttp import web
from joserfc import jwt
from joserfc.jwk import RSAKey
from yarl import URL


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uris: list[str]


@dataclass
class OidcTestProvider:
    issuer: str = ""
    clients: dict[str, Client] = field(default_factory=dict)
    subject: str = "user-1"
    tamper: dict = field(default_factory=dict)   # claims to override in the next ID tokens
    sign_with_unpublished_key: bool = False
    refuse: str = ""   # an OAuth error code ("access_denied") to answer the next sign-ins with, as a person saying no
    issued: list[str] = field(default_factory=list)  # every ID token handed out
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"}))
    rogue_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "k1"}))
    _codes: dict = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/.well-known/openid-configuration", self.discovery)
        app.router.add_get("/authorize", self.authorize)
        app.router.add_post("/token", self.token)
        app.router.add_get("/jwks", self.jwks)
        return app

    async def discovery(self, request):
        return web.json_response({
            "issuer": self.issuer, "authorization_endpoint": self.issuer + "/authorize",
            "token_endpoint": self.issuer + "/token", "jwks_uri": self.issuer + "/jwks",
            "response_types_supported": ["code"], "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"]})

    async def jwks(self, request):
        return web.json_response({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request):
        """Signs the user in at once (the consent screen is the provider's business)."""
        query = request.query
        client = self.clients.get(query.get("client_id", ""))
        if client is None or query.get("redirect_uri") not in client.redirect_uris:
            return web.json_response({"error": "invalid_client"}, status=400)
        if query.get("response_type") != "code" or query.get("code_challenge_method") != "S256":
            return web.json_response({"error": "invalid_request"}, status=400)
        if self.refuse:  # RFC 6749 4.1.2.1: the error goes back to the client, with the state
            target = URL(query["redirect_uri"]).update_query({"error": self.refuse, "state": query.get("state", "")})
            raise web.HTTPFound(str(target))
        code = secrets.token_urlsafe(24)
        self._codes[code] = {"client_id": client.client_id, "redirect_uri": query["redirect_uri"],
                             "challenge": query["code_challenge"], "nonce": query.get("nonce")}
        target = URL(query["redirect_uri"]).update_query({"code": code, "state": query.get("state", "")})
        raise web.HTTPFound(str(target))

    async def token(self, request):
        form = await request.post()
        auth = request.headers.get("Authorization", "")
        try:
            client_id, secret = base64.b64decode(auth.removeprefix("Basic ")).decode().split(":", 1)
        except ValueError:
            return web.json_response({"error": "invalid_client"}, status=401)
        client = self.clients.get(client_id)
        if client is None or not secrets.compare_digest(client.client_secret, secret):
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant["client_id"] != client_id or grant["redirect_uri"] != form.get("redirect_uri"):
            return web.json_response({"error": "invalid_grant"}, status=400)
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"]:
            return web.json_response({"error": "invalid_grant", "error_description": "PKCE"}, status=400)
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": self.subject, "aud": client_id, "iat": now, "exp": now + 300,
                  "nonce": grant["nonce"], "preferred_username": "dana", **self.tamper}
        key = self.rogue_key if self.sign_with_unpublished_key else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": "k1"}, claims, key)
        self.issued.append(id_token)
        return web.json_response({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                                  "expires_in": 300, "id_token": id_token})
