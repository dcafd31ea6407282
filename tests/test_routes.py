"""Screens as URL fragments: every screen round-trips, and junk falls back to the room list."""

import pytest

from pyclient.routes import fragment, parse

ROOM = "3f2a" * 8


@pytest.mark.parametrize("screen, room", [("list", None), ("room", ROOM), ("details", ROOM), ("settings", None)])
def test_every_screen_round_trips(screen, room):
    assert parse(fragment(screen, room)) == (screen, room)


@pytest.mark.parametrize("junk", ["", "#", "#/room/", "#/room/XYZ", "#/room/abc/extra", "#/settings/x",
                                  "#/room/" + "a" * 65, "javascript:alert(1)"])
def test_unknown_fragments_show_the_room_list(junk):
    assert parse(junk) == ("list", None)
