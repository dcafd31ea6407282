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


# ---- the routes: sign up, sign in, link (needs the password), unlink ----------------------

from dataclasses import replace  # noqa: E402
from datetime import timedelta  # noqa: E402

from server.app import create_app  # noqa: E402
from tests.helpers import register  # noqa: E402


@pytest.fixture
async def site(aiohttp_server, idp, config):
    provider = {"name": "test", "issuer": idp.issuer, "client_id": "sealroom", "client_secret": "s3cret",
                "label": "Test ID"}
    from server import app_keys
    from tests.retention import Clock
    app = create_app(replace(config, oidc_providers=(provider,)))
    app[app_keys.clock] = Clock()  # tests move it forward
    server = await aiohttp_server(app)
    idp.clients["sealroom"].redirect_uris.append(str(server.make_url("/auth/oidc/test/callback")))
    return server


@pytest.fixture
def browser(aiohttp_client, site):
    async def make():
        return await aiohttp_client(site)
    return make


async def continue_with(client, start: str = "/auth/oidc/test/start"):
    """The redirect flow as a browser follows it: to the provider and back."""
    response = await client.get(start, allow_redirects=False)
    assert response.status == 302, await response.text()
    async with aiohttp.ClientSession() as elsewhere, elsewhere.get(response.headers["Location"],
                                                                    allow_redirects=False) as at_provider:
        back = URL(at_provider.headers["Location"])
    return await client.get(back.path_qs, allow_redirects=False)


async def test_social_sign_up_then_sign_in_reaches_the_same_account(browser, idp):
    first = await browser()
    assert (await (await first.get("/api/oidc/providers")).json())["providers"] == [{"name": "test", "label": "Test ID"}]
    done = await continue_with(first)
    assert done.status == 302 and done.headers["Location"] == "/?signed_up=1"
    me = (await (await first.get("/api/me")).json())["user"]
    assert me["username"] == "dana" and me["public_key"] is None  # the page makes the key next
    again = await browser()
    assert (await continue_with(again)).headers["Location"] == "/?signed_in=1"
    assert (await (await again.get("/api/me")).json())["user"]["id"] == me["id"]
    listed = await (await again.get("/api/me/identities")).json()
    assert [i["provider"] for i in listed["identities"]] == ["test"] and listed["password"] is False
    # The only way in cannot be unlinked.
    csrf = (await (await again.get("/api/me")).json())["csrf"]
    refused = await again.delete("/api/me/identities/test", headers={"X-CSRF-Token": csrf})
    assert refused.status == 409


async def test_a_social_account_has_no_password_to_guess(browser):
    client = await browser()
    await continue_with(client)
    from tests.helpers import page_csrf
    csrf = await page_csrf(other := await browser())
    for guess in ("A" * 43 + "=", "!no-password" + "x" * 10):
        response = await other.post("/api/login", json={"username": "dana", "auth_key": guess},
                                    headers={"X-CSRF-Token": csrf})
        assert response.status == 401


async def test_linking_needs_the_password_then_social_sign_in_opens_that_account(browser, idp):
    client = await browser()
    alice = await register(client, "alice", 0)
    idp.subject = "alice-at-provider"
    assert (await client.get("/auth/oidc/test/start?link=1", allow_redirects=False)).status == 403
    wrong = await alice.post("/api/me/identities", {"provider": "test", "auth_key": "B" * 43 + "="})
    assert wrong.status == 401
    confirmed = await alice.post("/api/me/identities", {"provider": "test", "auth_key": "A" * 43 + "="})
    assert confirmed.status == 200
    done = await continue_with(client, (await confirmed.json())["start"])
    assert done.headers["Location"] == "/?linked=test"
    elsewhere = await browser()
    assert (await continue_with(elsewhere)).headers["Location"] == "/?signed_in=1"
    assert (await (await elsewhere.get("/api/me")).json())["user"]["id"] == alice.id
    # Alice still has her password, so she may unlink; then the identity opens nothing of hers.
    unlinked = await alice.client.delete("/api/me/identities/test", headers=alice.headers())
    assert unlinked.status == 200
    newcomer = await browser()
    assert (await continue_with(newcomer)).headers["Location"] == "/?signed_up=1"
    assert (await (await newcomer.get("/api/me")).json())["user"]["id"] != alice.id


async def test_an_identity_linked_elsewhere_cannot_be_linked_again(browser, idp):
    await continue_with(await browser())  # dana's identity now has its own account
    client = await browser()
    alice = await register(client, "alice", 0)
    confirmed = await alice.post("/api/me/identities", {"provider": "test", "auth_key": "A" * 43 + "="})
    refused = await continue_with(client, (await confirmed.json())["start"])
    assert refused.status == 409 and "another SealRoom account" in (await refused.json())["error"]["message"]


async def test_callback_without_the_starting_browser_or_with_a_bad_token_signs_nobody_in(browser, idp):
    client = await browser()
    response = await client.get("/auth/oidc/test/start", allow_redirects=False)
    async with aiohttp.ClientSession() as elsewhere, elsewhere.get(response.headers["Location"],
                                                                    allow_redirects=False) as at_provider:
        back = URL(at_provider.headers["Location"])
    stranger = await browser()  # the answer delivered to another browser (login CSRF)
    refused = await stranger.get(back.path_qs, allow_redirects=False)
    assert refused.status == 401 and (await stranger.get("/api/me")).status == 401
    idp.tamper = {"aud": "some-other-app"}
    bad = await continue_with(await browser())
    assert bad.status == 401 and "aud" in (await bad.json())["error"]["message"]


async def test_a_social_account_is_deleted_after_a_fresh_sign_in_at_the_provider(browser, site):
    from server import app_keys
    clock = site.app[app_keys.clock]
    client = await browser()
    await continue_with(client)
    csrf = (await (await client.get("/api/me")).json())["csrf"]
    clock.advance(timedelta(minutes=11))
    stale = await client.delete("/api/me", json={}, headers={"X-CSRF-Token": csrf})
    assert stale.status == 403 and "Sign in again" in (await stale.json())["error"]["message"]
    await continue_with(client)  # a fresh sign-in at the provider
    csrf = (await (await client.get("/api/me")).json())["csrf"]
    deleted = await client.delete("/api/me", json={}, headers={"X-CSRF-Token": csrf})
    assert deleted.status == 200 and (await deleted.json())["deleted"] == "dana"
    assert (await continue_with(await browser())).headers["Location"] == "/?signed_up=1"  # the identity went too
