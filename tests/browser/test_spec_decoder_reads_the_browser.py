"""What the browser sends, opened by a decoder written from docs/protocol.md alone.

The decoder gets nothing from the page: it reads the server's database,
derives each user's keystore key from the password as section 4 says, opens
the sealed key backup (4.1) and then each envelope (5.2).
"""

import json
import sqlite3

from playwright.sync_api import expect

from tests import independent_decoder as spec

from .conftest import PASSWORD


def test_spec_only_decoder_opens_envelopes_made_in_the_browser(people, server):
    alice, bob = people("alice"), people("bob")
    alice.register()
    bob.register()
    alice.create_room("Spec", ["bob"])
    texts = ["Xin chào Bob 👋", "second line\nwith a newline", "x" * 5000]
    for text in texts[:2]:
        alice.send(text)
    bob.open_room("Spec")
    bob.send(texts[2])
    expect(alice.messages()).to_have_count(3)
    shown_number = "".join(alice.page.locator('#member-list li[data-user="bob"] .safety-digits')
                           .text_content().split())  # the digits a person reads

    database = sqlite3.connect(server.data_dir / "sealroom.db")
    users = {row[0]: row for row in database.execute("SELECT id, username, public_key, key_backup FROM users")}
    room_id, = database.execute("SELECT id FROM rooms").fetchone()
    envelopes = database.execute("SELECT sender_id, body FROM envelopes ORDER BY seq").fetchall()
    database.close()

    private_keys = {}
    for user_id, username, public_key, key_backup in users.values():
        _, keystore_key = spec.account_keys(username, PASSWORD)
        private_keys[user_id] = spec.open_sealed_key(keystore_key, user_id, public_key, key_backup)

    for (sender_id, body), text in zip(envelopes, texts, strict=True):
        for reader in users:
            payload = spec.open_envelope(json.loads(body), room=room_id, sender_spki=users[sender_id][2], me=reader,
                                         my_pkcs8=private_keys[reader], my_spki=users[reader][2])
            assert payload == {"kind": "text", "body": text}

    (a_id, _, a_key, _), (b_id, _, b_key, _) = users.values()
    assert spec.safety_number(a_id, a_key, b_id, b_key) == shown_number
