"""Social sign-in in real Chromium: the full redirect flow through a real
OpenID Connect provider on loopback (tests/oidc_provider.py), then a
passphrase that only the person knows seals the end-to-end key."""

import asyncio
import json
import socket
import threading
import time

import pytest
from aiohttp import web
from playwright.sync_api import expect

from tests.browser.conftest import BOOT_TIMEOUT_MS, PASSWORD, PHONE, free_port, start_server
from tests.oidc_provider import Client, OidcTestProvider

PASSPHRASE = "a passphrase only dana knows"


@pytest.fixture
def idp():
    """The provider in a thread of its own: the browser test itself is synchronous."""
    provider = OidcTestProvider(clients={"sealroom": Client("sealroom", "s3cret", [])})
    port, loop = free_port(), asyncio.new_event_loop()
    runner = web.AppRunner(provider.app())

    def serve():
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    provider.issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            time.sleep(0.05)
    yield provider
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


@pytest.fixture
def server(tmp_path, idp):
    providers = [{"name": "test", "issuer": idp.issuer, "client_id": "sealroom", "client_secret": "s3cret",
                  "label": "Test ID"}]
    server = start_server(tmp_path / "data", tmp_path / "server.log", SEALROOM_OIDC_PROVIDERS=json.dumps(providers))
    idp.clients["sealroom"].redirect_uris.append(f"{server.url}/auth/oidc/test/callback")
    yield server
    server.stop()


def continue_with_provider(person, passphrase: str = PASSPHRASE) -> list[str]:
    """Clicks "Continue with Test ID" on the sign-in form, follows the redirects through the provider, and
    unlocks (or, on sign-up, seals) the key with the passphrase; returns the paths the page posted to."""
    posted = []
    person.page.on("request", lambda r: r.method == "POST" and posted.append(r.url.split("/", 3)[-1]))
    person.page.goto(person.server.url + "/")
    person.page.click("text=Continue with Test ID")  # painted by the server: no need to wait for Python
    expect(person.page.locator("#passphrase-form")).to_be_visible(timeout=BOOT_TIMEOUT_MS)
    expect(person.page.locator("#passphrase-username")).to_have_text("dana")
    person.page.fill("#passphrase", passphrase)
    if person.page.locator("#passphrase-again").is_visible():
        person.page.fill("#passphrase-again", passphrase)
    person.page.click("#passphrase-submit")
    person.page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
    return posted


def test_social_sign_up_then_sign_in_elsewhere_with_the_passphrase(people, server):
    page = people("visitor").page.request.get(server.url + "/").text()
    assert 'href="/auth/oidc/test/start"' in page and "Continue with Test ID" in page
    dana = people("dana")
    posted = continue_with_provider(dana)
    # Nothing derived from the passphrase goes to the server: no login, no registration with it.
    assert not any(path.startswith(("api/login", "api/register")) for path in posted), posted
    fingerprint = dana.page.locator("#my-fingerprint").text_content()
    assert fingerprint.strip()
    dana.settings()  # no password to change; the passphrase is explained instead
    expect(dana.page.locator("#password-panel")).to_be_hidden()
    expect(dana.page.locator("#account-passphrase-note")).to_contain_text("only you know")
    laptop = people("dana-laptop")  # another browser: the provider signs in, the passphrase opens the key
    laptop.page.goto(server.url + "/")
    laptop.page.click("text=Continue with Test ID")
    expect(laptop.page.locator("#passphrase-form")).to_be_visible(timeout=BOOT_TIMEOUT_MS)
    expect(laptop.page.locator("#passphrase-title")).to_have_text("Enter your key passphrase")
    expect(laptop.page.locator("#passphrase-again")).to_be_hidden()
    laptop.page.fill("#passphrase", "not the passphrase")
    laptop.page.click("#passphrase-submit")
    expect(laptop.page.locator("#passphrase-error")).to_have_text(
        "This passphrase does not open your key. Check it and try again.")
    laptop.page.fill("#passphrase", PASSPHRASE)
    laptop.page.click("#passphrase-submit")
    laptop.page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
    expect(laptop.page.locator("#my-fingerprint")).to_have_text(fingerprint)


def test_the_sign_up_passphrase_is_typed_twice_and_long(people, server):
    dana = people("dana")
    dana.page.goto(server.url + "/")
    dana.page.click("text=Continue with Test ID")
    expect(dana.page.locator("#passphrase-title")).to_have_text("Choose a key passphrase", timeout=BOOT_TIMEOUT_MS)
    dana.page.fill("#passphrase", "short")
    dana.page.fill("#passphrase-again", "short")
    dana.page.click("#passphrase-submit")
    expect(dana.page.locator("#passphrase-error")).to_have_text("Use a passphrase of at least 12 characters.")
    dana.page.fill("#passphrase", PASSPHRASE)
    dana.page.fill("#passphrase-again", PASSPHRASE + " typo")
    dana.page.click("#passphrase-submit")
    expect(dana.page.locator("#passphrase-error")).to_have_text("The two passphrases differ.")
    expect(dana.page.locator("#passphrase-form")).to_be_visible()


def identities(person):
    person.settings_panel("identities-panel")
    return person.page.locator('#identity-list li[data-provider="test"]')


def test_link_with_the_password_then_sign_in_through_the_provider_then_unlink(people, server, idp):
    alice = people("alice")
    alice.register()
    idp.subject = "alice-at-provider"
    row = identities(alice)
    expect(row.locator(".identity-status")).to_have_text("not linked")
    row.locator(".identity-link").click()
    alice.page.fill("#link-password", "not my password")
    alice.page.click("#link-submit")
    expect(alice.page.locator("#identity-error")).to_have_text("The current password is wrong. Nothing was changed.")
    alice.page.fill("#link-password", PASSWORD)
    alice.page.click("#link-submit")  # to the provider and back, signed in to the same account
    alice.page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
    expect(alice.page.locator("#toast")).to_have_text("Signing in with Test ID is now linked to your account.")
    assert "linked" not in alice.page.url
    expect(identities(alice).locator(".identity-status")).to_contain_text("linked since")

    laptop = people("alice-laptop")  # "Continue with" now opens alice's account; her password unlocks her key
    laptop.page.goto(server.url + "/")
    laptop.page.click("text=Continue with Test ID")
    expect(laptop.page.locator("#auth-error")).to_have_text("Enter your password to unlock your key in this tab.",
                                                            timeout=BOOT_TIMEOUT_MS)
    expect(laptop.page.locator("#auth-username")).to_have_value("alice")
    laptop.page.fill("#auth-password", PASSWORD)
    laptop.page.click("#auth-submit")
    laptop.page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
    expect(laptop.page.locator("#me-name")).to_have_text("alice")

    row = identities(alice)
    row.locator(".identity-unlink").click()
    expect(alice.page.locator("#toast")).to_have_text("Test ID no longer signs you in.")
    expect(row.locator(".identity-status")).to_have_text("not linked")
    newcomer = people("dana")  # the same provider account now makes an account of its own
    newcomer.page.goto(server.url + "/")
    newcomer.page.click("text=Continue with Test ID")
    expect(newcomer.page.locator("#passphrase-title")).to_have_text("Choose a key passphrase", timeout=BOOT_TIMEOUT_MS)


def test_the_only_way_to_sign_in_cannot_be_unlinked_and_the_account_can_be_deleted(people, server):
    dana = people("dana")
    continue_with_provider(dana)
    row = identities(dana)
    expect(row.locator(".identity-status")).to_contain_text("linked since")
    row.locator(".identity-unlink").click()
    expect(dana.page.locator("#identity-error")).to_have_text(
        "This is your only way to sign in: link another provider before you unlink this one.")
    expect(row.locator(".identity-status")).to_contain_text("linked since")
    # No password to type: the sign-in at the provider a moment ago stands for it.
    dana.page.click("#delete-account-panel > summary")
    expect(dana.page.locator("#delete-account-password")).to_be_hidden()
    dana.page.click("#delete-account-submit")
    expect(dana.page.locator("#auth-error")).to_contain_text("Your account dana was deleted")


def test_a_refusal_at_the_provider_brings_the_person_back_to_the_sign_in_form_with_the_reason(people, server, idp):
    idp.refuse = "access_denied"  # the person says no on the provider's consent screen
    visitor = people("visitor", **PHONE)
    visitor.page.goto(server.url + "/")
    with visitor.page.expect_response(lambda r: r.url.endswith("/api/me")):  # the page checks for a session
        visitor.page.click("text=Continue with Test ID")
    refused = "The sign-in was cancelled or refused at the provider. Nothing was changed."
    expect(visitor.page.locator("#auth-error")).to_have_text(refused)
    assert "oidc_error" not in visitor.page.url  # the code leaves the address bar once Python has read it
    visitor.page.click("#auth-switch")  # handled by Python, after its start has shown the form
    expect(visitor.page.locator("#auth-title")).to_have_text("Create your account")
    expect(visitor.page.locator("#auth-error")).to_have_text(refused)
    expect(visitor.page.locator("#auth-form")).to_be_visible()
    assert visitor.console_errors == []


def test_linking_an_identity_that_opens_another_account_says_so_in_settings(people, server):
    newcomer = people("dana")  # the provider's account signs up on its own first
    newcomer.page.goto(server.url + "/")
    newcomer.page.click("text=Continue with Test ID")
    expect(newcomer.page.locator("#passphrase-title")).to_have_text("Choose a key passphrase", timeout=BOOT_TIMEOUT_MS)
    alice = people("alice")
    alice.register()
    identities(alice).locator(".identity-link").click()
    alice.page.fill("#link-password", PASSWORD)
    alice.page.click("#link-submit")  # to the provider and back: refused, alice stays signed in
    alice.page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
    expect(alice.page.locator("#settings")).to_be_visible()
    expect(alice.page.locator("#identity-error")).to_have_text(
        "This sign-in is already linked to another SealRoom account.")
    expect(alice.page.locator('#identity-list li[data-provider="test"] .identity-status')).to_have_text("not linked")
    assert "oidc_error" not in alice.page.url
    expect(alice.page.locator("#me-name")).to_have_text("alice")
