"""Two people in two browsers exchange a signed, encrypted message."""

import base64
import re
import json
import sqlite3

from playwright.sync_api import expect

from .conftest import behind_link


def _safety_number(person, other: str) -> str:
    return person.page.locator(f'#member-list li[data-user="{other}"] .safety-number').get_attribute("data-number")


def test_two_people_exchange_a_verified_message(people, server):
    alice, bob = people("alice"), people("bob")
    alice.register()
    assert int(alice.page.get_attribute("body", "data-keygen-ms")) >= 0
    assert len(alice.page.text_content("#my-fingerprint").split()) == 16
    bob.register()

    alice.create_room("Plans", ["bob"])
    bob.open_room("Plans")  # pushed to Bob's room list over the WebSocket
    for person, other in ((alice, "bob"), (bob, "alice")):
        expect(person.page.locator(f'#member-list li[data-user="{other}"] .fingerprint')).to_contain_text("Fingerprint")
    assert _safety_number(alice, "bob") == _safety_number(bob, "alice")
    assert len(_safety_number(alice, "bob")) == 60

    alice.send("Xin chào Bob, see you at 7")
    for person in (bob, alice):
        message = person.messages().last
        expect(message).to_have_attribute("data-status", "verified")
        expect(message.locator(".body")).to_have_text("Xin chào Bob, see you at 7")
        expect(message.locator(".badge")).to_have_text("✓ Verified from alice")
    bob.send("Great, see you")
    expect(alice.messages()).to_have_count(2)
    expect(alice.messages().last).to_have_attribute("data-status", "verified")

    for person in (alice, bob):
        person.reload()
        person.open_room("Plans")
        expect(person.messages()).to_have_count(2)
        expect(person.messages().first.locator(".body")).to_have_text("Xin chào Bob, see you at 7")
        expect(person.page.locator('#messages .message[data-status="verified"]')).to_have_count(2)

    alice.settings()
    alice.page.click("#logout")
    expect(alice.page.locator("#auth")).to_be_visible()
    assert alice.page.request.get(server.url + "/api/me").status == 401


def test_a_new_browser_restores_the_key_from_the_encrypted_backup(people):
    alice = people("alice")
    alice.register()
    fingerprint = alice.page.text_content("#my-fingerprint")
    laptop = people("alice")
    laptop.goto()
    laptop.sign_in_form()
    assert laptop.page.text_content("#my-fingerprint") == fingerprint


def test_wrong_password_shows_a_clear_error(people):
    alice = people("alice")
    alice.register()
    other = people("alice")
    other.goto()
    other.page.fill("#auth-username", "alice")
    other.page.fill("#auth-password", "not the password")
    other.page.click("#auth-submit")
    expect(other.page.locator("#auth-error")).to_have_text("Wrong username or password.")


def _scan(server, needle: bytes) -> list[str]:
    hits = []
    for path in [*server.data_dir.rglob("*"), server.log_path]:
        if path.is_file() and needle in path.read_bytes():
            hits.append(str(path))
    return hits


def test_server_never_sees_plaintext(people, server):
    sentinel = "SENTINEL-7f3a9c-plaintext-must-not-reach-server"
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Secrets", ["bob"])
    alice.send(sentinel)
    bob.open_room("Secrets")
    expect(bob.messages().last.locator(".body")).to_have_text(sentinel)  # the message did travel
    server.stop()  # flush the SQLite WAL into the database file before scanning
    for encoding in (sentinel.encode(), sentinel.encode("utf-16-le"), base64.b64encode(sentinel.encode())):
        assert _scan(server, encoding) == []


def test_tampered_envelope_is_flagged_unverified(people, server):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Tamper", ["bob"])
    alice.send("original words")
    alice.send("second message")
    bob.open_room("Tamper")
    expect(bob.messages()).to_have_count(2)

    database = sqlite3.connect(server.data_dir / "sealroom.db")
    rows = database.execute("SELECT seq, body FROM envelopes ORDER BY seq").fetchall()
    seq, body = rows[0]
    envelope = json.loads(body)
    ciphertext = bytearray(base64.b64decode(envelope["ct"]))
    ciphertext[0] ^= 0x01
    envelope["ct"] = base64.b64encode(bytes(ciphertext)).decode()
    with database:
        database.execute("UPDATE envelopes SET body = ? WHERE seq = ?", (json.dumps(envelope), seq))
    database.close()

    bob.reload()
    bob.open_room("Tamper")
    tampered, intact = bob.messages().nth(0), bob.messages().nth(1)
    expect(tampered).to_have_attribute("data-status", "unverified")
    expect(tampered).to_have_attribute("data-failed", "bad_signature")
    expect(tampered.locator(".badge")).to_have_text("⚠ Unverified")
    expect(tampered).not_to_contain_text("original words")
    expect(intact).to_have_attribute("data-status", "verified")


def test_sessions_can_be_listed_and_signed_out_remotely(people, server):
    phone, laptop = people("alice"), people("alice")
    phone.register()
    laptop.goto()
    laptop.sign_in_form()
    phone.settings()
    phone.page.click("#sessions-panel summary")
    sessions = phone.page.locator("#session-list li")
    expect(sessions).to_have_count(2)
    phone.page.locator('#session-list li[data-current="false"] button').click()
    expect(sessions).to_have_count(1)
    assert laptop.page.request.get(server.url + "/api/me").status == 401
    assert phone.page.request.get(server.url + "/api/me").status == 200
    expect(laptop.page.locator("#auth-error")).to_have_text("This browser was signed out. Sign in again to continue.")


def test_invite_link_brings_a_new_member_into_the_room(people):
    alice, carol = people("alice"), people("carol")
    alice.register()
    carol.register()
    alice.create_room("Party", [])
    alice.page.click("#invite-create")
    link = alice.page.locator("#invite-url")
    expect(link).to_have_value(re.compile(r"/\?invite="))
    carol.page.goto(link.input_value())
    carol.wait_booted()
    expect(carol.page.locator("#room-name")).to_have_text("Party")
    expect(alice.page.locator('#member-list li[data-user="carol"]')).to_be_visible()
    alice.send("welcome, carol")
    expect(carol.messages().last.locator(".body")).to_have_text("welcome, carol")


def test_messages_sent_while_a_reader_was_offline_appear_after_reconnect(people, server):
    alice, bob = people("alice"), people("bob")
    with behind_link(bob, server) as link:
        alice.register()
        bob.register()
        alice.create_room("Gaps", ["bob"])
        bob.open_room("Gaps")
        link.down()  # the network is down: every reconnect fails
        alice.send("sent during the gap")
        bob.page.wait_for_timeout(2500)
        expect(bob.messages()).to_have_count(0)
        link.up()
        expect(bob.messages().last.locator(".body")).to_have_text("sent during the gap")
        expect(bob.messages()).to_have_count(1)  # caught up once, not twice


def test_renaming_a_room_shows_for_every_member(people):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Plans", ["bob"])
    bob.open_room("Plans")
    alice.page.click("#rename-panel summary")
    alice.page.fill("#rename-name", "Du lịch Đà Lạt")
    alice.page.click("#rename-form button[type=submit]")
    for person in (alice, bob):
        expect(person.page.locator("#room-name")).to_have_text("Du lịch Đà Lạt")
        expect(person.page.locator("#room-list button", has_text="Du lịch Đà Lạt")).to_be_visible()
