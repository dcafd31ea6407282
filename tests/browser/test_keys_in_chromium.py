"""The user's own key in the browser: key file export/import, optional server
backup, rotation, and the warning before logging out without a backup."""

import json
import sqlite3

from playwright.sync_api import expect

from tests import independent_decoder as spec

from .conftest import BOOT_TIMEOUT_MS, PASSWORD

PASSPHRASE = "a long passphrase for the key file"


def register_without_server_backup(person) -> None:
    person.goto()
    person.page.click("#auth-switch")
    person.page.uncheck("#auth-server-backup")
    person.sign_in_form()


def export_key_file(person, tmp_path) -> str:
    page = person.page
    if person.page.locator("#settings").is_hidden():
        person.settings()
    expect(page.locator("#export-panel")).to_have_attribute("open", "")
    page.fill("#export-passphrase", PASSPHRASE)
    page.fill("#export-passphrase-again", PASSPHRASE)
    with page.expect_download() as download:
        page.click("#export-submit")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    return str(path)


def test_key_file_moves_the_key_to_a_browser_when_the_server_keeps_no_backup(people, server, tmp_path):
    alice, bob = people("alice"), people("bob")
    register_without_server_backup(alice)
    bob.register()
    database = sqlite3.connect(server.data_dir / "sealroom.db")
    assert database.execute("SELECT key_backup FROM users WHERE username = 'alice'").fetchone() == (None,)
    database.close()
    expect(alice.page.locator("#backup-status")).to_contain_text("exists only in this browser")

    alice.settings()
    alice.page.click("#logout")  # no backup yet: a warning, not a logout
    expect(alice.page.locator("#toast")).to_contain_text("no backup of your key")
    expect(alice.page.locator("#chat")).to_be_visible()

    key_file = export_key_file(alice, tmp_path)
    expect(alice.page.locator("#backup-status")).to_contain_text("Key file exported")
    exported = json.loads(open(key_file).read())
    assert exported["iterations"] >= 600_000 and exported["type"] == "sealroom-key-export"
    contents = spec.open_key_export(exported, PASSPHRASE)  # the spec-only decoder opens it too
    assert len(contents["keys"]) == 1

    alice.create_room("Move", ["bob"])
    alice.send("written before the move")
    fingerprint = alice.page.text_content("#my-fingerprint")

    laptop = people("alice")
    laptop.goto()
    laptop.page.fill("#auth-username", "alice")
    laptop.page.fill("#auth-password", PASSWORD)
    laptop.page.click("#auth-submit")
    laptop.page.locator("#key-import:not([hidden])").wait_for(timeout=BOOT_TIMEOUT_MS)
    laptop.page.set_input_files("#import-file", key_file)
    laptop.page.fill("#import-passphrase", "not the passphrase")
    laptop.page.click("#import-submit")
    expect(laptop.page.locator("#import-error")).to_have_text("The passphrase is wrong, or the file was altered.")
    laptop.page.fill("#import-passphrase", PASSPHRASE)
    laptop.page.click("#import-submit")
    laptop.page.locator("body[data-ready]").wait_for(timeout=BOOT_TIMEOUT_MS)
    assert laptop.page.text_content("#my-fingerprint") == fingerprint
    laptop.open_room("Move")
    expect(laptop.messages().first).to_have_attribute("data-status", "verified")
    expect(laptop.messages().first.locator(".body")).to_have_text("written before the move")


def test_rotation_keeps_old_messages_readable_and_warns_contacts(people):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Rotate", ["bob"])
    alice.send("under the first key")
    bob.open_room("Rotate")
    expect(bob.messages()).to_have_count(1)
    old_fingerprint = alice.page.text_content("#my-fingerprint")

    alice.settings()
    alice.page.click("#rotate-panel summary")
    alice.page.click("#rotate-submit")
    expect(alice.page.locator("#my-fingerprint")).not_to_have_text(old_fingerprint)
    expect(alice.messages().first).to_have_attribute("data-status", "verified")  # her old key is kept
    alice.open_room("Rotate")
    alice.send("under the new key")
    expect(alice.messages().last).to_have_attribute("data-status", "verified")

    bob.reload()
    bob.open_room("Rotate")
    expect(bob.page.locator("#key-warning")).to_contain_text("the key of alice changed")
    expect(bob.messages().first).to_have_attribute("data-status", "verified")
    expect(bob.messages().last).to_have_attribute("data-failed", "key_changed")

    phone = people("alice")  # a new device restores both keys from the server backup
    phone.goto()
    phone.sign_in_form()
    phone.open_room("Rotate")
    expect(phone.page.locator('#messages .message[data-status="verified"]')).to_have_count(2)
    expect(phone.messages().first.locator(".body")).to_have_text("under the first key")
    bob_laptop = people("bob")  # no pins there: alice's old key comes from the server's list of earlier keys
    bob_laptop.goto()
    bob_laptop.sign_in_form()
    bob_laptop.open_room("Rotate")
    expect(bob_laptop.page.locator('#messages .message[data-status="verified"]')).to_have_count(2)
