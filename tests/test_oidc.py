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

import html  # noqa: E402
import re  # noqa: E402

from server.app import create_app  # noqa: E402
from server.http.oidc import PENDING_COOKIE  # noqa: E402
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
    unconfirmed = await client.get("/auth/oidc/test/start?link=1", allow_redirects=False)
    assert unconfirmed.status == 302 and unconfirmed.headers["Location"] == "/?oidc_error=unconfirmed"
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
    # Back to the page, which says why where the link began; alice's account links nothing.
    assert refused.status == 302 and refused.headers["Location"] == "/?oidc_error=linked_elsewhere"
    assert failure_shown(await (await client.get(refused.headers["Location"])).text()) == \
        "This sign-in is already linked to another SealRoom account."
    assert (await (await client.get("/api/me/identities")).json())["identities"] == []


async def test_callback_without_the_starting_browser_or_with_a_bad_token_signs_nobody_in(browser, idp):
    client = await browser()
    response = await client.get("/auth/oidc/test/start", allow_redirects=False)
    async with aiohttp.ClientSession() as elsewhere, elsewhere.get(response.headers["Location"],
                                                                    allow_redirects=False) as at_provider:
        back = URL(at_provider.headers["Location"])
    stranger = await browser()  # the answer delivered to another browser (login CSRF)
    refused = await stranger.get(back.path_qs, allow_redirects=False)
    assert refused.headers["Location"] == "/?oidc_error=expired" and (await stranger.get("/api/me")).status == 401
    idp.tamper = {"aud": "some-other-app"}
    bad = await continue_with(signed_out := await browser())
    assert bad.status == 302 and bad.headers["Location"] == "/?oidc_error=refused"
    assert (await signed_out.get("/api/me")).status == 401


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


# ---- failures land on the page, with a sentence in the reader's language -----------------

def failure_shown(page: str) -> str | None:
    """The text of the page's #auth-error when the server painted it visible, else None."""
    found = re.search(r'<p id="auth-error" class="error" role="alert"( hidden)?>([^<]*)</p>', page)
    return None if found.group(1) else html.unescape(found.group(2))


async def test_a_refusal_at_the_provider_lands_on_the_sign_in_page_in_the_readers_language(browser, idp):
    client = await browser()
    idp.refuse = "access_denied"
    denied = await continue_with(client)
    assert denied.status == 302 and denied.headers["Location"] == "/?oidc_error=denied"
    assert not any(cookie.key == PENDING_COOKIE for cookie in client.session.cookie_jar)  # the login is over
    assert (await client.get("/api/me")).status == 401
    english = await client.get(denied.headers["Location"], headers={"Accept-Language": "en"})
    assert english.status == 200 and english.content_type == "text/html"
    assert failure_shown(await english.text()) == \
        "The sign-in was cancelled or refused at the provider. Nothing was changed."
    vietnamese = await client.get(denied.headers["Location"], headers={"Accept-Language": "vi-VN,vi;q=0.9"})
    assert failure_shown(await vietnamese.text()) == \
        "Lần đăng nhập đã bị hủy hoặc bị từ chối tại nhà cung cấp. Không có gì thay đổi."
    assert failure_shown(await (await client.get("/")).text()) is None  # no failure, nothing shown


async def test_any_other_provider_error_is_a_refusal_and_never_reflected(browser, idp):
    idp.refuse = "temporarily_unavailable<b>"
    refused = await continue_with(await browser())
    assert refused.headers["Location"] == "/?oidc_error=refused"


async def test_an_error_answer_for_another_login_does_not_end_this_one_as_refused(browser):
    client = await browser()
    started = await client.get("/auth/oidc/test/start", allow_redirects=False)
    assert started.status == 302
    forged = await client.get("/auth/oidc/test/callback?error=access_denied&state=forged", allow_redirects=False)
    assert forged.headers["Location"] == "/?oidc_error=expired"


async def test_a_crafted_code_in_the_address_cannot_put_text_in_the_page(browser):
    client = await browser()
    crafted = "<script>alert(1)</script>Your account was deleted"
    page = await (await client.get("/", params={"oidc_error": crafted})).text()
    assert failure_shown(page) == "Signing in through the provider did not work. Start again."
    assert "alert(1)" not in page and "Your account was deleted" not in page
    for code in ("", "__class__", "denied "):  # nothing but an exact code picks a sentence
        shown = failure_shown(await (await client.get("/", params={"oidc_error": code})).text())
        assert shown == "Signing in through the provider did not work. Start again.", code


async def test_unknown_provider_and_missing_code_land_on_the_page_while_the_api_keeps_json(browser):
    client = await browser()
    for path in ("/auth/oidc/nowhere/start", "/auth/oidc/nowhere/callback?code=x&state=y"):
        response = await client.get(path, allow_redirects=False)
        assert response.status == 302 and response.headers["Location"] == "/?oidc_error=unknown_provider", path
    page = await (await client.get("/?oidc_error=unknown_provider", headers={"Accept-Language": "vi"})).text()
    assert failure_shown(page) == "Máy chủ này không có nhà cung cấp đăng nhập đó."
    started = await client.get("/auth/oidc/test/start", allow_redirects=False)
    state = URL(started.headers["Location"]).query["state"]
    no_code = await client.get(f"/auth/oidc/test/callback?state={state}", allow_redirects=False)
    assert no_code.headers["Location"] == "/?oidc_error=refused" and (await client.get("/api/me")).status == 401
    alice = await register(client, "alice", 0)
    api = await alice.post("/api/me/identities", {"provider": "nowhere", "auth_key": "A" * 43 + "="})
    assert api.status == 404 and api.content_type == "application/json"
    assert (await api.json())["error"]["code"] == "not_found"
