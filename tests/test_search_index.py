"""The Whoosh index: relevance table, privacy rules, rebuild (no sockets)."""

from datetime import datetime, timedelta, timezone

import pytest

from search_index import IndexUpdater, SearchIndex, room_event, room_removed_event, user_event
from search_index.index import QueryError, room_document, user_document

NOW = datetime(2026, 12, 1, 5, 0, tzinfo=timezone.utc)
LATER = NOW + timedelta(days=7)
ME = "me"

PEOPLE = {
    "u-nguyen": "nguyen", "u-nguyenvan": "Nguyễn.Văn", "u-nguyenvanan": "nguyen_van_an",
    "u-nguyet": "nguyet", "u-ngo": "ngo.bao", "u-duc": "Đức", "u-dung": "dung",
    "u-sarah": "sarah.connor", "u-sara": "sara", "u-stranger": "stranger.nguyen", "u-hidden": "hidden_person",
}
ROOMS = {
    "r-nguyen": ("Nhà Nguyễn", [ME, "u-nguyen"]),
    "r-vanan": ("Nguyễn Văn An fan club", [ME, "u-nguyenvan", "u-nguyenvanan"]),
    "r-sprint": ("Sprint planning", [ME, "u-sarah", "u-sara", "u-nguyet", "u-ngo", "u-duc", "u-dung"]),
    "r-doc": ("Đọc sách", [ME]),
    "r-secret": ("Nguyễn secret room", ["u-stranger", "u-hidden"]),  # not mine
    "r-old": ("Nguyễn old room", [ME]),  # expired, not yet swept
}


def _documents():
    yield user_document(user_event(ME, "me.myself"))
    for user_id, username in PEOPLE.items():
        yield user_document(user_event(user_id, username))
    for room_id, (name, members) in ROOMS.items():
        expires = NOW - timedelta(minutes=1) if room_id == "r-old" else LATER
        yield room_document(room_event(room_id, name, members, expires))


CO_MEMBERS = {m for _name, members in ROOMS.values() if ME in members for m in members}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    built = SearchIndex.create(tmp_path_factory.mktemp("search") / "search", _documents())
    yield built
    built.close()


def _search(index, query, user_id=ME, co_members=None):
    co_members = CO_MEMBERS - {"u-stranger"} if co_members is None else co_members
    return index.search(query, user_id=user_id, co_member_ids=co_members, now=NOW)


# query -> expected first results, in order (users, rooms)
RELEVANCE = [
    # exact first, then every word, then prefix, then typos
    ("nguyen", ["nguyen", "Nguyễn.Văn", "nguyen_van_an", "nguyet"], ["Nhà Nguyễn", "Nguyễn Văn An fan club"]),
    ("ngu", ["nguyen", "nguyet", "Nguyễn.Văn", "nguyen_van_an"], ["Nhà Nguyễn", "Nguyễn Văn An fan club"]),
    ("ngyuen", ["nguyen", "Nguyễn.Văn", "nguyen_van_an"], ["Nhà Nguyễn", "Nguyễn Văn An fan club"]),
    # Vietnamese diacritics, đ -> d, both directions
    ("nguyen van", ["Nguyễn.Văn", "nguyen_van_an"], ["Nguyễn Văn An fan club"]),
    ("Nguyễn", ["Nguyễn.Văn", "nguyen", "nguyen_van_an", "nguyet"], ["Nhà Nguyễn", "Nguyễn Văn An fan club"]),
    ("duc", ["Đức"], ["Đọc sách"]),  # doc is one typo from duc
    ("doc sach", [], ["Đọc sách"]),
    ("đọc", [], ["Đọc sách"]),
    # case and spaces
    ("  NGUYEN    VAN   AN ", ["nguyen_van_an", "Nguyễn.Văn"][:1], ["Nguyễn Văn An fan club"]),
    ("SPRINT", [], ["Sprint planning"]),
    # exact beats longer prefix matches; typos in a longer word
    ("sara", ["sara", "sarah.connor"], []),
    ("planing", [], ["Sprint planning"]),
    ("sprnit plan", [], ["Sprint planning"]),
]


@pytest.mark.parametrize("query, users, rooms", RELEVANCE)
def test_relevance(index, query, users, rooms):
    results = _search(index, query)
    assert [hit.name for hit in results.users][:len(users)] == users
    assert [hit.name for hit in results.rooms][:len(rooms)] == rooms


def test_match_kind_and_spans_are_reported(index):
    results = _search(index, "ngu")
    first = results.users[0].to_json()
    assert first["match"] == {"kind": "prefix", "field": "name", "spans": [[0, 3]], "typos": 0}
    room = results.rooms[0].to_json()
    assert room["name"] == "Nhà Nguyễn" and room["match"]["spans"] == [[4, 7]]


def test_non_member_never_sees_a_room(index):
    for query in ("nguyen", "secret", "nguyen secret room", "Nguyễn secret room", "secert"):
        assert "Nguyễn secret room" not in [hit.name for hit in _search(index, query).rooms]
    # ...while its members do.
    assert [hit.name for hit in _search(index, "secret", user_id="u-hidden", co_members={"u-stranger"}).rooms] == [
        "Nguyễn secret room"]


def test_expired_room_is_unreachable_before_the_sweeper_runs(index):
    assert "Nguyễn old room" not in [hit.name for hit in _search(index, "old room").rooms]


def test_stranger_is_found_only_by_exact_username(index):
    for query in ("stranger", "strange", "nguyen stranger", "nguyen", "strnger.nguyen", "hidden"):
        names = [hit.name for hit in _search(index, query).users]
        assert "stranger.nguyen" not in names and "hidden_person" not in names, query
    for query in ("stranger.nguyen", "STRANGER.NGUYEN", "stranger nguyen ", "hidden_person"):
        names = [hit.name for hit in _search(index, query).users]
        assert names[:1] and names[0] in ("stranger.nguyen", "hidden_person"), query


def test_co_member_is_found_by_prefix_and_typo(index):
    assert [hit.name for hit in _search(index, "conor").users] == ["sarah.connor"]


@pytest.mark.parametrize("query", ["", "   ", "...", "x" * 101, "a b c d e f g h i"])
def test_bad_queries_are_refused_with_a_reason(index, query):
    with pytest.raises(QueryError) as raised:
        _search(index, query)
    assert str(raised.value).endswith(".")


async def test_updater_applies_events_in_one_writer(tmp_path):
    updater = IndexUpdater(SearchIndex.create(tmp_path / "search"))
    updater.start()
    try:
        updater.submit(user_event("u1", "Trần Thị Bích"))
        updater.submit(user_event("u2", "bob"))
        updater.submit(room_event("r1", "Kế hoạch", ["u1", "u2"], LATER))
        updater.submit({"type": "search.room", "id": "r2"})  # malformed: logged and dropped
        await updater.flush()
        found = updater.index.search("ke hoach", user_id="u1", co_member_ids={"u2"}, now=NOW)
        assert [hit.id for hit in found.rooms] == ["r1"]
        assert [hit.id for hit in updater.index.search("bich", user_id="u2", co_member_ids={"u1"}, now=NOW).users] == ["u1"]

        updater.submit(room_event("r1", "Renamed", ["u1"], LATER))  # rename + u2 left
        await updater.flush()
        assert updater.index.search("ke hoach", user_id="u1", co_member_ids=set(), now=NOW).rooms == []
        assert updater.index.search("renamed", user_id="u2", co_member_ids=set(), now=NOW).rooms == []
        assert [hit.id for hit in updater.index.search("renamed", user_id="u1", co_member_ids=set(), now=NOW).rooms] == ["r1"]

        updater.remove_room("r1")
        await updater.flush()
        assert updater.index.search("renamed", user_id="u1", co_member_ids=set(), now=NOW).rooms == []
        assert updater.index.doc_count() == 2
    finally:
        await updater.close()
    # The index is on disk: a new process opens it as it was.
    reopened = SearchIndex.open(tmp_path / "search")
    assert reopened.doc_count() == 2
    reopened.close()


def test_room_removed_event_shape():
    assert room_removed_event("r1") == {"type": "search.room_removed", "id": "r1"}


def test_search_runs_on_the_pinned_whoosh_fork():
    """CI runs these tests on the fork requirements.txt pins (see search_index/__init__.py)."""
    import re
    from importlib import metadata
    from pathlib import Path

    pins = dict(re.findall(r"^(whoosh[\w-]*)==([\w.]+)$", (Path(__file__).parents[1] / "requirements.txt").read_text(), re.M))
    assert list(pins) == ["whoosh-reloaded"]
    assert metadata.version("whoosh-reloaded") == pins["whoosh-reloaded"]


async def test_an_index_update_keeps_the_scopes_it_does_not_touch(tmp_path):
    updater = IndexUpdater(SearchIndex.create(tmp_path / "search", _documents()))
    updater.start()
    try:
        index = updater.index
        _search(index, "sara")
        _search(index, "secret", user_id="u-hidden", co_members={"u-stranger"})
        built = index.scopes.built
        updater.submit(user_event("u-newcomer", "newcomer"))  # touches nobody's scope
        updater.submit(room_event("r-elsewhere", "Elsewhere", ["u-newcomer"], LATER))
        await updater.flush()
        _search(index, "sara")
        _search(index, "secret", user_id="u-hidden", co_members={"u-stranger"})
        assert index.scopes.built == built  # both kept
        updater.submit(user_event("u-sara", "sara", "Sara Lê"))  # one of my contacts changed her name
        await updater.flush()
        assert [hit.display_name for hit in _search(index, "sara le").users] == ["Sara Lê"]
        _search(index, "secret", user_id="u-hidden", co_members={"u-stranger"})
        assert index.scopes.built == built + 1  # mine rebuilt; u-hidden's kept
        updater.remove_room("r-secret")  # expired: no cached scope keeps its name
        await updater.flush()
        assert all(" secret " not in scope.haystack for scope in index.scopes.scopes.values())
        assert "u-hidden" not in index.scopes.scopes and ME in index.scopes.scopes
    finally:
        await updater.close()


async def test_the_writer_waits_for_a_slow_start_up_rebuild_without_losing_events(tmp_path):
    import asyncio

    opened = asyncio.get_running_loop().create_future()
    updater = IndexUpdater()
    updater.start(opened)
    updater.submit(user_event("u1", "early.bird"))  # arrives while the index is being built
    assert not updater.ready.is_set()
    opened.set_result(SearchIndex.create(tmp_path / "search"))
    await updater.flush()
    try:
        assert updater.ready.is_set()
        assert [hit.id for hit in updater.index.search("early.bird", user_id="u2", co_member_ids=set(), now=NOW).users] == ["u1"]
    finally:
        await updater.close()
