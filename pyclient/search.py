"""Folding and close-match rules shared by every search in SealRoom.

Pure functions, no I/O: the server's Whoosh index (``search_index``) folds and
ranks with these same rules, and the page uses them to search the messages it
has decrypted (``HistoryIndex``), which never leave the page.

Rules:

* Folding: Unicode NFD, combining marks dropped, ``đ``/``Đ`` → ``d`` (it has no
  decomposition), lower case. ``Nguyễn Văn`` folds to ``nguyen van``.
* Words are runs of letters and digits after folding; everything else
  (spaces, dots, dashes, underscores) separates words, so extra spaces and
  ``nguyen.van`` vs ``nguyen van`` do not matter.
* A text matches a query when every query word matches a different word of
  the text. The match kind is the worst of its words, and ranks as
  ``exact`` (whole text equals the query) < ``words`` (every word equal) <
  ``prefix`` (``ngu`` → ``nguyen``) < ``fuzzy`` (``ngyuen`` → ``nguyen``).
* Fuzzy: optimal string alignment distance (a swap of two neighbours is one
  edit), at most 1 for words of 3 to 5 letters and 2 from 6 letters; words
  shorter than 3 letters match only exactly or as a prefix. A fuzzy match
  keeps the first letter: few typos fall there, and it lets an index look
  at one letter's words instead of all of them (Whoosh's ``prefixlength=1``).
"""

import unicodedata
from functools import lru_cache
from dataclasses import dataclass, field

EXACT, WORDS, PREFIX, FUZZY = 0, 1, 2, 3
KIND_NAMES = ("exact", "words", "prefix", "fuzzy")
_SPECIAL = {"đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "ß": "ss"}


@lru_cache(maxsize=8192)
def _fold_char(char: str) -> str:
    special = _SPECIAL.get(char)
    if special is not None:
        return special
    if char.isascii():
        return char.lower()
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def fold(text: str) -> str:
    """The folded form of ``text``: no diacritics, ``đ`` → ``d``, lower case."""
    return "".join(_fold_char(char) for char in text)


def _is_word_char(char: str) -> bool:
    return char.isalnum()


@lru_cache(maxsize=65536)
def words_with_spans(text: str) -> tuple[tuple[str, int, int], ...]:
    """Folded words of ``text`` with their [start, end) offsets in ``text``.

    Cached: search as you type ranks the same names again at each key.
    """
    found = []
    current: list[str] = []
    start = 0
    for index, char in enumerate(text):
        folded = _fold_char(char)
        if folded and all(_is_word_char(c) for c in folded):
            if not current:
                start = index
            current.append(folded)
        elif current:
            found.append(("".join(current), start, index))
            current = []
    if current:
        found.append(("".join(current), start, len(text)))
    return tuple(found)


def words(text: str) -> list[str]:
    return [word for word, _start, _end in words_with_spans(text)]


def normalize(text: str) -> str:
    """Folded words joined by single spaces: the form exact matches compare."""
    return " ".join(words(text))


def max_typos(word: str) -> int:
    if len(word) < 3:
        return 0
    return 1 if len(word) <= 5 else 2


def distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance, or ``limit + 1`` once it exceeds ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        row_min = i
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, previous2[j - 2] + 1)
            current[j] = value
            row_min = min(row_min, value)
        if row_min > limit:
            return limit + 1
        previous2, previous = previous, current
    return min(previous[len(b)], limit + 1)


def _word_match(query_word: str, word: str) -> tuple[int, int, int] | None:
    """(kind, typos, matched length) of one query word against one text word."""
    if word == query_word:
        return WORDS, 0, len(word)
    if word.startswith(query_word):
        return PREFIX, 0, len(query_word)
    limit = max_typos(query_word)
    if limit and word[:1] == query_word[:1]:
        typos = distance(query_word, word, limit)
        if typos <= limit:
            return FUZZY, typos, len(word)
    return None


@dataclass(frozen=True, order=True)
class Match:
    """How a text matched: sort a list of matches to rank them."""

    kind: int
    typos: int
    extra_words: int
    text: str = field(compare=True)
    spans: tuple[tuple[int, int], ...] = field(compare=False, default=())

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]


def match(query_words: list[str], text: str) -> Match | None:
    """Match folded ``query_words`` against ``text``; ``None`` if it does not match.

    Each query word takes the best still-unused word of the text, so
    ``an an`` needs two words ``an``. Greedy assignment is enough here:
    queries are a few words and names a few more.
    """
    if not query_words:
        return None
    text_words = words_with_spans(text)
    if [w for w, _s, _e in text_words] == query_words:
        spans = tuple((start, end) for _w, start, end in text_words)
        return Match(EXACT, 0, 0, text, spans)
    used: set[int] = set()
    worst, typos, spans = WORDS, 0, []
    for query_word in query_words:
        best = None
        for index, (word, start, _end) in enumerate(text_words):
            if index in used:
                continue
            found = _word_match(query_word, word)
            if found is not None and (best is None or found[:2] < best[0][:2]):
                best = (found, index, start)
        if best is None:
            return None
        (kind, word_typos, length), index, start = best
        used.add(index)
        worst, typos = max(worst, kind), typos + word_typos
        spans.append(_original_span(text, text_words[index], length))
    return Match(worst, typos, len(text_words) - len(query_words), text, tuple(sorted(spans)))


def _original_span(text: str, word: tuple[str, int, int], folded_length: int) -> tuple[int, int]:
    """Offsets in ``text`` covering the first ``folded_length`` folded letters of ``word``."""
    _folded, start, end = word
    taken, position = 0, start
    while position < end and taken < folded_length:
        taken += len(_fold_char(text[position]))
        position += 1
    return start, position


def highlight_parts(text: str, spans) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_match) parts, for rendering with <mark>."""
    parts, position = [], 0
    for start, end in sorted(spans):
        start, end = max(start, position), min(end, len(text))
        if start >= end:
            continue
        if start > position:
            parts.append((text[position:start], False))
        parts.append((text[start:end], True))
        position = end
    if position < len(text):
        parts.append((text[position:], False))
    return parts


# ---- private history search (runs in the page) ---------------------------

@dataclass(frozen=True)
class HistoryEntry:
    room_id: str
    seq: int
    sender: str
    text: str
    created_at: str


@dataclass(frozen=True)
class HistoryHit:
    entry: HistoryEntry
    match: Match


class HistoryIndex:
    """An in-memory index of decrypted messages, searched with the rules above.

    An inverted index from folded word to entries keeps a search over tens of
    thousands of messages fast: only entries that share a word, a prefix or a
    close word with the query are matched in full.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[str, int], HistoryEntry] = {}
        self._postings: dict[str, set[tuple[str, int]]] = {}
        self._by_initial: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry: HistoryEntry) -> None:
        key = (entry.room_id, entry.seq)
        if key in self._entries:
            return
        self._entries[key] = entry
        for word in set(words(entry.text)):
            self._postings.setdefault(word, set()).add(key)
            self._by_initial.setdefault(word[0], set()).add(word)

    def drop_room(self, room_id: str) -> None:
        for key in [key for key in self._entries if key[0] == room_id]:
            entry = self._entries.pop(key)
            for word in set(words(entry.text)):
                postings = self._postings.get(word)
                if postings is not None:
                    postings.discard(key)
                    if not postings:
                        del self._postings[word]
                        self._by_initial[word[0]].discard(word)

    def keep_rooms(self, room_ids) -> None:
        """Drop every room not in ``room_ids`` (expired, or left)."""
        keep = set(room_ids)
        for room_id in {key[0] for key in self._entries} - keep:
            self.drop_room(room_id)

    def _candidates(self, query_word: str) -> dict[tuple[str, int], tuple[int, int]]:
        """Entry key -> best (kind, typos) of ``query_word`` among that entry's words."""
        best: dict[tuple[str, int], tuple[int, int]] = {}
        for word in self._by_initial.get(query_word[0], ()):
            found = _word_match(query_word, word)
            if found is None:
                continue
            grade = found[:2]
            for key in self._postings[word]:
                if key not in best or grade < best[key]:
                    best[key] = grade
        return best

    def search(self, query: str, limit: int = 20) -> list[HistoryHit]:
        """Best matches first, newest first among equals.

        Entries are graded from the word postings alone; ``match`` (which
        also yields the spans to highlight) runs only on the best few.
        """
        query_words = words(query)
        if not query_words:
            return []
        graded: dict[tuple[str, int], tuple[int, int]] | None = None
        for query_word in dict.fromkeys(query_words):
            found = self._candidates(query_word)
            if graded is None:
                graded = found
            else:
                graded = {key: (max(grade[0], found[key][0]), grade[1] + found[key][1])
                          for key, grade in graded.items() if key in found}
            if not graded:
                return []
        shortlist = sorted(graded, key=lambda key: (graded[key], -key[1], key[0]))[:limit * 3]
        hits = []
        for key in shortlist:
            entry = self._entries[key]
            found = match(query_words, entry.text)
            if found is not None:
                hits.append(HistoryHit(entry, found))
        hits.sort(key=lambda hit: (hit.match.kind, hit.match.typos, -hit.entry.seq, hit.entry.room_id))
        return hits[:limit]
