"""The OpenID Connect core (server/oidc.py) against a real provider on
loopback (tests/oidc_provider.py): the code flow with PKCE, state and nonce,
and every ID-token check refusing what it must."""

import time

import aiohttp
import pytest
from yarl import URL

from server.oidc import OidcError, PendingLogin, Provider, ProviderConfig
from tests.oidc_provider import Client, OidcTestProvider

REDIRECT = "http://127.0.0.1:9/auth/oidc/test/callback"


@pytest.fixture
async def idp(aiohttp_server):
    provider = OidcTestProvider(clients={"sealroom": Client("sealroom", "s3cret", [REDIRECT])})
    server = await aiohttp_server(provider.app())
    provider.issuer = str(server.make_url("")).rstrip("/")
    return provider


@pytest.fixture
async def relying_party(idp):
    async with aiohttp.ClientSession() as http:
        yield Provider(ProviderConfig("test", idp.issuer, "sealroom", "s3cret"), http)


async def sign_in(relying_party, login=None) -> tuple[PendingLogin, str, str]:
    """Follow the redirect to the provider as a browser would: (login, state, code)."""
    login = login or PendingLogin.new("test", REDIRECT)
    url = await relying_party.authorization_url(login)
    async with relying_party.http.get(url, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        back = URL(response.headers["Location"])
    assert str(back.with_query(None)) == REDIRECT
    return login, back.query["state"], back.query["code"]


async def test_code_flow_with_pkce_state_and_nonce_gives_the_subject(relying_party):
    login, state, code = await sign_in(relying_party)
    claims = await relying_party.finish(login, state=state, code=code)
    assert claims["sub"] == "user-1" and claims["nonce"] == login.nonce


async def test_id_token_with_a_bad_signature_is_refused(relying_party, idp):
    idp.sign_with_unpublished_key = True
    login, state, code = await sign_in(relying_party)
    with pytest.raises(OidcError, match="bad signature"):
        await relying_party.finish(login, state=state, code=code)


async def test_id_token_for_another_audience_is_refused(relying_party, idp):
    idp.tamper = {"aud": "some-other-app"}
    login, state, code = await sign_in(relying_party)
    with pytest.raises(OidcError, match="aud"):
        await relying_party.finish(login, state=state, code=code)


async def test_expired_id_token_is_refused(relying_party, idp):
    idp.tamper = {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}
    login, state, code = await sign_in(relying_party)
    with pytest.raises(OidcError, match="exp"):
        await relying_party.finish(login, state=state, code=code)


async def test_replayed_nonce_is_refused(relying_party, idp):
    first, state, code = await sign_in(relying_party)
    await relying_party.finish(first, state=state, code=code)
    # An attacker replays that ID token into a sign-in of their own: its nonce is not this one's.
    second = PendingLogin.new("test", REDIRECT)
    with pytest.raises(OidcError, match="nonce"):
        await relying_party.verify_id_token(idp.issued[-1], nonce=second.nonce)


async def test_replayed_callback_and_wrong_state_are_refused(relying_party):
    login, state, code = await sign_in(relying_party)
    await relying_party.finish(login, state=state, code=code)
    with pytest.raises(OidcError, match="refused the sign-in code"):  # a code works once
        await relying_party.finish(login, state=state, code=code)
    other, other_state, other_code = await sign_in(relying_party)
    with pytest.raises(OidcError, match="does not belong"):
        await relying_party.finish(other, state=state, code=other_code)


async def test_pkce_verifier_must_match_the_challenge(relying_party):
    login, state, code = await sign_in(relying_party)
    forged = PendingLogin(login.provider, login.state, login.nonce, "not-the-verifier" * 3, login.redirect_uri)
    with pytest.raises(OidcError, match="refused the sign-in code"):
        await relying_party.finish(forged, state=state, code=code)


async def test_discovery_naming_another_issuer_is_refused(idp):
    async with aiohttp.ClientSession() as http:
        impostor = Provider(ProviderConfig("test", idp.issuer + "/", "sealroom", "s3cret"), http)
        with pytest.raises(OidcError, match="another issuer"):
            await impostor.discover()
