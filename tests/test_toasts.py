"""Toasts: a burst of outcomes loses none of the newest, and none is cut before it can be read."""

from pyclient.toasts import LEAST, ToastQueue


def test_a_lone_toast_keeps_its_full_time_and_then_hides():
    queue = ToastQueue()
    assert queue.push("Sent.", 4, now=10)
    assert queue.due() == 14
    assert queue.next(14) is None and queue.shown is None and queue.due() is None


def test_a_second_toast_waits_instead_of_overwriting_the_first():
    queue = ToastQueue()
    queue.push("Connection lost. Reconnecting…", 4, now=0)
    assert not queue.push("Upload failed.", 4, now=1)
    assert queue.shown.text == "Connection lost. Reconnecting…"
    assert queue.due() == LEAST  # the first stays long enough to be read, then gives way
    assert queue.next(LEAST) == "Upload failed."
    assert queue.due() == LEAST + 4  # the last one keeps its full time
    assert queue.next(LEAST + 4) is None


def test_an_earlier_toasts_time_never_cuts_a_later_one_short():
    queue = ToastQueue()
    queue.push("A", 4, now=0)
    queue.next(4)
    assert queue.push("B", 4, now=3.9 + 0.2)  # the screen was empty again: B shows at once
    assert queue.due() == 4.1 + 4


def test_the_same_words_twice_are_one_toast():
    queue = ToastQueue()
    queue.push("Key changed.", 4, now=0)
    assert not queue.push("Key changed.", 4, now=3)
    assert queue.due() == 7 and queue.waiting == []  # shown longer, not twice
    queue.push("Other", 4, now=3)
    queue.push("Other", 4, now=3)
    assert queue.waiting == [("Other", 4)]


def test_a_long_burst_keeps_the_newest_outcomes():
    queue = ToastQueue(limit=3)
    queue.push("first", 4, now=0)
    for index in range(1, 6):
        queue.push(f"outcome {index}", 4, now=0)
    assert [text for text, _ in queue.waiting] == ["outcome 3", "outcome 4", "outcome 5"]
    shown = [queue.next(time) for time in (2.5, 5, 7.5)]
    assert shown == ["outcome 3", "outcome 4", "outcome 5"]
    assert queue.due() == 11.5 and queue.next(11.5) is None


def test_a_short_toast_is_not_held_longer_than_asked():
    queue = ToastQueue()
    queue.push("Link copied.", 1, now=0)
    queue.push("Next", 4, now=0)
    assert queue.due() == 1
