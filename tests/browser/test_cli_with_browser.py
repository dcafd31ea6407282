"""A person in Chromium and a person on the ``sealroom`` CLI, in one room:
they compare safety numbers, then each sends text and a file that the other
verifies and opens, byte for byte."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect

from pyclient.protocol.keys import format_safety_number
from tests.browser import media
from tests.browser.conftest import PASSWORD


class Terminal:
    """The installed console script, as a separate process, with its own profile."""

    def __init__(self, tmp_path: Path):
        self.script = Path(sys.executable).with_name("sealroom")
        self.env = {**os.environ, "SEALROOM_PASSWORD": PASSWORD, "SEALROOM_PROFILE": str(tmp_path / "bob-profile")}

    def __call__(self, *argv) -> str:
        done = subprocess.run([self.script, "--quiet", *map(str, argv)], env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, f"sealroom {argv}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout


@pytest.fixture
def bob(tmp_path):
    return Terminal(tmp_path)


def test_cli_and_browser_exchange_verified_text_and_files(people, server, bob, tmp_path):
    bob("register", server.url, "--username", "bob")
    alice = people("alice")
    alice.register()
    alice.create_room("Bridge", ["bob"])

    # They compare safety numbers: the terminal's digits are the page's digits.
    page_number = alice.page.locator('.member[data-user="bob"] .safety-number').get_attribute("data-number")
    assert format_safety_number(page_number) in bob("verify", "alice", "--yes")
    alice.page.locator('.member[data-user="bob"] .verify-button').click()
    expect(alice.page.locator('.member[data-user="bob"]')).to_have_attribute("data-trust", "verified")

    # Terminal -> browser: text, then a PNG that previews inline and saves identical.
    bob("send", "Bridge", "Hello from the terminal ✉")
    message = alice.messages().last
    expect(message).to_have_attribute("data-status", "verified")
    expect(message.locator(".body")).to_have_text("Hello from the terminal ✉")
    png = media.png()
    (tmp_path / "photo.png").write_bytes(png)
    bob("send-file", "Bridge", tmp_path / "photo.png", "--text", "a picture")
    box = alice.page.locator('#messages .attachment[data-name="photo.png"]').last
    expect(box).to_have_attribute("data-state", "verified")
    expect(box.locator(".attachment-status")).to_have_text("✓ Verified from bob")
    expect(box.locator("img.preview")).to_be_visible()
    with alice.page.expect_download() as download:
        box.locator(".attachment-save").click()
    assert Path(download.value.path()).read_bytes() == png

    # Browser -> terminal: text and a PDF that the CLI verifies before it saves.
    alice.send("Hello from the browser 🌐")
    pdf = media.pdf()
    alice.attach([{"name": "menu.pdf", "mimeType": "application/pdf", "buffer": pdf}])
    alice.page.fill("#composer-text", "the menu")
    alice.page.click("#send")
    expect(alice.page.locator("#pending-files li")).to_have_count(0)
    listing = bob("read", "Bridge")
    assert "✓ [1]" in listing and "✓ [2]" in listing and "✓ [3]" in listing
    assert "alice: Hello from the browser 🌐" in listing and "📎 1. menu.pdf" in listing
    seq = next(line.split("]")[0].split("[")[1] for line in listing.splitlines() if "alice: the menu" in line)
    saved = bob("get-file", "Bridge", seq, "-o", tmp_path / "menu.pdf")
    assert saved.startswith("✓ Saved") and (tmp_path / "menu.pdf").read_bytes() == pdf


def test_browser_member_sees_cli_members_leave_and_rooms_deleted_live(people, server, bob):
    bob("register", server.url, "--username", "bob")
    alice = people("alice")
    alice.register()
    alice.create_room("Bridge", ["bob"])
    bob("room", "leave", "Bridge")
    expect(alice.page.locator("#toast")).to_have_text("bob left “Bridge”.")
    expect(alice.page.locator('.member[data-user="bob"]')).to_have_count(0)
    alice.send("only for me now")  # sealed for the members that are left
    expect(alice.messages().last).to_have_attribute("data-status", "verified")

    bob("room", "create", "Ops", "--member", "alice")
    alice.open_room("Ops")
    bob("room", "delete", "Ops", "--yes")
    expect(alice.page.locator("#toast")).to_have_text("“Ops” was deleted by its creator, with everything in it.")
    expect(alice.page.locator("#room-list button", has_text="Ops")).to_have_count(0)
    expect(alice.page.locator("#room")).to_be_hidden()
