"""Which key verifies a message, and how far the reader trusts it (pyclient.messages).

Real envelopes, sealed and opened with the native backend: no browser, no server.
"""

import base64
import secrets

import pytest

from pyclient import trust
from pyclient.crypto.native import NativeBackend
from pyclient.errors import BadSignature
from pyclient.messages import NOT_A_MEMBER, claimed_sender, open_message, signer_candidates
from pyclient.protocol.envelope import encode_envelope, seal
from pyclient.protocol.keys import fingerprint
from tests.vectors.generate import load_keys

ROOM, ALICE, BOB = "a" * 32, "b" * 32, "c" * 32


def pair(name):
    keys = load_keys()[name]
    return base64.b64decode(keys["private_key"]), base64.b64decode(keys["public_key"])


def member(user_id, public_key, earlier=()):
    return {"id": user_id, "public_key": base64.b64encode(public_key).decode(), "fingerprint": fingerprint(public_key).hex(),
            "earlier_keys": [base64.b64encode(key).decode() for key in earlier]}


async def sealed_by(sender_id, signing_private_key, recipients):
    return await seal(NativeBackend(), room=ROOM, sender=sender_id, message_id=secrets.token_hex(16),
                      sender_private_key=signing_private_key, recipients=recipients,
                      payload={"kind": "text", "body": "hello"}, random_bytes=secrets.token_bytes)


async def read_as_bob(envelope, sender, candidates):
    bob_private, bob_public = pair("bob")
    return await open_message(NativeBackend(), envelope, room=ROOM, me=BOB, sender=sender, candidates=candidates,
                              my_private_key=bob_private, my_public_key=bob_public)


def pin_of(public_key):
    return trust.first_pin(fingerprint(public_key).hex(), base64.b64encode(public_key).decode())


async def test_a_message_under_the_pinned_key_is_trusted():
    alice_private, alice_public = pair("alice")
    _, bob_public = pair("bob")
    envelope = await sealed_by(ALICE, alice_private, {ALICE: alice_public, BOB: bob_public})
    alice = member(ALICE, alice_public)
    opened = await read_as_bob(envelope, alice, signer_candidates(alice, me=BOB, own_keys=[], pin=pin_of(alice_public)))
    assert opened.payload["body"] == "hello" and opened.trusted and opened.signer_key == alice_public


async def test_a_server_swapped_key_opens_the_message_but_never_as_trusted():
    """The server shows mallory's key as alice's and signs with it: the pin still says alice's old key."""
    _, alice_public = pair("alice")
    mallory_private, mallory_public = pair("mallory")
    _, bob_public = pair("bob")
    envelope = await sealed_by(ALICE, mallory_private, {ALICE: mallory_public, BOB: bob_public})
    swapped = member(ALICE, mallory_public)
    candidates = signer_candidates(swapped, me=BOB, own_keys=[], pin=pin_of(alice_public))
    assert candidates == [(alice_public, True), (mallory_public, False)]
    opened = await read_as_bob(envelope, swapped, candidates)
    assert not opened.trusted and opened.signer_key == mallory_public


async def test_a_message_under_a_key_the_reader_trusted_before_still_verifies():
    """Alice rotated to mallory's key pair (a stand-in for a new key) and bob verified it: old messages stay verified."""
    alice_private, alice_public = pair("alice")
    _, new_public = pair("mallory")
    _, bob_public = pair("bob")
    old_message = await sealed_by(ALICE, alice_private, {ALICE: alice_public, BOB: bob_public})
    pin = trust.mark_verified(pin_of(alice_public), fingerprint(new_public).hex(), base64.b64encode(new_public).decode())
    rotated = member(ALICE, new_public, earlier=[alice_public])
    opened = await read_as_bob(old_message, rotated, signer_candidates(rotated, me=BOB, own_keys=[], pin=pin))
    assert opened.trusted and opened.signer_key == alice_public


async def test_ones_own_messages_verify_under_any_of_ones_own_keys():
    bob_private, bob_public = pair("bob")
    _, old_public = pair("mallory")
    envelope = await sealed_by(BOB, bob_private, {BOB: bob_public})
    me = member(BOB, bob_public)
    candidates = signer_candidates(me, me=BOB, own_keys=[old_public, bob_public], pin=None)
    assert candidates == [(old_public, True), (bob_public, True)]
    opened = await read_as_bob(envelope, me, candidates)
    assert opened.trusted and opened.signer_key == bob_public


async def test_a_signature_no_known_key_verifies_is_refused():
    _, alice_public = pair("alice")
    mallory_private, _ = pair("mallory")
    _, bob_public = pair("bob")
    envelope = await sealed_by(ALICE, mallory_private, {ALICE: alice_public, BOB: bob_public})
    alice = member(ALICE, alice_public)
    with pytest.raises(BadSignature):
        await read_as_bob(envelope, alice, signer_candidates(alice, me=BOB, own_keys=[], pin=pin_of(alice_public)))


async def test_a_message_from_someone_not_in_the_room_is_refused_before_any_crypto():
    alice_private, alice_public = pair("alice")
    _, bob_public = pair("bob")
    envelope = await sealed_by(ALICE, alice_private, {ALICE: alice_public, BOB: bob_public})
    with pytest.raises(BadSignature, match=NOT_A_MEMBER):
        await read_as_bob(envelope, None, [])
    keyless = {"id": ALICE, "public_key": None}
    with pytest.raises(BadSignature, match=NOT_A_MEMBER):
        await read_as_bob(envelope, keyless, [(alice_public, True)])


async def test_the_claimed_sender_is_read_without_checks_and_garbage_has_none():
    alice_private, alice_public = pair("alice")
    envelope = await sealed_by(ALICE, alice_private, {ALICE: alice_public})
    assert claimed_sender(encode_envelope(envelope)) == ALICE
    assert claimed_sender({"v": 1, "type": "message"}) is None
    assert claimed_sender("not an envelope") is None
