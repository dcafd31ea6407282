"""Unread counts: what arrives while the person looks elsewhere counts once, and reading clears it."""

from pyclient.unread import Unread, is_news, title, toasts


def test_messages_in_another_room_count_and_reading_clears_them():
    unread = Unread()
    assert unread.arrived("a", 1, looking=False) and unread.arrived("a", 2, looking=False)
    assert not unread.arrived("b", 1, looking=True)
    assert (unread.count("a"), unread.count("b"), unread.total) == (2, 0, 2)
    unread.read("a")
    assert unread.total == 0 and title(unread.total) == "SealRoom"


def test_a_message_seen_twice_counts_once():
    unread = Unread()
    unread.arrived("a", 5, looking=False)
    assert not unread.arrived("a", 5, looking=False)  # the catch-up after a reconnect
    assert not unread.arrived("a", 4, looking=False)  # older history
    assert unread.count("a") == 1 and title(1) == "(1) SealRoom"


def test_an_expired_room_leaves_no_count():
    unread = Unread()
    unread.arrived("a", 1, looking=False)
    unread.forget("a")
    assert unread.total == 0 and unread.arrived("a", 1, looking=False)


def test_what_this_person_wrote_on_another_device_is_no_news_to_them():
    assert not is_news("me", "me")
    assert is_news("ann", "me")
    assert is_news(None, "me")  # an envelope that does not parse still counts (it will show as a warning)


def test_a_toast_tells_of_messages_in_rooms_other_than_the_open_one():
    assert toasts("a", None) and toasts("a", "b")
    assert not toasts("a", "a")
