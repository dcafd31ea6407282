"""A display name never shows without the username beside it."""

from pyclient.names import label


def test_a_display_name_comes_with_the_username():
    assert label({"username": "lan", "display_name": "Nguyễn Thị Lan"}) == "Nguyễn Thị Lan (lan)"


def test_no_display_name_shows_the_username_alone():
    assert label({"username": "lan", "display_name": None}) == "lan"
    assert label({"username": "lan"}) == "lan"
    assert label({"username": "lan", "display_name": "lan"}) == "lan"


def test_a_display_name_copying_another_username_still_shows_its_own():
    assert label({"username": "mallory", "display_name": "alice"}) == "alice (mallory)"
