"""Pinning rules (pyclient.trust), without a browser."""

from pyclient import trust


def test_first_use_pins_unverified_and_a_new_key_is_a_change():
    pin = trust.first_pin("aa", "KEY-A")
    assert trust.status(pin, "aa") == trust.FIRST_SEEN
    assert trust.status(pin, "bb") == trust.CHANGED
    assert trust.signer_keys(pin, "KEY-B") == [("KEY-A", True), ("KEY-B", False)]


def test_verifying_a_changed_key_keeps_the_old_one_for_old_messages():
    pin = trust.mark_verified(trust.first_pin("aa", "KEY-A"), "bb", "KEY-B")
    assert trust.status(pin, "bb") == trust.VERIFIED
    assert trust.signer_keys(pin, "KEY-B") == [("KEY-B", True), ("KEY-A", True)]


def test_a_server_swapped_key_is_never_trusted_until_verified():
    pin = trust.mark_verified(trust.first_pin("aa", "KEY-A"), "aa", "KEY-A")
    assert trust.status(pin, "ee") == trust.CHANGED
    assert ("KEY-EVIL", True) not in trust.signer_keys(pin, "KEY-EVIL")


def test_earlier_keys_are_pinned_on_first_sight_and_later_additions_are_not_trusted():
    old, new, forged = "T0xE", "TkVX", "RkFLRQ=="
    pin = trust.first_pin("ff", new, [old])
    assert trust.signer_keys(pin, new, [old]) == [(new, True), (old, True)]
    assert trust.signer_keys(pin, new, [forged, old]) == [(new, True), (old, True), (forged, False)]
