"""Verifying each other in the browser: safety numbers, QR codes, pins, key changes."""

import asyncio
import base64
import json
import secrets
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import segno
from playwright.sync_api import expect

from pyclient.crypto.pure import PureBackend
from tests.browser.conftest import DESKTOP
from pyclient.protocol.envelope import encode_envelope, seal
from tests.vectors.generate import load_keys


def member(person, username: str):
    return person.page.locator(f'#member-list li[data-user="{username}"]')


def test_safety_number_is_shown_as_digits_and_as_a_qr_code_of_the_same_digits(people):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("QR", ["bob"])
    bob.open_room("QR")
    numbers = []
    for person, other in ((alice, "bob"), (bob, "alice")):
        shown = member(person, other).locator(".safety-number")
        digits = "".join(shown.locator(".safety-digits").text_content().split())  # 12 groups of 5, as read aloud
        assert shown.get_attribute("data-number") == digits
        qr = member(person, other).locator("img.safety-qr-code")
        assert qr.get_attribute("data-number") == digits
        assert qr.get_attribute("src") == segno.make(digits, error="m", micro=False).svg_data_uri(scale=4)
        numbers.append(digits)
    assert numbers[0] == numbers[1] and len(numbers[0]) == 60


def test_mark_as_verified_is_remembered_in_this_browser(people):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Verify", ["bob"])
    expect(member(alice, "bob")).to_have_attribute("data-trust", "unverified")
    member(alice, "bob").locator(".verify-button").click()
    expect(member(alice, "bob")).to_have_attribute("data-trust", "verified")
    expect(member(alice, "bob").locator(".trust-verified")).to_have_text("✓ You verified this key")
    alice.reload()
    alice.open_room("Verify")
    expect(member(alice, "bob")).to_have_attribute("data-trust", "verified")


def _impersonate(server, room_name: str, victim: str, text: str) -> None:
    """What a malicious server does: swap the victim's public key for its own and
    post a message signed with the matching private key."""
    mallory = load_keys()["mallory"]
    mallory_private, mallory_public = base64.b64decode(mallory["private_key"]), base64.b64decode(mallory["public_key"])
    database = sqlite3.connect(server.data_dir / "sealroom.db")
    victim_id, = database.execute("SELECT id FROM users WHERE username = ?", (victim,)).fetchone()
    room_id, = database.execute("SELECT id FROM rooms WHERE name = ?", (room_name,)).fetchone()
    members = database.execute("SELECT u.id, u.public_key FROM members m JOIN users u ON u.id = m.user_id "
                               "WHERE m.room_id = ?", (room_id,)).fetchall()
    recipients = {user_id: (mallory_public if user_id == victim_id else key) for user_id, key in members}
    sealing = seal(PureBackend(), room=room_id, sender=victim_id, message_id=secrets.token_hex(16),
                                sender_private_key=mallory_private, recipients=recipients,
                                payload={"kind": "text", "body": text}, random_bytes=secrets.token_bytes)
    with ThreadPoolExecutor(1) as thread:  # sync Playwright holds this thread's event loop
        envelope = thread.submit(asyncio.run, sealing).result()
    created_at, = database.execute("SELECT created_at FROM envelopes ORDER BY seq DESC LIMIT 1").fetchone()
    with database:
        database.execute("UPDATE users SET public_key = ? WHERE id = ?", (mallory_public, victim_id))
        database.execute("INSERT INTO envelopes (room_id, message_id, sender_id, body, created_at) "
                         "VALUES (?, ?, ?, ?, ?)",
                         (room_id, envelope.id, victim_id, json.dumps(encode_envelope(envelope)), created_at))
    database.close()


def test_server_swapping_a_members_key_warns_every_member(people, server):
    alice, bob, carol = people("alice"), people("bob"), people("carol")
    for person in (alice, bob, carol):
        person.register()
    alice.create_room("Swap", ["bob", "carol"])
    bob.open_room("Swap")
    bob.send("the real bob")
    carol.open_room("Swap")
    expect(carol.messages()).to_have_count(1)
    member(alice, "bob").locator(".verify-button").click()
    expect(member(alice, "bob")).to_have_attribute("data-trust", "verified")

    _impersonate(server, "Swap", "bob", "send the money to mallory")

    for person in (alice, carol):
        person.reload()
        person.open_room("Swap")
        expect(person.page.locator("#key-warning")).to_be_visible()
        expect(person.page.locator("#key-warning")).to_contain_text("the key of bob changed")
        expect(member(person, "bob")).to_have_attribute("data-trust", "changed")
        expect(member(person, "bob").locator(".key-changed")).to_be_visible()
        real, fake = person.messages().nth(0), person.messages().nth(1)
        expect(real).to_have_attribute("data-status", "verified")  # still checked against the pinned key
        expect(fake).to_have_attribute("data-status", "unverified")
        expect(fake).to_have_attribute("data-failed", "key_changed")
        expect(fake.locator(".badge")).to_have_text("⚠ Unverified key: bob's key changed")

    # Nothing is sealed to the swapped key until the user has verified it.
    alice.page.fill("#composer-text", "are you really bob?")
    alice.page.click("#send")
    expect(alice.page.locator("#composer-error")).to_contain_text("key changed")
    expect(alice.messages()).to_have_count(2)

    # Verifying the new key (after comparing safety numbers) clears the warning,
    # and the message signed by the key verified earlier still verifies.
    member(alice, "bob").locator(".verify-button").click()
    expect(alice.page.locator("#key-warning")).to_be_hidden()
    expect(alice.page.locator('#messages .message[data-status="verified"]')).to_have_count(2)


def test_in_the_desktop_drawer_a_person_is_verified_and_verified_again_after_their_key_changes(people):
    alice, bob = people("alice", **DESKTOP), people("bob", **DESKTOP)
    alice.register()
    bob.register()
    alice.create_room("Drawer", ["bob"])
    bob.open_room("Drawer")
    bob.send("hello from bob")
    drawer, row = alice.page.locator("#details"), member(alice, "bob")
    expect(drawer).to_be_visible()  # a desktop shows the drawer beside the conversation
    alice.page.click("#details-toggle")
    expect(drawer).to_be_hidden()  # and it closes
    alice.page.click("#details-toggle")
    expect(drawer).to_be_visible()
    expect(alice.page.locator("#details-back")).to_be_focused()

    # Compare: both drawers show the same 60 digits, also as a QR code on demand.
    expect(row.locator(".trust-chip")).to_have_text("Not verified")
    number = row.locator(".safety-number").get_attribute("data-number")
    assert member(bob, "alice").locator(".safety-number").get_attribute("data-number") == number
    expect(row.locator("img.safety-qr-code")).to_be_hidden()
    row.locator(".safety-qr summary").click()
    expect(row.locator("img.safety-qr-code")).to_be_visible()
    row.locator(".verify-button").click()
    expect(row).to_have_attribute("data-trust", "verified")
    expect(row.locator(".trust-chip")).to_have_text("Verified")
    expect(alice.page.locator("#toast")).to_contain_text("You verified bob's key.")
    expect(alice.messages().last).to_have_attribute("data-status", "verified")

    # bob makes a new key pair: alice's page learns it at once, and says so loudly.
    old_fingerprint = bob.page.text_content("#my-fingerprint")
    bob.settings()
    bob.page.click("#rotate-panel summary")
    bob.page.click("#rotate-submit")
    expect(bob.page.locator("#my-fingerprint")).not_to_have_text(old_fingerprint)
    expect(row).to_have_attribute("data-trust", "changed")
    expect(row.locator(".trust-chip")).to_have_text("Key changed")
    expect(row.locator(".key-changed")).to_be_visible()
    expect(alice.page.locator("#key-warning")).to_contain_text("the key of bob changed")
    bob.open_room("Drawer")
    bob.send("my new key")
    card = alice.messages().last
    expect(card).to_have_attribute("data-failed", "key_changed")  # a warning card, never a bubble
    expect(card).to_have_class("message warning-card")
    expect(card.locator(".badge")).to_have_text("⚠ Unverified key: bob's key changed")
    expect(alice.messages().first).to_have_attribute("data-status", "verified")  # the old key still counts

    # A new key, a new safety number: compared and verified again, the warnings go.
    new_number = row.locator(".safety-number").get_attribute("data-number")
    assert new_number != number and member(bob, "alice").locator(".safety-number").get_attribute("data-number") == new_number
    row.locator(".verify-button").click()
    expect(alice.page.locator("#key-warning")).to_be_hidden()
    expect(row.locator(".trust-chip")).to_have_text("Verified")
    expect(alice.page.locator("#messages .warning-card")).to_have_count(0)
    expect(alice.page.locator('#messages .message[data-status="verified"]')).to_have_count(2)
