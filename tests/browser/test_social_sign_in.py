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

from tests.browser.conftest import BOOT_TIMEOUT_MS, free_port, start_server
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


def continue_with_provider(person) -> list[str]:
    """Signs in through the provider and unlocks with the passphrase; the paths the page posted to."""
    posted = []
    person.page.on("request", lambda r: r.method == "POST" and posted.append(r.url.split("/", 3)[-1]))
    person.page.goto(person.server.url + "/auth/oidc/test/start")
    expect(person.page.locator("#auth-error")).to_contain_text("key passphrase", timeout=BOOT_TIMEOUT_MS)
    expect(person.page.locator("#auth-username")).to_have_value("dana")
    person.page.fill("#auth-password", PASSPHRASE)
    person.page.click("#auth-submit")
    person.page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
    return posted


def test_social_sign_up_then_sign_in_elsewhere_with_the_passphrase(people, server):
    dana = people("dana")
    posted = continue_with_provider(dana)
    # Nothing derived from the passphrase goes to the server: no login, no registration with it.
    assert not any(path.startswith(("api/login", "api/register")) for path in posted), posted
    fingerprint = dana.page.locator("#my-fingerprint").text_content()
    assert fingerprint.strip()
    laptop = people("dana-laptop")  # another browser: the provider signs in, the passphrase opens the key
    continue_with_provider(laptop)
    expect(laptop.page.locator("#my-fingerprint")).to_have_text(fingerprint)
