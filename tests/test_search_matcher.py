"""The shared folding and close-match rules (pyclient.search), in CPython."""

import pytest

from pyclient.search import (
    EXACT, FUZZY, PREFIX, WORDS, HistoryEntry, HistoryIndex, distance, fold, highlight_parts, match, normalize, words,
)


@pytest.mark.parametrize("text, folded", [
    ("Nguyễn Văn Đức", "nguyen van duc"),
    ("ĐẶNG THỊ HỒNG", "dang thi hong"),
    ("Trần  Quốc   Tuấn", "tran quoc tuan"),
    ("Zoë O'Brien-Smith", "zoe o brien smith"),
    ("nguyen.van_an", "nguyen van an"),
])
def test_folding_drops_diacritics_case_punctuation_and_extra_spaces(text, folded):
    assert normalize(text) == folded


def test_fold_maps_d_with_stroke():
    assert fold("đĐ") == "dd"


@pytest.mark.parametrize("query, text, kind", [
    ("nguyen van", "Nguyễn Văn", EXACT),
    ("Nguyễn", "nguyen", EXACT),
    ("  NGUYEN   van ", "Nguyễn Văn", EXACT),
    ("duc", "Đức", EXACT),
    ("van nguyen", "Nguyễn Văn", WORDS),
    ("an", "Nguyễn Văn An", WORDS),
    ("ngu", "Nguyễn Văn An", PREFIX),
    ("ngyuen", "Nguyễn", FUZZY),      # a swap of neighbours: one edit
    ("nguyne", "Nguyễn", FUZZY),
    ("ngyen", "Nguyễn", FUZZY),       # a missing letter
    ("nguyeen", "Nguyễn", FUZZY),
    ("tuna", "Tuấn", FUZZY),
])
def test_match_kinds(query, text, kind):
    found = match(words(query), text)
    assert found is not None and found.kind == kind


@pytest.mark.parametrize("query, text", [
    ("xyz", "Nguyễn"),
    ("nx", "Nguyễn"),          # short words match only exactly or as a prefix
    ("mguyen", "Nguyễn"),      # a fuzzy match keeps the first letter
    ("ngzzzen", "Nguyễn"),     # three edits
    ("an an", "Nguyễn Văn An"),  # each query word needs its own word
])
def test_no_match(query, text):
    assert match(words(query), text) is None


def test_ranking_exact_then_words_then_prefix_then_fuzzy():
    names = ["Nguyên Hạnh", "Nguyễn", "Nguyễn Văn An", "Nguyenova", "Ngyuen"]
    ranked = sorted(m for m in (match(words("nguyen"), n) for n in names) if m)
    assert [(m.text, m.kind) for m in ranked] == [
        ("Nguyễn", EXACT), ("Nguyên Hạnh", WORDS), ("Nguyễn Văn An", WORDS),  # fewer extra words first
        ("Nguyenova", PREFIX), ("Ngyuen", FUZZY)]


def test_spans_point_into_the_original_text():
    found = match(words("ngu van"), "Trần Nguyễn Văn")
    assert highlight_parts("Trần Nguyễn Văn", found.spans) == [
        ("Trần ", False), ("Ngu", True), ("yễn ", False), ("Văn", True)]


def test_distance_counts_a_swap_as_one_edit():
    assert distance("ngyuen", "nguyen", 2) == 1
    assert distance("abc", "xyz", 1) == 2  # capped at limit + 1


def _entry(room, seq, text):
    return HistoryEntry(room_id=room, seq=seq, sender="alice", text=text, created_at="2026-12-01T05:00:00")


def test_history_search_is_diacritic_and_typo_tolerant():
    history = HistoryIndex()
    history.add(_entry("r1", 1, "Hẹn gặp ở quán phở Hà Nội lúc 7 giờ"))
    history.add(_entry("r1", 2, "Bring the slides for the meeting"))
    history.add(_entry("r2", 3, "pho again tomorrow?"))
    assert [h.entry.seq for h in history.search("pho")] == [3, 1]
    assert [h.entry.seq for h in history.search("ha noi")] == [1]
    assert [h.entry.seq for h in history.search("meetnig")] == [2]
    assert [h.entry.seq for h in history.search("sli")] == [2]
    assert history.search("   ") == []


def test_history_drops_rooms_that_are_gone():
    history = HistoryIndex()
    history.add(_entry("r1", 1, "secret plan"))
    history.add(_entry("r2", 2, "secret party"))
    history.keep_rooms({"r2"})
    assert len(history) == 1
    assert [h.entry.room_id for h in history.search("secret")] == ["r2"]
    history.drop_room("r2")
    assert history.search("secret") == [] and len(history) == 0


def test_the_servers_c_distance_agrees_with_the_pages_python_one(monkeypatch):
    """The server uses rapidfuzz's OSA distance; the page (no rapidfuzz) the Python one."""
    import random

    import pyclient.search as rules

    rng = random.Random(12)
    pairs = [("".join(rng.choice("abn") for _ in range(rng.randrange(8))),
              "".join(rng.choice("abn") for _ in range(rng.randrange(8)))) for _ in range(3000)]
    fast = [rules.distance(a, b, limit) for a, b in pairs for limit in (1, 2)]
    monkeypatch.setattr(rules, "_osa", None)
    assert [rules.distance(a, b, limit) for a, b in pairs for limit in (1, 2)] == fast
